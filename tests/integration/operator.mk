# Operator tools (owner: operator): composing with send --subject, send
# --batch, herald-sendmail and the man pages, end to end against real
# servers on loopback (127.77.120-129.x).
herald_operator_tests = \
	tests/integration/send_compose.sh \
	tests/integration/man_pages.sh \
	tests/integration/send_batch.sh

dist_check_SCRIPTS += $(herald_operator_tests)
TESTS += $(herald_operator_tests)

# "herald probe" (owner: probe): every hop tried, nothing sent (127.77.112.x).
herald_probe_tests = tests/integration/probe.sh
dist_check_SCRIPTS += $(herald_probe_tests)
TESTS += $(herald_probe_tests)
