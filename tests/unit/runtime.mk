# Runtime: event loop, trace, async DNS (owner: rt).
# The tests compile the few core files they exercise instead of linking
# libherald, so they do not depend on the rest of the core being complete.

check_PROGRAMS += tests/unit/test_loop tests/unit/test_trace
TESTS += tests/unit/test_loop tests/unit/test_trace

tests_unit_test_loop_SOURCES = tests/unit/test_loop.c core/loop.c
tests_unit_test_loop_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_loop_LDADD = $(CUNIT_LIBS)

tests_unit_test_trace_SOURCES = tests/unit/test_trace.c core/trace.c core/status.c
tests_unit_test_trace_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_trace_LDADD = $(CUNIT_LIBS)
