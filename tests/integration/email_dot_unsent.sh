#!/bin/bash
# email_dot_unsent.sh - "possibly delivered" only once the final dot has left
# Herald (issue 8 item 5).  mx1 is rst_smtpd.py: it answers up to 354, waits
# until Herald stops sending (the reset then meets Herald waiting for room,
# not inside a write), reads 4 KB of the body, and resets the connection
# without a final reply; its small receive buffer and MSS keep the kernel
# from taking much more.  mx2 is the aiosmtpd capture server.
#   - a 100 KB body (under Herald's 128 KB body queue, so the final dot is
#     queued with it at once): the reset comes while the dot is still in
#     Herald's own queue; the server cannot have the message, so mx2 gets it
#     and the recipient is delivered, not "possibly delivered";
#   - a 1 KB body, all taken by the kernel before the reset: deferred,
#     possibly delivered, and mx2 is not tried (DESIGN.md).
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 87

email_conf mx "data_timeout_ms = 5000; block_timeout_ms = 5000; dot_timeout_ms = 5000;"
start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/rst_smtpd.py" "$MX1_IP" "$SMTP_PORT" \
  --read 4096 --record "$T_DIR/mx1.rec" >/dev/null </dev/null
wait_for_port "$MX1_IP" "$SMTP_PORT" 15 || hard_error "rst_smtpd.py did not start on $MX1_IP"
email_start_capture mx2 "$MX2_IP"

# body FILE SIZE - a message of about SIZE octets in 76-octet lines
body() {
  "$TEST_PYTHON" -c '
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"Subject: dot unsent\n\n" + (b"x" * 75 + b"\n") * (int(sys.argv[2]) // 76))' "$1" "$2"
}
body "$T_DIR/big" $((100 * 1024))
body "$T_DIR/small" 1024

# The dot never left Herald: the next MX is right.
email_send -t big@demo.test "$T_DIR/big"
expect_rc "100 KB body, reset before the dot left: delivered" 0 "$ERR"
expect_json big@demo.test status delivered
expect_json big@demo.test host mx2.demo.test
expect_json big@demo.test possibly_delivered False
expect_grep "100 KB body: mx1 reset it in the body" "$T_DIR/mx1.rec" "(reset after 4096 body octets)"
if [ -e "$T_DIR/mx2/1.json" ]; then
  expect_grep "100 KB body: mx2 stored it" "$T_DIR/mx2/1.json" "big@demo.test"
else
  fail "100 KB body: mx2 stored no message"
fi
expect_no_grep "100 KB body: not lost after the dot" "$TRACE" "after the final dot"
expect_no_sanitizer "100 KB body"

# The dot was in the kernel: the server may have the message.
email_send -t small@demo.test "$T_DIR/small"
expect_rc "1 KB body, reset after the dot left: deferred" 75 "$ERR"
expect_json small@demo.test status deferred
expect_json small@demo.test possibly_delivered True
# It read the whole body, dot included (its last line: fewer than 4096 octets).
if tail -n 1 "$T_DIR/mx1.rec" | grep -qE '^\(reset after [0-9]{1,4} body octets\)$' \
   && ! tail -n 1 "$T_DIR/mx1.rec" | grep -qF "(reset after 4096 "; then
  pass "1 KB body: mx1 read it all, then reset"
else
  fail "1 KB body: mx1 did not read it all:"; sed 's/^/  | /' "$T_DIR/mx1.rec" >&2
fi
expect_no_grep "1 KB body: mx2 not tried" "$TRACE" "hop 2/2"
if [ -e "$T_DIR/mx2/2.json" ]; then fail "1 KB body: mx2 got a message"
else pass "1 KB body: mx2 got no message"; fi
expect_no_sanitizer "1 KB body"
herald_test_done
