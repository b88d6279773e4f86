#!/bin/bash
# email_many_domains.sh - one message to 60 recipient domains: every one
# delivered, and never more than parallel_domains of them in flight at once
# (DESIGN.md: concurrency limited).  dnsmasq answers every dN.many.test with
# no MX and A $NET.2 (implicit MX), where fault_smtpd.py records each
# transaction.  In flight = started ("domain dN...: 1 recipient(s)") and no
# outcome yet ("outcome r@dN...") in the trace, read in order.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"
herald_test_init

NET=127.77.18
OUT=$T_DIR/out ERR=$T_DIR/err TRACE=$T_DIR/trace.log CONF=$T_DIR/herald.conf
start_dnsmasq d1.many.test 1 --log-facility=/dev/null \
  --local=/many.test/ --address=/many.test/"$NET.2"
SMTP_PORT=$(free_port "$NET.2" tcp)
start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/fault_smtpd.py" "$NET.2" "$SMTP_PORT" \
  --mode ok --record "$T_DIR/mx.rec" >/dev/null </dev/null
wait_for_port "$NET.2" "$SMTP_PORT" 15 || hard_error "fault_smtpd.py did not start"

# conf [PARALLEL_SETTING] - $CONF with the device "email"
conf() {
  cat >"$CONF" <<CONF
herald: { dns: { servers = [ "127.0.0.1:$DNS_PORT" ]; timeout_ms = 1000; tries = 2; }; };
devices = (
  { name = "email"; driver = "email"; ${1:-}
    route: { strategy = "mx"; port = $SMTP_PORT; };
    transport: { name = "smtp"; helo_name = "herald.test"; tls = "none";
                 connect_timeout_ms = 5000; greeting_timeout_ms = 5000; }; }
);
CONF
}

rcpts=()
for i in $(seq 1 60); do rcpts+=(-t "r@d$i.many.test"); done
printf 'Subject: many domains\n\nhello\n' >"$T_DIR/msg"

# max_in_flight - the most domains started without an outcome, from $TRACE
max_in_flight() {
  awk '/email: domain d[0-9]+\.many\.test: 1 recipient/ { n++; if (n > m) m = n }
       /delivery: outcome r@d[0-9]+\.many\.test:/ { n-- }
       END { print m + 0 }' "$TRACE"
}

# run SETTING - send to the 60 domains; checks every one delivered
run() {
  rm -f "$TRACE" "$T_DIR/mx.rec"
  conf "$1"
  run_herald "$OUT" "$ERR" -c "$CONF" send -d email --json --trace "$TRACE" \
    -f a@herald.test "${rcpts[@]}" "$T_DIR/msg"
  expect_rc "60 domains ($1)" 0 "$ERR"
  c=$(grep -o "\"status\":\"delivered\"" "$OUT" | wc -l || true)
  if [ "$c" = 60 ]; then pass "60 recipients delivered"; else fail "$c of 60 delivered"; fi
  c=$(grep -c '^MAIL FROM' "$T_DIR/mx.rec" || true)
  if [ "$c" = 60 ]; then pass "60 transactions at the server"; else fail "$c transactions, want 60"; fi
  if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$ERR"; then
    fail "sanitizer report"; sed 's/^/  | /' "$ERR" >&2
  fi
}

run "parallel_domains = 3;"
m=$(max_in_flight)
if [ "$m" -ge 1 ] && [ "$m" -le 3 ]; then pass "parallel_domains = 3: at most $m in flight"
else fail "parallel_domains = 3: $m in flight"; fi
expect_grep "the limit is traced" "$TRACE" "60 recipient domains, 3 at a time (parallel_domains)"

run "parallel_domains = 1;"
m=$(max_in_flight)
if [ "$m" = 1 ]; then pass "parallel_domains = 1: one at a time"
else fail "parallel_domains = 1: $m in flight"; fi

# The default (16) overlaps domains: proof that the count above measures something.
run ""
m=$(max_in_flight)
if [ "$m" -gt 3 ] && [ "$m" -le 16 ]; then pass "default: $m in flight (more than 3, at most 16)"
else fail "default: $m in flight, want 4..16"; fi

conf "parallel_domains = 0;"
run_herald "$OUT" "$ERR" -c "$CONF" check
expect_rc "parallel_domains = 0 refused" 78 "$ERR"
expect_grep "out of range, with file:line" "$ERR" "herald.conf:3: device \"email\": option \"parallel_domains\""

herald_test_done
