# The one printable-text helper of the core (core/text.c), alone.  The unit
# tests that compile core files one by one take it (and utf8.c) here.
check_PROGRAMS += tests/unit/test_text
TESTS += tests/unit/test_text
tests_unit_test_text_SOURCES = tests/unit/test_text.c core/text.c core/text.h \
	core/utf8.c core/utf8.h
tests_unit_test_text_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_text_LDADD = $(CUNIT_LIBS)

tests_unit_test_trace_SOURCES += core/text.c core/utf8.c
tests_unit_test_dns_SOURCES += core/text.c core/utf8.c
