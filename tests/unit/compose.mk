# Composing messages (owner: operator): the MIME builder of herald/mime.h
# (core/mime.c, core/mime_encode.c; listed in core/local.mk with the rest of
# the core).  The trace tests compile core/trace.c alone, so they take the
# one random-id helper, core/random.c, here.
tests_unit_test_trace_SOURCES += core/random.c
tests_unit_test_dns_SOURCES += core/random.c

check_PROGRAMS += tests/unit/test_mime_compose
TESTS += tests/unit/test_mime_compose
tests_unit_test_mime_compose_SOURCES = tests/unit/test_mime_compose.c
tests_unit_test_mime_compose_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_mime_compose_LDADD = $(herald_internal_ldadd) $(CUNIT_LIBS)
