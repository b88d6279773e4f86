# Integration tests: shell scripts (bash) that run the herald command and real
# servers on loopback.  They find the build tree through HERALD_BUILD_DIR and
# HERALD_SRC_DIR (AM_TESTS_ENVIRONMENT); cli/local.mk's installcheck-local runs
# the CLI ones again against the installed herald.
herald_cli_tests = \
	tests/integration/cli_check.sh \
	tests/integration/cli_options.sh \
	tests/integration/cli_send_file.sh

dist_check_SCRIPTS += $(herald_cli_tests)
TESTS += $(herald_cli_tests)
EXTRA_DIST += tests/lib/common.sh
