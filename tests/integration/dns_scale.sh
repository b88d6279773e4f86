#!/bin/bash
# dns_scale.sh - many domains, few lookups (issue 11 items 1-3), against
# dnsmasq (--log-queries, TTL 300) and smtp-sink on loopback:
#  1. 2,000 messages, one per domain, 200 in flight (bench/herald_blast,
#     herald_submit): all delivered, and dnsmasq's query log shows exactly
#     one MX query per domain and one address lookup of the one MX host.
#  2. 2,000 messages to one domain, all in flight at once: none deferred,
#     one MX query for that domain.
#  3. herald route --batch over the 2,000 domains twice (and an address, a
#     bad line, an unknown domain): one JSON line per input in order, and
#     no query at dnsmasq for a domain already planned.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"
herald_test_init

NET=127.77.29
N=2000
OUT=$T_DIR/out ERR=$T_DIR/err CONF=$T_DIR/herald.conf LOG=$T_DIR/dns.log
BLAST=$HERALD_BUILD_DIR/bench/herald_blast
[ -x "$BLAST" ] || hard_error "no $BLAST (built by make check)"
SMTP_SINK=${SMTP_SINK:-/usr/sbin/smtp-sink}
[ -x "$SMTP_SINK" ] || hard_error "smtp-sink not found at $SMTP_SINK"

mx=()
for i in $(seq 0 $((N - 1))); do mx+=("--mx-host=d$i.bulk.test,mx.sink.test,10"); done
start_dnsmasq mx.sink.test 1 --log-queries --log-facility="$LOG" --local-ttl=300 \
  --local=/test/ --host-record=mx.sink.test,"$NET.2" "${mx[@]}" \
  --mx-host=one.test,mx.sink.test,10 --mx-host=marker0.test,mx.sink.test,10 --mx-host=marker1.test,mx.sink.test,10 \
  --mx-host=marker2.test,mx.sink.test,10 --mx-host=marker3.test,mx.sink.test,10 \
  --mx-host=marker4.test,mx.sink.test,10
SMTP_PORT=$(free_port "$NET.2" tcp) || hard_error "no free TCP port"
start_bg "$SMTP_SINK" -u nobody -c "$NET.2:$SMTP_PORT" 4096 >/dev/null 2>&1 </dev/null
wait_for_port "$NET.2" "$SMTP_PORT" 15 || hard_error "smtp-sink did not start"

cat >"$CONF" <<CONF
herald: { dns: { servers = [ "127.0.0.1:$DNS_PORT" ]; timeout_ms = 2000; tries = 2;
                 max_inflight = 64; }; };
devices = (
  { name = "email"; driver = "email";
    route: { strategy = "mx"; port = $SMTP_PORT; family = "ipv4"; };
    transport: { name = "smtp"; helo_name = "herald.test"; tls = "none";
                 max_sessions = 200; max_sessions_per_host = 200;
                 connect_timeout_ms = 10000; greeting_timeout_ms = 10000; }; }
);
CONF

# log_count ERE - lines of dnsmasq's query log matching ERE
log_count() { grep -cE -- "$1" "$LOG" || true; }

# log_settle NAME - ask dnsmasq for NAME and wait (bounded) until its query is
# logged: every query sent before is in the log by then
log_settle() {
  local i
  for i in $(seq 1 50); do
    wait_dns "$DNS_PORT" "$1" 15 >/dev/null 2>&1 || true
    [ "$(log_count "query\[MX\] $1 ")" -ge 1 ] && return 0
  done
  hard_error "dnsmasq never logged $1"
}

# 1. one message per domain, 200 in flight
log_settle marker0.test
a_before=$(log_count 'query\[A\] mx\.sink\.test ')   # start_dnsmasq's readiness probe
RC=0
timeout 120 "$BLAST" -c "$CONF" -d email -n "$N" -D "$N" -p 200 -l 1000 \
  -f a@herald.test -t r@bulk.test >"$OUT" 2>"$ERR" || RC=$?
