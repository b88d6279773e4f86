#!/bin/bash
# email_sink_stages.sh - issue 4: Postfix smtp-sink rejects, disconnects and
# delays at chosen stages on mx1 (mx2 is capture_smtpd.py throughout):
#   1. -f rcpt     500 to RCPT -> failed, 69; mx2 never contacted
#   2. -r rcpt     450 to RCPT -> deferred, 75; mx2 never contacted
#   3. -f .        500 after the final dot, two recipients -> both failed, 69
#   4. -Q mail     421 to MAIL, then close -> left mx1, mx2 delivers
#   5. -q data     close, no reply, after DATA -> left mx1, mx2 delivers
#   6. -p -W rcpt:3 with rcpt_timeout_ms = 1000 -> left mx1 on the timeout,
#                  mx2 delivers, the run well within run_herald's 60 s
#   7. -Q connect  421 greeting, then close -> left mx1, mx2 delivers
# Each reply text below was checked on the wire against smtp-sink 3.7.11.
# Case 6 needs -p: with PIPELINING advertised, smtp-sink's -W delays the
# RCPT reply but answers the pipelined DATA at once ("503 5.5.1 Error: need
# RCPT command"), so its replies come out of order; without PIPELINING the
# client sends RCPT alone and waits for it.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 14

printf 'Subject: issue 4\n\nhello\n' >"$T_DIR/msg"
email_start_capture mx2 "$MX2_IP"
MX1_PID=

# mx1_sink OPTS... - (re)start smtp-sink on mx1 with OPTS
mx1_sink() {
  if [ -n "$MX1_PID" ]; then
    kill "$MX1_PID"; wait "$MX1_PID" 2>/dev/null || true
  fi
  email_start_sink "$MX1_IP" "$@"
  MX1_PID=${T_PIDS[-1]}
}

# expect_next_line NAME LINE NEXT - the trace line after the first holding
# the fixed string LINE holds the fixed string NEXT
expect_next_line() {
  local got
  got=$(grep -A1 -F -- "$2" "$TRACE" | sed -n 2p)
  case $got in
    *"$3"*) pass "$1: '$3' follows '$2'" ;;
    *) fail "$1: after '$2' comes '$got', want '$3'"; sed 's/^/  | /' "$TRACE" >&2 ;;
  esac
}

# expect_mx2_count NAME N - capture_smtpd on mx2 has stored exactly N messages
expect_mx2_count() {
  local n
  n=$(find "$T_DIR/mx2" -name '*.json' | wc -l)
  if [ "$n" -eq "$2" ]; then pass "$1: mx2 holds $2 message(s)"
  else fail "$1: mx2 holds $n message(s), want $2"; fi
}

# expect_hop_left NAME WHY - mx1 was left with WHY and mx2 tried next, in order
expect_hop_left() {
  local left="left mx1.demo.test[$MX1_IP]:$SMTP_PORT: $2"
  expect_grep "$1: trace: mx1 left" "$TRACE" "$left"
  expect_next_line "$1: trace: then mx2" "$left" "hop 2/2 mx2.demo.test"
}

email_conf mx

# 1. A 5xx to RCPT is the recipient's verdict, not a session failure.
mx1_sink -f rcpt
email_send -t b@demo.test "$T_DIR/msg"
expect_rc "1 RCPT 500" 69 "$ERR"
expect_json b@demo.test status failed
expect_json b@demo.test host mx1.demo.test
expect_json b@demo.test reply "500 5.3.0 Error: command failed"
expect_json b@demo.test dsn 5.3.0
expect_next_line "1 RCPT 500" "C: RCPT TO:<b@demo.test>" "S: 500 5.3.0 Error: command failed"
expect_no_grep "1 RCPT 500: no DATA" "$TRACE" "C: DATA"
expect_no_grep "1 RCPT 500: mx1 not left" "$TRACE" "left mx1.demo.test"
expect_no_grep "1 RCPT 500: no hop 2" "$TRACE" "hop 2/2"
expect_no_grep "1 RCPT 500: mx2 not contacted" "$TRACE" "connecting to $MX2_IP"
expect_mx2_count "1 RCPT 500" 0
expect_no_sanitizer "1 RCPT 500"

# 2. A 4xx to RCPT defers the recipient; no other hop in this attempt.
mx1_sink -r rcpt
email_send -t b@demo.test "$T_DIR/msg"
expect_rc "2 RCPT 450" 75 "$ERR"
expect_json b@demo.test status deferred
expect_json b@demo.test host mx1.demo.test
expect_json b@demo.test reply "450 4.3.0 Error: command failed"
expect_json b@demo.test dsn 4.3.0
expect_next_line "2 RCPT 450" "C: RCPT TO:<b@demo.test>" "S: 450 4.3.0 Error: command failed"
expect_no_grep "2 RCPT 450: no DATA" "$TRACE" "C: DATA"
expect_no_grep "2 RCPT 450: mx1 not left" "$TRACE" "left mx1.demo.test"
expect_no_grep "2 RCPT 450: mx2 not contacted" "$TRACE" "connecting to $MX2_IP"
expect_mx2_count "2 RCPT 450" 0
expect_no_sanitizer "2 RCPT 450"

