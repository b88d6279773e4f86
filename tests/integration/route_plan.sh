#!/bin/bash
# route_plan.sh - "herald route" against a dnsmasq on loopback with crafted records
#
# Covers the three built-in strategies and the example one: MX order by
# preference, equal preferences shuffled (both orders seen, one order with a
# seed), implicit MX, null MX, an MX host with only AAAA, an MX host that
# does not resolve (skipped), NXDOMAIN, a DNS server that never answers
# (temporary, within the configured timeout), smarthost without any MX
# query (proved from dnsmasq's query log), mx-then-smarthost listing the
# smart host last, and the JSON contract.  Exit 99 when a server cannot start.
set -euo pipefail
. "${HERALD_SRC_DIR:?}/tests/lib/common.sh"
herald_test_init


# The silent server: a bound UDP socket that reads and never answers; it is
# stopped by the cleanup trap like every server of the test.
SILENT_PORT_FILE=$T_DIR/silent.port
start_bg "$TEST_PYTHON" -c '
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    s.recvfrom(4096)
' "$SILENT_PORT_FILE" </dev/null
for _ in $(seq 1 200); do
  [ -s "$SILENT_PORT_FILE" ] && break
  "$TEST_PYTHON" -c 'import time; time.sleep(0.02)'
done
[ -s "$SILENT_PORT_FILE" ] || hard_error "the silent UDP server did not start"
SILENT_PORT=$(cat "$SILENT_PORT_FILE")

DNS_LOG=$T_DIR/dnsmasq.log
touch "$DNS_LOG"
chmod 0666 "$DNS_LOG"   # dnsmasq drops to "nobody" before it writes
chmod 0711 "$T_DIR"
# Ready when it answers multi.test's MX (bounded, no sleep: start_dnsmasq).
start_dnsmasq multi.test 15 --log-queries --log-facility="$DNS_LOG" \
  --local=/test/ \
  --mx-host=multi.test,mx1.multi.test,10 --mx-host=multi.test,mx2.multi.test,20 \
  --mx-host=multi.test,mx3.multi.test,30 \
  --host-record=mx1.multi.test,127.0.0.2 --host-record=mx2.multi.test,127.0.0.3 \
  --host-record=mx3.multi.test,127.0.0.4,::1 \
  --mx-host=equal.test,mxa.equal.test,10 --mx-host=equal.test,mxb.equal.test,10 \
  --host-record=mxa.equal.test,127.0.0.5 --host-record=mxb.equal.test,127.0.0.6 \
  --host-record=implicit.test,127.0.0.7 \
  --mx-host=nullmx.test,.,0 \
  --mx-host=v6only.test,mx.v6only.test,10 --host-record=mx.v6only.test,::1 \
  --mx-host=skip.test,gone.skip.test,10 --mx-host=skip.test,ok.skip.test,20 \
  --host-record=ok.skip.test,127.0.0.8 \
  --mx-host=allgone.test,gone.allgone.test,10 \
  --host-record=relay.test,127.0.0.9 \
  --server=/timeout.test/127.0.0.1#"$SILENT_PORT"

CONF=$T_DIR/herald.conf
cat >"$CONF" <<CONF
herald: {
  dns: { servers = [ "127.0.0.1:$DNS_PORT" ]; timeout_ms = 500; tries = 1; };
};
devices = (
  { name = "mx"; driver = "email";
    route: { strategy = "mx"; };
    transport: { name = "smtp"; }; },
  { name = "seeded"; driver = "email";
    route: { strategy = "mx"; seed = 42; };
    transport: { name = "smtp"; }; },
  { name = "v4"; driver = "email";
    route: { strategy = "mx"; family = "ipv4"; };
    transport: { name = "smtp"; }; },
  { name = "sh"; driver = "email";
    route: { strategy = "smarthost"; smarthost = [ "relay.test:2525", "[::1]:2526" ]; };
    transport: { name = "smtp"; }; },
  { name = "mxsh"; driver = "email";
    route: { strategy = "mx-then-smarthost"; smarthost = [ "relay.test:2525" ]; };
    transport: { name = "smtp"; }; },
  { name = "split"; driver = "email";
    route: { strategy = "split"; internal = [ "corp.test" ]; hosts = [ "relay.test:2626" ]; };
    transport: { name = "smtp"; }; }
);
CONF
export HERALD_CONF=$CONF

