# TLS and AUTH tests (owner: tls): real servers on 127.0.2.N with a test PKI
# made by tests/lib/make_certs.sh each run.
check_PROGRAMS += tests/unit/test_smtp_tls
TESTS += tests/unit/test_smtp_tls
EXTRA_DIST += tests/servers/starttls_junk_smtpd.py tests/servers/tls_bulk_smtpd.py \
	tests/servers/tls_listener.py \
	tests/lib/make_certs.sh

tests_unit_test_smtp_tls_SOURCES = tests/unit/test_smtp_tls.c \
	tests/unit/test_servers.c tests/unit/test_servers.h
tests_unit_test_smtp_tls_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(MBEDTLS_CFLAGS) \
	-I$(top_srcdir)/devices/email
tests_unit_test_smtp_tls_LDADD = devices/email/libsmtp.la $(herald_internal_ldadd) $(CUNIT_LIBS) \
	$(MBEDTLS_LIBS)

# End to end: herald send through a STARTTLS+AUTH smart host on loopback.
dist_check_SCRIPTS += tests/integration/smtp_tls_send.sh
TESTS += tests/integration/smtp_tls_send.sh
EXTRA_DIST += conf/smarthost-tls.conf