# 3. The reply to the final dot applies to every recipient of the transaction.
mx1_sink -f .
email_send -t b@demo.test -t c@demo.test "$T_DIR/msg"
expect_rc "3 dot 500" 69 "$ERR"
for r in b@demo.test c@demo.test; do
  expect_json "$r" status failed
  expect_json "$r" host mx1.demo.test
  expect_json "$r" reply "500 5.3.0 Error: command failed"
  expect_json "$r" dsn 5.3.0
done
expect_next_line "3 dot 500: b accepted" "C: RCPT TO:<b@demo.test>" "S: 250 2.1.5 Ok"
expect_next_line "3 dot 500: c accepted" "C: RCPT TO:<c@demo.test>" "S: 250 2.1.5 Ok"
expect_grep "3 dot 500: body sent" "$TRACE" "C: (message body"
expect_next_line "3 dot 500" "smtp: C: ." "S: 500 5.3.0 Error: command failed"
expect_no_grep "3 dot 500: mx1 not left" "$TRACE" "left mx1.demo.test"
expect_no_grep "3 dot 500: mx2 not contacted" "$TRACE" "connecting to $MX2_IP"
expect_mx2_count "3 dot 500" 0
expect_no_sanitizer "3 dot 500"

# 4. 421 to MAIL (smtp-sink closes after it): a session failure -> mx2.
mx1_sink -Q mail
email_send -t b@demo.test "$T_DIR/msg"
expect_rc "4 MAIL 421" 0 "$ERR"
expect_json b@demo.test status delivered
expect_json b@demo.test host mx2.demo.test
expect_json b@demo.test reply "250 2.0.0 Message accepted for delivery"
expect_next_line "4 MAIL 421" "S: 421 4.0.0 Server closing connection" \
  "$MX1_IP:$SMTP_PORT: session failed (temporary): 421 4.0.0"
expect_hop_left "4 MAIL 421" "421 4.0.0 Server closing connection"
expect_mx2_count "4 MAIL 421" 1
expect_grep "4 MAIL 421: mx2 stored it" "$T_DIR/mx2/1.json" "b@demo.test"
expect_no_sanitizer "4 MAIL 421"

# 5. Disconnect, no reply, after DATA: the body never went -> mx2.
mx1_sink -q data
email_send -t b@demo.test "$T_DIR/msg"
expect_rc "5 DATA dropped" 0 "$ERR"
expect_json b@demo.test status delivered
expect_json b@demo.test host mx2.demo.test
expect_json b@demo.test reply "250 2.0.0 Message accepted for delivery"
expect_json b@demo.test possibly_delivered False
expect_hop_left "5 DATA dropped" "connection closed by the server while waiting for the DATA reply"
expect_mx2_count "5 DATA dropped" 2
expect_grep "5 DATA dropped: mx2 stored it" "$T_DIR/mx2/2.json" "b@demo.test"
expect_no_sanitizer "5 DATA dropped"

# 6. RCPT answered after 3 s, the transport waits 1 s: left on the timeout.
mx1_sink -p -W rcpt:3
email_conf mx "rcpt_timeout_ms = 1000;"
t0=$(date +%s%N)
email_send -t b@demo.test "$T_DIR/msg"
ms=$((($(date +%s%N) - t0) / 1000000))
expect_rc "6 RCPT slow" 0 "$ERR"
expect_json b@demo.test status delivered
expect_json b@demo.test host mx2.demo.test
expect_json b@demo.test reply "250 2.0.0 Message accepted for delivery"
expect_hop_left "6 RCPT slow" "timeout (RCPT) while waiting for the RCPT TO reply"
expect_no_grep "6 RCPT slow: mx1's late reply unseen" "$TRACE" "S: 250 2.1.5 Ok"
if [ "$ms" -ge 1000 ] && [ "$ms" -lt 10000 ]; then
  pass "6 RCPT slow: the run took $ms ms (1 s timeout, not the 3 s delay)"
else
  fail "6 RCPT slow: the run took $ms ms, want 1000..9999"
fi
expect_mx2_count "6 RCPT slow" 3
expect_no_sanitizer "6 RCPT slow"
email_conf mx

# 7. 421 greeting on connect (smtp-sink closes after it) -> mx2.
mx1_sink -Q connect
email_send -t b@demo.test "$T_DIR/msg"
expect_rc "7 greeting 421" 0 "$ERR"
expect_json b@demo.test status delivered
expect_json b@demo.test host mx2.demo.test
expect_json b@demo.test reply "250 2.0.0 Message accepted for delivery"
expect_next_line "7 greeting 421" "connected to $MX1_IP:$SMTP_PORT" "S: 421 4.0.0 Server closing connection"
expect_hop_left "7 greeting 421" "421 4.0.0 Server closing connection"
if [ "$(grep -c -F "C: EHLO" "$TRACE")" = 1 ]; then pass "7 greeting 421: EHLO to mx2 only"
else fail "7 greeting 421: not exactly one EHLO"; sed 's/^/  | /' "$TRACE" >&2; fi
expect_mx2_count "7 greeting 421" 4
expect_no_sanitizer "7 greeting 421"

herald_test_done
