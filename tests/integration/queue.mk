# The durable queue (owner: queue): enqueue, the runner, administration,
# crash safety.  Real servers on loopback (dnsmasq, smtp-sink, capture_smtpd.py).
herald_queue_tests = \
	tests/integration/queue_enqueue.sh \
	tests/integration/queue_run.sh \
	tests/integration/queue_crash.sh \
	tests/integration/queue_hold.sh \
	tests/integration/queue_segment.sh \
	tests/integration/queue_hop_hold.sh

dist_check_SCRIPTS += $(herald_queue_tests)
TESTS += $(herald_queue_tests)
