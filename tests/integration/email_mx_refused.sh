#!/bin/bash
# email_mx_refused.sh - step 1: the first MX refuses the connection (nothing
# listens on mx1), so the message goes to the second MX.  Checks the exit
# code, the JSON (delivered by mx2), the trace (refused on mx1, then mx2)
# and that smtp-sink on mx2 got the message.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 1

email_start_capture mx2 "$MX2_IP"
email_conf mx
printf 'Subject: step 1\n\nhello\n' >"$T_DIR/msg"

email_send -t b@demo.test "$T_DIR/msg"
expect_rc "mx1 refused, mx2 delivers" 0 "$ERR"
expect_json b@demo.test status delivered
expect_json b@demo.test host mx2.demo.test
expect_json_has b@demo.test peer "$MX2_IP"
expect_grep "trace: refused on mx1" "$TRACE" "$MX1_IP:$SMTP_PORT: connect: Connection refused"
expect_grep "trace: moved to mx2" "$TRACE" "hop 2/2 mx2.demo.test"
expect_grep "trace: connected to mx2" "$TRACE" "connected to $MX2_IP:$SMTP_PORT"
# The lookups are the message's own steps: their lines carry its trace id,
# the one in the JSON result, so an administrator finds them with one grep.
tid=$("$TEST_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["trace_id"])' "$OUT")
expect_grep "trace: the MX answer under the message's id" "$TRACE" \
  " $tid info  dns: MX demo.test -> "
expect_grep "trace: mx2's address under the message's id" "$TRACE" \
  " $tid info  dns: A/AAAA mx2.demo.test -> $MX2_IP"
if [ -f "$T_DIR/mx2/1.json" ]; then pass "mx2 stored the message"; else fail "mx2 stored nothing"; fi
expect_grep "mx2 saw the recipient" "$T_DIR/mx2/1.json" "b@demo.test"
expect_no_sanitizer "mx1 refused"

herald_test_done
