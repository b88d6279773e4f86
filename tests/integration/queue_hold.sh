#!/bin/bash
# queue_hold.sh - a destination that just deferred is not tried again by
# every one of its queued messages (issue 10, Postfix's dead destination).
#
# dead.test's only MX (fault_smtpd.py, greet-421) answers every connection
# with "421 try later" and logs each one; live.test's MX is the capture
# server.  N messages to dead.test (more than the runner keeps in flight,
# RUN_INFLIGHT in core/queue_run.c) and a few to live.test are queued, then
# one "herald queue run --once":
#   - dead.test's MX sees a bounded few connections, not N: those of the
#     first messages in flight, whose waiters the transport's pool ends with
#     the same refusal; every later message is left alone by the runner, and
#     the trace says so ("not tried: dead.test just deferred");
#   - every message to dead.test is still queued, deferred, none lost;
#   - live.test's messages are delivered in the same run (the hold is per
#     destination, not the runner's).
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
DEAD_IP=127.77.62.4
LIVE_IP=127.77.62.5
email_env_init 62 \
  --mx-host=dead.test,mx.dead.test,10 --host-record=mx.dead.test,"$DEAD_IP" \
  --mx-host=live.test,mx.live.test,10 --host-record=mx.live.test,"$LIVE_IP"

ENQ=${HERALD_BUILD_DIR:?}/bench/herald_enqueue
[ -x "$ENQ" ] || hard_error "no $ENQ"
N=600             # more than RUN_INFLIGHT (200): some are started after the first deferral
# Connections the first messages in flight make before the first deferral
# comes back: the transport's window, initial_sessions_per_host (5), and a
# margin.  Without the runner's hold this run makes 20 or more.
BOUND=8
SPOOL=$T_DIR/spool
mkdir -m 0700 "$SPOOL"
email_conf mx "max_sessions = 50; max_sessions_per_host = 50;"
sed -i "1s|^herald: {|herald: { queue: { module = \"spool\"; path = \"$SPOOL\"; min_backoff_s = 300; };|" "$CONF"

start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/fault_smtpd.py" "$DEAD_IP" "$SMTP_PORT" \
  --mode greet-421 --conn-log "$T_DIR/dead.conns" >/dev/null </dev/null
wait_for_port "$DEAD_IP" "$SMTP_PORT" 15 || hard_error "fault_smtpd.py did not start on $DEAD_IP"
: >"$T_DIR/dead.conns"   # wait_for_port's own probe is not the client's
email_start_capture live "$LIVE_IP"

"$ENQ" -c "$CONF" -n "$N" -b "$N" -s 500 -f a@herald.test -t x@dead.test >"$T_DIR/acked" \
  2>"$ERR" || fail "enqueue to dead.test: $(cat "$ERR")"
"$ENQ" -c "$CONF" -n 5 -o 1000 -b 5 -s 500 -f a@herald.test -t y@live.test >>"$T_DIR/acked" \
  2>"$ERR" || fail "enqueue to live.test: $(cat "$ERR")"
[ "$(wc -l <"$T_DIR/acked")" -eq $((N + 5)) ] && pass "$((N + 5)) queued" || \
  fail "$(wc -l <"$T_DIR/acked") queued"

run_herald "$OUT" "$ERR" -c "$CONF" queue run --once --trace "$TRACE"
expect_rc "queue run --once" 0 "$ERR"

conns=$(grep -c '^open' "$T_DIR/dead.conns" || true)
tried=$(grep -c ': x@dead.test: deferred: ' "$TRACE" || true)
held=$(grep -c ': x@dead.test: not tried: dead.test just deferred, left alone for ' "$TRACE" || true)
echo "# dead.test: $conns connections, $tried messages tried, $held left alone"
[ "$conns" -ge 1 ] && pass "dead.test's MX was tried" || fail "dead.test's MX never saw a connection"
[ "$conns" -le "$BOUND" ] && pass "dead.test's MX saw $conns connections for $N messages (at most $BOUND)" || \
  fail "dead.test's MX saw $conns connections for $N messages (more than $BOUND)"
[ "$held" -ge 1 ] && pass "the trace says $held messages wait: dead.test just deferred" || \
  fail "no message was left alone: $(grep -c 'x@dead.test' "$TRACE") trace lines about dead.test"
[ "$((tried + held))" -eq "$N" ] && pass "each message to dead.test was tried or left alone, once" || \
  fail "tried $tried + left alone $held != $N"
expect_grep "the deferral's reply is the MX's" "$TRACE" "x@dead.test: deferred: 421"

# Nothing lost: every message to dead.test is still queued, deferred.
run_herald "$OUT" "$ERR" -c "$CONF" queue list --json
expect_rc "queue list --json" 0 "$ERR"
"$TEST_PYTHON" - "$OUT" "$N" <<'PY' && pass "all $N still queued, deferred; those left alone have no attempt" || \
  fail "queue list: $(head -c 600 "$OUT")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
n = int(sys.argv[2])
dead = [r for r in rows if r["recipients"][0]["address"] == "x@dead.test"]
assert len(dead) == n, len(dead)
assert all(r["recipients"][0]["state"] == "deferred" for r in dead)
assert any(r["recipients"][0]["attempts"] == 0 for r in dead)
assert not [r for r in rows if r["recipients"][0]["address"] == "y@live.test"], "live.test left"
PY

# The hold is per destination: live.test was delivered in the same run.
n=$(grep -c ': y@live.test: delivered: 250' "$TRACE" || true)
[ "$n" -eq 5 ] && pass "live.test's 5 messages delivered in the same run" || \
  fail "live.test: $n of 5 delivered"
expect_no_sanitizer "queue run"

herald_test_done
