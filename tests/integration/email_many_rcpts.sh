#!/bin/bash
# email_many_rcpts.sh - envelopes larger than a server takes, or than one
# transaction (issue 8 item 3), against aiosmtpd capture servers:
#   - a server that takes 2 recipients per transaction (452 4.5.3 after
#     that): 5 recipients all delivered, in 3 transactions of one session;
#   - max_recipients_per_transaction = 2 with a server without a limit: the
#     same split, and no 452 needed;
#   - 1,000 recipients of about 250 octets with DSN options (NOTIFY, ORCPT):
#     every one delivered, with the default limit (50 per transaction) and
#     with 1,000 in one transaction (the RCPTs go out in windows: the output
#     queue is never the limit).
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 43

email_start_capture limit2 "$MX1_IP" --rcpt-limit 2
email_start_capture limit2p "$MX2_IP" --rcpt-limit 2 --ehlo PIPELINING
email_start_capture bulk "$SH_IP" --ehlo PIPELINING --ehlo DSN
devices=()
for d in "limit2 $MX1_IP 50" "limit2p $MX2_IP 50" "split2 $SH_IP 2" "bulk $SH_IP 50" "onetxn $SH_IP 1000"; do
  set -- $d
  devices+=("$(email_smarthost_device "$1" "[$2]:$SMTP_PORT" "max_recipients_per_transaction = $3;")")
done
email_conf_devices "${devices[@]}"
printf 'Subject: many\n\nhello\n' >"$T_DIR/msg"
# count_delivered - recipients with status delivered in $OUT
count_delivered() {
  "$TEST_PYTHON" -c '
import json, sys
doc = json.load(open(sys.argv[1]))
print(sum(1 for r in doc["recipients"] if r["status"] == "delivered"))' "$OUT"
}
# captured DIR - recipients in every captured message of DIR, in order, one per line
captured() {
  "$TEST_PYTHON" -c '
import glob, json, os, sys
files = sorted(glob.glob(os.path.join(sys.argv[1], "*.json")),
               key=lambda f: int(os.path.basename(f).split(".")[0]))
for f in files:
    for r in json.load(open(f))["rcpt_tos"]:
        print(r)' "$1"
}

# A server limit of 2: 5 recipients in 3 transactions, one session; one
# at a time and with PIPELINING.
for dev in limit2 limit2p; do
  email_send_via $dev -t r1@x.test -t r2@x.test -t r3@x.test -t r4@x.test -t r5@x.test "$T_DIR/msg"
  expect_rc "$dev: every recipient delivered" 0 "$ERR"
  got=$(count_delivered)
  if [ "$got" = 5 ]; then pass "$dev: 5 of 5 delivered"; else fail "$dev: $got of 5 delivered"; fi
  if [ "$(captured "$T_DIR/$dev" | tr '\n' ' ')" = "r1@x.test r2@x.test r3@x.test r4@x.test r5@x.test " ]
  then pass "$dev: the server has each recipient once"
  else fail "$dev: the server has: $(captured "$T_DIR/$dev" | tr '\n' ' ')"; fi
  if [ -e "$T_DIR/$dev/3.json" ] && [ ! -e "$T_DIR/$dev/4.json" ]; then
    pass "$dev: 3 transactions"
  else
    fail "$dev: not 3 transactions"
  fi
  expect_grep "$dev: the server said so" "$TRACE" "S: 452 4.5.3"
  expect_grep "$dev: another transaction" "$TRACE" "recipients left: another transaction"
  if [ "$(grep -c "connected to" "$TRACE")" = 1 ]; then pass "$dev: one connection"
  else fail "$dev: $(grep -c "connected to" "$TRACE") connections"; fi
  expect_no_sanitizer "$dev"
done

# Our own limit of 2, no 452.
email_send_via split2 -t s1@x.test -t s2@x.test -t s3@x.test "$T_DIR/msg"
expect_rc "max_recipients_per_transaction = 2" 0 "$ERR"
expect_no_grep "max_recipients_per_transaction = 2: no 452" "$TRACE" "S: 452"
if [ -e "$T_DIR/bulk/2.json" ] && [ ! -e "$T_DIR/bulk/3.json" ]; then
  pass "max_recipients_per_transaction = 2: 2 transactions"
else
  fail "max_recipients_per_transaction = 2: not 2 transactions"
fi

# 1,000 recipients of about 250 octets with DSN options.
long_domain=$(printf 'd%.0s' $(seq 60)).$(printf 'e%.0s' $(seq 60)).$(printf 'f%.0s' $(seq 60)).big.test
args=()
for i in $(seq -w 1000); do
  args+=(-t "u+$i+$(printf 'x%.0s' $(seq 50))@$long_domain")
done
before=$(captured "$T_DIR/bulk" | wc -l)
for dev in bulk onetxn; do
  email_send_via "$dev" -N success,failure,delay "${args[@]}" "$T_DIR/msg"
  expect_rc "$dev: 1,000 long recipients with DSN" 0 "$ERR"
  got=$(count_delivered)
  if [ "$got" = 1000 ]; then pass "$dev: 1,000 of 1,000 delivered"
  else fail "$dev: $got of 1,000 delivered"; grep -m3 "limit\|cannot" "$TRACE" >&2 || true; fi
  expect_no_grep "$dev: never the queue limit" "$TRACE" "cannot queue"
  expect_grep "$dev: ORCPT sent" "$TRACE" "ORCPT=rfc822;u+2B0001+2B"
  expect_no_sanitizer "$dev"
done
after=$(captured "$T_DIR/bulk" | wc -l)
if [ $((after - before)) = 2000 ]; then pass "the server has 2,000 recipients"
else fail "the server has $((after - before)) recipients, want 2,000"; fi
herald_test_done
