# herald-sendmail (owner: sendmail): driven as cron, PHP's mail() and git
# send-email call sendmail, against a capture server on loopback; with and
# without herald.queue (127.77.157-158.x).
herald_sendmail_tests = \
	tests/integration/sendmail_deliver.sh \
	tests/integration/sendmail_queue.sh

dist_check_SCRIPTS += $(herald_sendmail_tests)
TESTS += $(herald_sendmail_tests)
