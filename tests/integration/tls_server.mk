# tls_server tests: see the scripts listed here.
# Implicit TLS (RFC 8314) against a real "openssl s_server" (issue 5): s_server
# does the TLS, tests/servers/sserver_smtp.py the SMTP on its stdin/stdout.
herald_tls_server_tests = \
	tests/integration/smtp_implicit_tls.sh

dist_check_SCRIPTS += $(herald_tls_server_tests)
TESTS += $(herald_tls_server_tests)
EXTRA_DIST += tests/servers/sserver_smtp.py
