#!/bin/bash
# email_helo_fallback.sh - steps 2 and 3: EHLO refused -> HELO, delivered
# (smtp-sink -e on mx1); EHLO and HELO both refused on mx1 (fault_smtpd
# refuse-both) -> the next MX delivers.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 2

printf 'Subject: steps 2 and 3\n\nhello\n' >"$T_DIR/msg"
email_conf mx

# Step 2: smtp-sink -e answers EHLO with 500 and HELO with 250.
email_start_sink "$MX1_IP" -e
email_send -t b@demo.test "$T_DIR/msg"
expect_rc "EHLO refused -> HELO" 0 "$ERR"
expect_json b@demo.test status delivered
expect_json b@demo.test host mx1.demo.test
expect_grep "trace: EHLO tried" "$TRACE" "C: EHLO herald.test"
expect_grep "trace: EHLO refused" "$TRACE" "S: 500"
expect_grep "trace: HELO" "$TRACE" "C: HELO herald.test"
expect_no_sanitizer "EHLO refused"

# Step 3: a second test set: mx1 refuses both, mx2 is a correct server.
kill "${T_PIDS[-1]}"; wait "${T_PIDS[-1]}" 2>/dev/null || true
email_start_fault mx1 "$MX1_IP" refuse-both
email_start_capture mx2 "$MX2_IP"
email_send -t c@demo.test "$T_DIR/msg"
expect_rc "EHLO and HELO refused -> next MX" 0 "$ERR"
expect_json c@demo.test status delivered
expect_json c@demo.test host mx2.demo.test
expect_grep "mx1 saw EHLO" "$T_DIR/mx1.rec" "EHLO herald.test"
expect_grep "mx1 saw HELO" "$T_DIR/mx1.rec" "HELO herald.test"
expect_no_grep "mx1 got no MAIL" "$T_DIR/mx1.rec" "MAIL FROM"
expect_grep "trace: HELO refused" "$TRACE" "S: 501 5.5.2 HELO refused too"
expect_grep "trace: moved to mx2" "$TRACE" "hop 2/2 mx2.demo.test"
expect_grep "mx2 stored it" "$T_DIR/mx2/1.json" "c@demo.test"
expect_no_sanitizer "EHLO and HELO refused"

herald_test_done
