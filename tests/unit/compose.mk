# Composing messages (owner: operator): the MIME builder of herald/mime.h.
# Its sources are listed here, as runtime.mk does, so that core/local.mk
# (another owner's) needs no change; core/random.c is the one random-id
# helper, shared with the trace.
core_libherald_la_SOURCES += core/mime.c core/mime_encode.c core/mime_encode.h \
	core/random.c core/random.h
heraldinclude_HEADERS += core/herald/mime.h
tests_unit_test_trace_SOURCES += core/random.c
tests_unit_test_dns_SOURCES += core/random.c

check_PROGRAMS += tests/unit/test_mime_compose
TESTS += tests/unit/test_mime_compose
tests_unit_test_mime_compose_SOURCES = tests/unit/test_mime_compose.c \
	core/mime.c core/mime_encode.c core/mime_encode.h core/random.c core/random.h \
	core/message.c core/utf8.c core/utf8.h core/status.c
tests_unit_test_mime_compose_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_mime_compose_LDADD = $(CUNIT_LIBS)