# route NAME DEVICE TARGET [--json] - run herald route, output in $T_DIR/NAME.{out,err}
route() {
  local name=$1 dev=$2 target=$3
  shift 3
  run_herald "$T_DIR/$name.out" "$T_DIR/$name.err" route -d "$dev" "$@" "$target"
}

# Several MX of different preferences, in order; port 25; addresses.
route multi mx multi.test --json
expect_rc "multi" 0 "$T_DIR/multi.err"
expect_grep "multi" "$T_DIR/multi.out" '{"domain":"multi.test","hops":[{"host":"mx1.multi.test","port":25,"preference":10,"origin":"mx","addresses":["127.0.0.2"]},{"host":"mx2.multi.test","port":25,"preference":20,"origin":"mx","addresses":["127.0.0.3"]},{"host":"mx3.multi.test","port":25,"preference":30,"origin":"mx","addresses":["127.0.0.4","::1"]}]}'
route multi-text mx user@multi.test
expect_rc "multi text (ADDR)" 0
expect_grep "multi text" "$T_DIR/multi-text.out" "multi.test: 3 hops"
expect_grep "multi text" "$T_DIR/multi-text.out" "  1. mx1.multi.test:25 pref 10 (mx) 127.0.0.2"
route multi-v4 v4 multi.test --json
expect_grep "family ipv4" "$T_DIR/multi-v4.out" '"host":"mx3.multi.test","port":25,"preference":30,"origin":"mx","addresses":["127.0.0.4"]}'

# Equal preferences: both orders within 40 runs without a seed; one order with it.
seen_a=no seen_b=no
for i in $(seq 1 40); do
  route "eq$i" mx equal.test --json
  if grep -qF '"hops":[{"host":"mxa.equal.test"' "$T_DIR/eq$i.out"; then seen_a=yes; fi
  if grep -qF '"hops":[{"host":"mxb.equal.test"' "$T_DIR/eq$i.out"; then seen_b=yes; fi
  [ "$seen_a" = yes ] && [ "$seen_b" = yes ] && break
done
if [ "$seen_a" = yes ] && [ "$seen_b" = yes ]; then
  pass "equal preferences: both orders seen after $i runs"
else
  fail "equal preferences: one order only in 40 runs (a=$seen_a b=$seen_b)"
fi
route seed1 seeded equal.test --json
first=$(head -c 60 "$T_DIR/seed1.out")
same=yes
for i in $(seq 2 10); do
  route "seed$i" seeded equal.test --json
  cmp -s "$T_DIR/seed1.out" "$T_DIR/seed$i.out" || same=no
done
if [ "$same" = yes ]; then pass "seed: same order in 10 runs ($first...)"; else fail "seed: orders differ"; fi

# No MX but an address: implicit MX.
route implicit mx implicit.test --json
expect_rc "implicit" 0 "$T_DIR/implicit.err"
expect_grep "implicit" "$T_DIR/implicit.out" '"hops":[{"host":"implicit.test","port":25,"preference":0,"origin":"implicit-mx","addresses":["127.0.0.7"]}]'

# Null MX: permanent, no hop.
route nullmx mx nullmx.test --json
expect_rc "null MX" 69
expect_grep "null MX" "$T_DIR/nullmx.out" '"error":{"class":"permanent"'
expect_grep "null MX" "$T_DIR/nullmx.out" '"dsn":"5.1.0"'

# An MX host with only AAAA.
route v6only mx v6only.test --json
expect_rc "AAAA only" 0
expect_grep "AAAA only" "$T_DIR/v6only.out" '"host":"mx.v6only.test","port":25,"preference":10,"origin":"mx","addresses":["::1"]'

# An MX host that does not resolve is skipped, traced.
route skip mx skip.test --json --trace "$T_DIR/skip.trace"
expect_rc "unresolvable MX skipped" 0
expect_grep "unresolvable MX skipped" "$T_DIR/skip.out" '"hops":[{"host":"ok.skip.test","port":25,"preference":20'
expect_grep "skip trace" "$T_DIR/skip.trace" "skipped MX 10 gone.skip.test"

# Every MX unresolvable: temporary 4.4.4; mx-then-smarthost still has the relay.
route allgone mx allgone.test --json
expect_rc "no MX host has an address" 75
expect_grep "no MX host has an address" "$T_DIR/allgone.out" '"dsn":"4.4.4"'
route allgone-sh mxsh allgone.test --json
expect_rc "allgone with smarthost" 0
expect_grep "allgone with smarthost" "$T_DIR/allgone-sh.out" '"hops":[{"host":"relay.test","port":2525,"preference":null,"origin":"smarthost","addresses":["127.0.0.9"]}]'

