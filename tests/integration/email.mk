# End-to-end tests of the email workflow: the real herald command, dnsmasq
# with a crafted zone, smtp-sink / fault_smtpd.py / capture_smtpd.py on
# 127.77.N.x (one block N per script, so they run in parallel).
herald_email_tests = \
	tests/integration/email_mx_refused.sh \
	tests/integration/email_helo_fallback.sh \
	tests/integration/email_smarthost_fallback.sh \
	tests/integration/email_rcpt_rejects.sh \
	tests/integration/email_null_mx.sh \
	tests/integration/email_greeting_5xx.sh \
	tests/integration/email_body_bytes.sh \
	tests/integration/email_hostile.sh \
	tests/integration/email_session_reuse.sh \
	tests/integration/email_session_cache.sh \
	tests/integration/email_ipv6.sh \
	tests/integration/email_dsn_utf8.sh \
	tests/integration/email_many_domains.sh \
	tests/integration/email_parallel.sh \
	tests/integration/email_8bit.sh \
	tests/integration/email_tls_ip.sh \
	tests/integration/email_auth_hops.sh \
	tests/integration/email_auth_refused.sh \
	tests/integration/email_many_rcpts.sh \
	tests/integration/email_dot_unsent.sh \
	tests/integration/email_real_postfix.sh

dist_check_SCRIPTS += $(herald_email_tests)
TESTS += $(herald_email_tests)
EXTRA_DIST += tests/lib/email_env.sh tests/lib/postfix.sh tests/servers/rst_smtpd.py

# Destination concurrency that adapts, descriptors as Herald's own limit
# (owner: concurrency): busy_smtpd.py takes N sessions at once.
herald_pool_tests = tests/integration/email_busy_mx.sh tests/integration/email_fd_limit.sh
dist_check_SCRIPTS += $(herald_pool_tests)
TESTS += $(herald_pool_tests)
EXTRA_DIST += tests/servers/busy_smtpd.py