expect_rc "$N messages over $N domains" 0 "$ERR"
expect_grep "all delivered, none deferred" "$OUT" "delivered=$N deferred=0 failed=0"
log_settle marker1.test
c=$(log_count 'query\[MX\] d[0-9]+\.bulk\.test ')
if [ "$c" = "$N" ]; then pass "one MX query per domain: $c"; else fail "$c MX queries for $N domains"; fi
d=$(grep -oE 'query\[MX\] d[0-9]+\.bulk\.test ' "$LOG" | sort | uniq -d | head -3)
if [ -z "$d" ]; then pass "no domain asked twice"; else fail "asked twice: $d"; fi
c=$(($(log_count 'query\[A\] mx\.sink\.test ') - a_before))
if [ "$c" = 1 ]; then pass "one A query for the MX host"; else fail "$c A queries for mx.sink.test"; fi

# 2. thousands in flight to one domain: nothing deferred, one MX query
RC=0
timeout 120 "$BLAST" -c "$CONF" -d email -n 2000 -p 2000 -l 1000 \
  -f a@herald.test -t r@one.test >"$OUT" 2>"$ERR" || RC=$?
expect_rc "2000 messages, 2000 in flight" 0 "$ERR"
expect_grep "2000 in flight: all delivered, none deferred" "$OUT" \
  "delivered=2000 deferred=0 failed=0"
log_settle marker2.test
c=$(log_count 'query\[MX\] one\.test ')
if [ "$c" = 1 ]; then pass "one MX query for one.test"; else fail "$c MX queries for one.test"; fi

# 3. route --batch: every domain twice, in order, nothing asked again
{
  for i in $(seq 0 $((N - 1))); do echo "d$i.bulk.test"; done
  echo "# a comment"
  echo
  echo "user@D7.Bulk.Test"
  echo "nx.test"
  echo "bad name"
  for i in $(seq 0 $((N - 1))); do echo "d$i.bulk.test"; done
} >"$T_DIR/domains"
log_settle marker3.test
before=$(log_count 'query\[MX\] d[0-9]+\.bulk\.test ')
run_herald "$OUT" "$ERR" -c "$CONF" route -d email --trace "$T_DIR/route.trace" \
  --batch "$T_DIR/domains"
expect_rc "route --batch (an unknown domain and a bad line: 69)" 69 "$ERR"
c=$(wc -l <"$OUT")
if [ "$c" = $((2 * N + 3)) ]; then pass "one line per input: $c"
else fail "$c lines, want $((2 * N + 3))"; fi
line=$(head -n 1 "$OUT")
want='{"domain":"d0.bulk.test","hops":[{"host":"mx.sink.test","port":'"$SMTP_PORT"',"preference":10,"origin":"mx","addresses":["'"$NET.2"'"]}]}'
if [ "$line" = "$want" ]; then pass "first line, same shape as route --json"
else fail "first line: $line"; fi
line=$(sed -n "$((N + 1))p" "$OUT")
case $line in
  '{"domain":"D7.Bulk.Test","hops":'*) pass "an address: its domain, in input order" ;;
  *) fail "line $((N + 1)): $line" ;;
esac
expect_grep "unknown domain" "$OUT" '{"domain":"nx.test","error":{"class":"permanent"'
expect_grep "bad line" "$OUT" '{"domain":"bad name","error":{"class":"permanent"'
line=$(tail -n 1 "$OUT")
case $line in
  "{\"domain\":\"d$((N - 1)).bulk.test\",\"hops\":"*) pass "last line in order" ;;
  *) fail "last line: $line" ;;
esac
c=$(grep -c "plan taken from the plan cache" "$T_DIR/route.trace" || true)
# N + 1 second plans (D7 too), less the very first domain's: its plan started
# the resolver, before which nothing is kept (plan_share.c).
if [ "$c" = "$N" ]; then pass "second plans of a domain shared: $c"
else fail "$c plans from the plan cache, want $N"; fi
log_settle marker4.test
after=$(log_count 'query\[MX\] d[0-9]+\.bulk\.test ')
if [ $((after - before)) = "$N" ]; then pass "route --batch: one MX query per domain for 2 plans each"
else fail "route --batch: $((after - before)) MX queries, want $N"; fi
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$ERR"; then
  fail "sanitizer report"; sed 's/^/  | /' "$ERR" >&2
fi

herald_test_done
