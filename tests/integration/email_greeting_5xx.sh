#!/bin/bash
# email_greeting_5xx.sh - step 11 (DESIGN.md: "a 5xx greeting moves on to
# the next MX, and fails permanently only when every hop says 5xx"):
# a 554 greeting on mx1 only -> mx2 delivers; on every hop -> failed, 69.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 11

printf 'Subject: step 11\n\nhello\n' >"$T_DIR/msg"
email_conf mx
email_start_fault mx1 "$MX1_IP" greet-554

email_start_capture mx2 "$MX2_IP"
email_send -t b@demo.test "$T_DIR/msg"
expect_rc "554 greeting on mx1 only" 0 "$ERR"
expect_json b@demo.test status delivered
expect_json b@demo.test host mx2.demo.test
expect_grep "trace: the 554 greeting" "$TRACE" "S: 554 5.3.2 fault.test no service for you"
expect_grep "trace: moved to mx2" "$TRACE" "hop 2/2 mx2.demo.test"
expect_grep "mx2 stored it" "$T_DIR/mx2/1.json" "b@demo.test"
expect_no_grep "mx1 got no MAIL" "$T_DIR/mx1.rec" "MAIL FROM"
expect_no_sanitizer "554 on mx1"

kill "${T_PIDS[-1]}"; wait "${T_PIDS[-1]}" 2>/dev/null || true
email_start_fault mx2 "$MX2_IP" greet-554
email_send -t c@demo.test "$T_DIR/msg"
expect_rc "554 greeting on every hop" 69 "$ERR"
expect_json c@demo.test status failed
expect_json_has c@demo.test reply "554"
expect_grep "trace: mx2 tried too" "$TRACE" "hop 2/2 mx2.demo.test"
expect_no_grep "mx2 got no MAIL" "$T_DIR/mx2.rec" "MAIL FROM"
expect_no_sanitizer "554 everywhere"

herald_test_done
