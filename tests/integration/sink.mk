# sink tests: see the scripts listed here.
# End-to-end tests against Postfix's smtp-sink rejecting, disconnecting and
# delaying at chosen stages (issue 4); the zone and servers of email_env.sh.
herald_sink_tests = \
	tests/integration/email_sink_stages.sh

dist_check_SCRIPTS += $(herald_sink_tests)
TESTS += $(herald_sink_tests)
