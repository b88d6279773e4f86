# SMTP protocol core tests (owner: smtp).  test_smtp_session starts real
# servers on loopback: smtp-sink, tests/servers/capture_smtpd.py, fault_smtpd.py.

# The session tests open trace sinks (core internals): the convenience library.
smtp_test_ldadd = devices/email/libsmtp.la $(herald_internal_ldadd) $(CUNIT_LIBS)
smtp_test_cflags = $(AM_CFLAGS) $(CUNIT_CFLAGS) -I$(top_srcdir)/devices/email

check_PROGRAMS += tests/unit/test_smtp_reply tests/unit/test_smtp_body \
	tests/unit/test_smtp_ehlo tests/unit/test_smtp_session
TESTS += tests/unit/test_smtp_reply tests/unit/test_smtp_body \
	tests/unit/test_smtp_ehlo tests/unit/test_smtp_session
EXTRA_DIST += tests/servers/fault_smtpd.py tests/servers/capture_smtpd.py

tests_unit_test_smtp_reply_SOURCES = tests/unit/test_smtp_reply.c
tests_unit_test_smtp_reply_CFLAGS = $(smtp_test_cflags)
tests_unit_test_smtp_reply_LDADD = $(smtp_test_ldadd)

tests_unit_test_smtp_body_SOURCES = tests/unit/test_smtp_body.c
tests_unit_test_smtp_body_CFLAGS = $(smtp_test_cflags)
tests_unit_test_smtp_body_LDADD = $(smtp_test_ldadd)

tests_unit_test_smtp_ehlo_SOURCES = tests/unit/test_smtp_ehlo.c
tests_unit_test_smtp_ehlo_CFLAGS = $(smtp_test_cflags)
tests_unit_test_smtp_ehlo_LDADD = $(smtp_test_ldadd)

tests_unit_test_smtp_session_SOURCES = tests/unit/test_smtp_session.c \
	tests/unit/test_servers.c tests/unit/test_servers.h
tests_unit_test_smtp_session_CFLAGS = $(smtp_test_cflags)
tests_unit_test_smtp_session_LDADD = $(smtp_test_ldadd)

check_PROGRAMS += tests/unit/test_smtp_params
TESTS += tests/unit/test_smtp_params
tests_unit_test_smtp_params_SOURCES = tests/unit/test_smtp_params.c
tests_unit_test_smtp_params_CFLAGS = $(smtp_test_cflags)
tests_unit_test_smtp_params_LDADD = $(smtp_test_ldadd)

# The session pool's destinations and descriptor budget (owner: concurrency): hermetic.
check_PROGRAMS += tests/unit/test_smtp_dest
TESTS += tests/unit/test_smtp_dest
tests_unit_test_smtp_dest_SOURCES = tests/unit/test_smtp_dest.c
tests_unit_test_smtp_dest_CFLAGS = $(smtp_test_cflags)
tests_unit_test_smtp_dest_LDADD = $(smtp_test_ldadd)

# The session's dialogues against scripts over a socketpair: hermetic, no server.
check_PROGRAMS += tests/unit/test_smtp_dialogue
TESTS += tests/unit/test_smtp_dialogue
tests_unit_test_smtp_dialogue_SOURCES = tests/unit/test_smtp_dialogue.c
tests_unit_test_smtp_dialogue_CFLAGS = $(smtp_test_cflags) $(MBEDTLS_CFLAGS)
tests_unit_test_smtp_dialogue_LDADD = $(smtp_test_ldadd)