# NXDOMAIN: permanent, and no smart host either.
route nx mx nx.test --json
expect_rc "NXDOMAIN" 69
expect_grep "NXDOMAIN" "$T_DIR/nx.out" '{"domain":"nx.test","error":{"class":"permanent"'
expect_grep "NXDOMAIN" "$T_DIR/nx.out" '"dsn":"5.1.2"'
route nx-sh mxsh nx.test --json
expect_rc "NXDOMAIN with smarthost" 69

# A server that never answers: temporary, within the timeout (500 ms, 1 try).
t0=$(date +%s)
route timeout mx slow.timeout.test --json --trace "$T_DIR/timeout.trace"
t1=$(date +%s)
expect_grep "DNS timeout is a timeout" "$T_DIR/timeout.trace" "timeout"
expect_rc "DNS timeout" 75
expect_grep "DNS timeout" "$T_DIR/timeout.out" '"error":{"class":"temporary"'
expect_grep "DNS timeout" "$T_DIR/timeout.out" '"dsn":"4.4.3"'
if [ $((t1 - t0)) -le 10 ]; then pass "DNS timeout: answered in $((t1 - t0)) s"; else fail "DNS timeout took $((t1 - t0)) s"; fi
# ... and mx-then-smarthost falls back to the relay.
route timeout-sh mxsh slow.timeout.test --json --trace "$T_DIR/timeout-sh.trace"
expect_rc "DNS timeout with smarthost" 0
expect_grep "DNS timeout with smarthost" "$T_DIR/timeout-sh.out" '"origin":"smarthost"'
expect_grep "fallback trace" "$T_DIR/timeout-sh.trace" "appended as last resort (MX lookup failed temporarily)"

# mx-then-smarthost: the smart host comes last.
route mxsh mxsh multi.test --json
expect_rc "mx-then-smarthost" 0
expect_grep "mx-then-smarthost" "$T_DIR/mxsh.out" '"addresses":["127.0.0.4","::1"]},{"host":"relay.test","port":2525,"preference":null,"origin":"smarthost","addresses":["127.0.0.9"]}]}'

# smarthost: both relays in order, and NO MX query for the domain.
route sh sh onlysh.test --json
expect_rc "smarthost" 0
expect_grep "smarthost" "$T_DIR/sh.out" '{"domain":"onlysh.test","hops":[{"host":"relay.test","port":2525,"preference":null,"origin":"smarthost","addresses":["127.0.0.9"]},{"host":"::1","port":2526,"preference":null,"origin":"smarthost","addresses":["::1"]}]}'
# The relay's own lookup shows the log is written; then the MX query must be absent.
logged=no
for _ in $(seq 1 100); do
  if grep -q 'query\[A\] relay.test' "$DNS_LOG"; then logged=yes; break; fi
  "$TEST_PYTHON" -c 'import time; time.sleep(0.05)'
done
[ "$logged" = yes ] || fail "dnsmasq log has no relay.test query"
if grep -q 'onlysh.test' "$DNS_LOG"; then
  fail "smarthost asked DNS about the recipient domain:"
  grep 'onlysh.test' "$DNS_LOG" >&2
else
  pass "smarthost: no query for onlysh.test in dnsmasq's log"
fi
if grep -q 'query\[MX\] multi.test' "$DNS_LOG"; then pass "query log works (MX multi.test logged)"; else fail "no MX query logged at all"; fi

# The example strategy: the hosts for internal domains (no MX query), the
# MX walk (herald_route_mx) for the rest.
route split split a.corp.test --json
expect_rc "split internal" 0
expect_grep "split internal" "$T_DIR/split.out" '"host":"relay.test","port":2626,"preference":null,"origin":"split"'
route split-mx split multi.test --json
expect_rc "split MX" 0
expect_grep "split MX" "$T_DIR/split-mx.out" '{"host":"mx1.multi.test","port":25,"preference":10,"origin":"mx","addresses":["127.0.0.2"]}'
route split-nx split nx.test --json
expect_rc "split NXDOMAIN" 69

# Usage errors.
run_herald "$T_DIR/u1.out" "$T_DIR/u1.err" route
expect_rc "no domain" 64
run_herald "$T_DIR/u2.out" "$T_DIR/u2.err" route -d nosuch multi.test
expect_rc "unknown device" 78

herald_test_done
