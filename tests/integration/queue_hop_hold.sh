#!/bin/bash
# queue_hop_hold.sh - a hop that just failed before any transaction is not
# tried again by every queued message routed through it (issue 10: per-hop
# retry state, Postfix's dead hosts), and the hold never keeps a live hop away.
#
# The runner keeps RUN_INFLIGHT (200, core/queue_run.c) messages in delivery
# at once, so each part queues more than that: the messages started after the
# first outcome came back are the ones the hold decides about.
#   (a) 600 messages to 600 domains, all through one smart host whose server
#       (fault_smtpd.py greet-421) answers every connection with 421: it sees
#       at most the transport's first window of connections in one
#       "queue run --once"; the trace says which messages were left alone and
#       why ("not tried: hop smart.test:PORT just failed (421 ...)"); all stay
#       queued, deferred, those left alone without an attempt.
#   (b) mx-then-smarthost, the MX of 300 domains dead, the smart host live but
#       answering 450 to the RCPT of every tenth message (tmp@...): every
#       other message is delivered through the smart host.  A hold that held
#       a deferred domain's whole route, or held a message when any one of its
#       hops is held, leaves messages queued here.  The dead MX, held, is
#       tried last (herald_message_add_try_last): it sees the first window of
#       connections, not one per message, and the trace says it was put last.
#   (c) one domain, two MX hosts, the first dead: 260 messages all delivered
#       through the second; the first sees the first window of connections.
#   (d) 1-second holds and a foreground runner: while the smart host hangs,
#       each hold that ends lets one message probe it (the others wait for its
#       word; connections stay within the first window plus one per probe); once a live server takes
#       its address, the next probe finds it, the hold is forgotten and every
#       message is delivered.
#   (e) a held address is tried last, never skipped: mx1.e.test is held
#       (greet-421) while mx2.e.test takes the first messages; then mx1's
#       server comes back and mx2's goes away.  The next messages try mx2
#       first (mx1 is still held), it refuses the connection, and they are
#       delivered through mx1, tried last.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
DEAD_IP=127.77.63.4      # fault_smtpd greet-421: the dead smart host and MX of (a)-(c)
LIVE_IP=127.77.63.5      # capture server: c.test's second MX
MIXED_IP=127.77.63.6     # fault_smtpd rcpt-mixed: the live smart host of (b)
PROBE_IP=127.77.63.7     # (d): a server that never greets, then a capture server
E1_IP=127.77.63.8        # (e) mx1.e.test: greet-421, then a capture server
E2_IP=127.77.63.9        # (e) mx2.e.test: a capture server, then nothing
mx_args=()
for i in $(seq 0 299); do
  mx_args+=(--mx-host=b$i.test,mx.dead.test,10)
done
email_env_init 63 \
  --host-record=smart.test,"$DEAD_IP" --host-record=mx.dead.test,"$DEAD_IP" "${mx_args[@]}" \
  --host-record=probe.test,"$PROBE_IP" \
  --mx-host=c.test,mx1.c.test,10 --mx-host=c.test,mx2.c.test,20 \
  --host-record=mx1.c.test,"$DEAD_IP" --host-record=mx2.c.test,"$LIVE_IP" \
  --mx-host=e.test,mx1.e.test,10 --mx-host=e.test,mx2.e.test,20 \
  --host-record=mx1.e.test,"$E1_IP" --host-record=mx2.e.test,"$E2_IP"

ENQ=${HERALD_BUILD_DIR:?}/bench/herald_enqueue
[ -x "$ENQ" ] || hard_error "no $ENQ"
# Connections the first messages in flight make before the first refusal comes
# back: the transport's window (initial_sessions_per_host, 5) and a margin.
BOUND=8
P=$SMTP_PORT

# conf NAME ROUTE [MIN_BACKOFF MAX_BACKOFF] - $CONF with the spool $T_DIR/NAME.q
conf() {
  local spool=$T_DIR/$1.q
  mkdir -m 0700 "$spool"
  cat >"$CONF" <<CONF
herald: { dns: { servers = [ "127.0.0.1:$DNS_PORT" ]; timeout_ms = 1000; tries = 1; };
          queue: { module = "spool"; path = "$spool"; min_backoff_s = ${3:-300};
                   max_backoff_s = ${4:-4000}; }; };
devices = (
  { name = "email"; driver = "email"; route: { $2 };
    transport: { name = "smtp"; helo_name = "herald.test"; connect_timeout_ms = 2000;
                 greeting_timeout_ms = 2000; max_sessions = 50; max_sessions_per_host = 50; }; }
);
CONF
}

# enqueue N FIRST RCPT - N messages, X-Seq and {n} from FIRST
enqueue() {
  "$ENQ" -c "$CONF" -n "$1" -o "$2" -b "$1" -s 300 -f a@herald.test -t "$3" >>"$T_DIR/acked" \
    2>"$ERR" || fail "enqueue $3: $(cat "$ERR")"
}

# count PATTERN - lines of $TRACE matching the extended regex PATTERN
count() {
  [ -f "$TRACE" ] || { echo 0; return; }
  grep -cE "$1" "$TRACE" || true
}

# dead_conns - connections the dead server ($DEAD_IP) saw since it was last reset
dead_conns() {
  grep -c '^open' "$T_DIR/dead.conns" || true
}

# queue_states FILE - "ADDRESS STATE ATTEMPTS" of every recipient still queued, into FILE
queue_states() {
  run_herald "$OUT" "$ERR" -c "$CONF" queue list --json
  expect_rc "queue list --json" 0 "$ERR"
  "$TEST_PYTHON" -c '
import json, sys
for line in open(sys.argv[1]):
    for r in json.loads(line)["recipients"]:
        print(r["address"], r["state"], r["attempts"])' "$OUT" >"$1"
}

start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/fault_smtpd.py" "$DEAD_IP" "$P" \
  --mode greet-421 --conn-log "$T_DIR/dead.conns" >/dev/null </dev/null
wait_for_port "$DEAD_IP" "$P" 15 || hard_error "fault_smtpd.py did not start on $DEAD_IP"
start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/fault_smtpd.py" "$MIXED_IP" "$P" \
  --mode rcpt-mixed --record "$T_DIR/mixed.rec" >/dev/null </dev/null
wait_for_port "$MIXED_IP" "$P" 15 || hard_error "fault_smtpd.py did not start on $MIXED_IP"
email_start_capture live "$LIVE_IP"

# ---- (a) 600 domains through one dead smart host ----------------------------
N=600
conf a "strategy = \"smarthost\"; smarthost = [ \"smart.test:$P\" ];"
: >"$T_DIR/acked"
enqueue "$N" 0 'x@a{n}.test'
[ "$(wc -l <"$T_DIR/acked")" -eq "$N" ] && pass "(a) $N queued" || fail "(a) $(wc -l <"$T_DIR/acked") queued"
: >"$T_DIR/dead.conns"   # wait_for_port's own probe is not the runner's
run_herald "$OUT" "$ERR" -c "$CONF" queue run --once --trace "$TRACE"
expect_rc "(a) queue run --once" 0 "$ERR"
conns=$(grep -c '^open' "$T_DIR/dead.conns" || true)
tried=$(count ': x@a[0-9]+\.test: deferred: ')
left=$(count ": x@a[0-9]+\.test: not tried: hop smart\.test:$P just failed \(421 [^)]*\), left alone for [0-9]+ s$")
echo "# (a) smart host: $conns connections, $tried messages tried, $left left alone"
[ "$conns" -ge 1 ] && pass "(a) the smart host was tried" || fail "(a) the smart host saw no connection"
[ "$conns" -le "$BOUND" ] && pass "(a) the smart host saw $conns connections for $N domains (at most $BOUND)" || \
  fail "(a) the smart host saw $conns connections for $N domains (more than $BOUND)"
[ "$left" -ge $((N - 200)) ] && pass "(a) the trace says $left messages were left alone: the hop just failed" || \
  fail "(a) $left messages left alone for the hop, want at least $((N - 200))"
[ "$((tried + left))" -eq "$N" ] && pass "(a) each message was tried or left alone, once" || \
  fail "(a) tried $tried + left alone $left != $N"
expect_grep "(a) the trace says the hop is held and why" "$TRACE" \
  "hop smart.test:$P ($DEAD_IP) failed before any transaction (421 "
queue_states "$T_DIR/a.states"
n=$(grep -c ' deferred ' "$T_DIR/a.states" || true)
z=$(grep -c ' deferred 0$' "$T_DIR/a.states" || true)
[ "$n" -eq "$N" ] && pass "(a) all $N still queued, deferred" || fail "(a) $n of $N queued deferred"
[ "$z" -eq "$left" ] && pass "(a) the $left left alone have no attempt counted" || \
  fail "(a) $z with no attempt, $left left alone"
expect_no_sanitizer "(a) queue run"

# ---- (b) dead MX, live smart host, RCPT 4xx at the smart host --------------
conf b "strategy = \"mx-then-smarthost\"; port = $P; smarthost = [ \"[$MIXED_IP]:$P\" ];"
: >"$T_DIR/acked"
# Every tenth message to a tmp@ recipient, spread through the queue.
for r in $(seq 0 9); do
  enqueue 3 $((r * 30)) 'tmp@b{n}.test'
  enqueue 27 $((r * 30 + 3)) 'x@b{n}.test'
done
[ "$(wc -l <"$T_DIR/acked")" -eq 300 ] && pass "(b) 300 queued" || fail "(b) $(wc -l <"$T_DIR/acked") queued"
: >"$T_DIR/dead.conns"
run_herald "$OUT" "$ERR" -c "$CONF" queue run --once --trace "$TRACE"
expect_rc "(b) queue run --once" 0 "$ERR"
expect_grep "(b) the dead MX is held" "$TRACE" \
  "hop mx.dead.test:$P ($DEAD_IP) failed before any transaction (421 "
n=$(count ': x@b[0-9]+\.test: delivered: 250 ')
[ "$n" -eq 270 ] && pass "(b) all 270 delivered through the live smart host" || \
  fail "(b) $n of 270 delivered; $(count ': x@b[0-9]+\.test: not tried: ') left alone"
n=$(count ': tmp@b[0-9]+\.test: deferred: 450 ')
[ "$n" -eq 30 ] && pass "(b) the 30 tmp@ recipients deferred by their RCPT's 450" || fail "(b) $n of 30 tmp@ deferred"
n=$(count ': x@b[0-9]+\.test: not tried: ')
[ "$n" -eq 0 ] && pass "(b) no message with a live hop left alone" || fail "(b) $n messages left alone"
conns=$(dead_conns)
last=$(count "domain b[0-9]+\.test: mx\.dead\.test\[$DEAD_IP\]:$P: held \(just failed: 421 [^)]*\), tried last$")
echo "# (b) dead MX: $conns connections for 300 messages, put last by $last"
[ "$conns" -le "$BOUND" ] && pass "(b) the dead MX saw $conns connections (at most $BOUND): held, it was tried last" || \
  fail "(b) the dead MX saw $conns connections for 300 messages (more than $BOUND)"
[ "$last" -ge 100 ] && pass "(b) the trace says the held MX was tried last, for $last messages" || \
  fail "(b) $last messages say the held MX was tried last, want at least 100"
queue_states "$T_DIR/b.states"
n=$(wc -l <"$T_DIR/b.states")
[ "$n" -eq 30 ] && pass "(b) only the 30 deferred stay queued" || \
  fail "(b) $n queued: $(grep -v '^tmp@' "$T_DIR/b.states" | head -3)"
expect_no_sanitizer "(b) queue run"

# ---- (c) two MX hosts, the first dead --------------------------------------
conf c "strategy = \"mx\"; port = $P;"
: >"$T_DIR/acked"
enqueue 260 0 'x{n}@c.test'
: >"$T_DIR/dead.conns"
run_herald "$OUT" "$ERR" -c "$CONF" queue run --once --trace "$TRACE"
expect_rc "(c) queue run --once" 0 "$ERR"
expect_grep "(c) the dead MX is held" "$TRACE" \
  "hop mx1.c.test:$P ($DEAD_IP) failed before any transaction (421 "
n=$(count ': x[0-9]+@c\.test: delivered: 250 ')
[ "$n" -eq 260 ] && pass "(c) all 260 delivered through the live MX" || \
  fail "(c) $n of 260 delivered; $(count ': x[0-9]+@c\.test: not tried: ') left alone"
n=$(find "$T_DIR/live" -name '*.json' | wc -l)
[ "$n" -eq 260 ] && pass "(c) the live MX has 260 messages" || fail "(c) the live MX has $n"
conns=$(dead_conns)
last=$(count "domain c\.test: mx1\.c\.test\[$DEAD_IP\]:$P: held \(just failed: 421 [^)]*\), tried last$")
echo "# (c) dead first MX: $conns connections for 260 messages, put last by $last"
[ "$conns" -le "$BOUND" ] && pass "(c) the dead MX saw $conns connections (at most $BOUND)" || \
  fail "(c) the dead MX saw $conns connections for 260 messages (more than $BOUND)"
[ "$last" -ge 60 ] && pass "(c) the trace says the held MX was tried last, for $last messages" || \
  fail "(c) $last messages say the held MX was tried last, want at least 60"
expect_no_sanitizer "(c) queue run"

# ---- (d) the hold ends: one probe per pass, then delivery -------------------
# A server that never greets: each attempt lasts greeting_timeout_ms (2 s),
# longer than a hold, so a probe is still out when the others come by.
start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/fault_smtpd.py" "$PROBE_IP" "$P" \
  --mode hang --conn-log "$T_DIR/probe.conns" >/dev/null </dev/null
dead_pid=${T_PIDS[-1]}
wait_for_port "$PROBE_IP" "$P" 15 || hard_error "fault_smtpd.py did not start on $PROBE_IP"
N=300
conf d "strategy = \"smarthost\"; smarthost = [ \"probe.test:$P\" ];" 1 1
: >"$T_DIR/acked"
enqueue "$N" 0 'x@d{n}.test'
: >"$T_DIR/probe.conns"
rm -f "$TRACE"
timeout 240 "$HERALD" -c "$CONF" queue run --trace "$TRACE" >"$OUT" 2>"$ERR" </dev/null &
runner=$!
T_PIDS+=("$runner")
probe_re="hop probe\.test:$P's hold ended: this message tries it again"
# Three holds ended, each probed by one message (bounded: 60 s).
for _ in $(seq 300); do
  [ "$(count "$probe_re")" -ge 3 ] && break
  kill -0 "$runner" 2>/dev/null || break
  sleep 0.2
done
probes=$(count "$probe_re")
holds=$(count "hop probe\.test:$P \($PROBE_IP\) failed before any transaction")
conns=$(grep -c '^open' "$T_DIR/probe.conns" || true)
echo "# (d) dead smart host: $conns connections, $holds holds, $probes probes"
[ "$probes" -ge 3 ] && pass "(d) holds ended and messages probed the hop ($probes so far)" || \
  fail "(d) $probes probes in 60 s"
# A probe starts only once a hold (re)set by the previous failure has ended.
[ "$probes" -le "$holds" ] && pass "(d) one message probed each ended hold ($probes probes, $holds holds)" || \
  fail "(d) $probes messages probed after $holds holds: the others did not wait for the probe's word"
[ "$conns" -le $((BOUND + probes)) ] && pass "(d) $conns connections: the first window and one per probe" || \
  fail "(d) $conns connections for $probes probes (more than $BOUND + $probes)"
# The smart host comes back: a live server on its address.
kill "$dead_pid"
wait "$dead_pid" 2>/dev/null || true
mkdir -p "$T_DIR/back"
start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/capture_smtpd.py" "$PROBE_IP" "$P" \
  "$T_DIR/back" >/dev/null 2>"$T_DIR/back.err" </dev/null
wait_for_port "$PROBE_IP" "$P" 15 || hard_error "capture_smtpd.py did not start on $PROBE_IP"
for _ in $(seq 600); do
  [ "$(find "$T_DIR/back" -name '*.json' | wc -l)" -ge "$N" ] && break
  kill -0 "$runner" 2>/dev/null || break
  sleep 0.2
done
n=$(find "$T_DIR/back" -name '*.json' | wc -l)
[ "$n" -eq "$N" ] && pass "(d) all $N delivered once the smart host answered again" || \
  fail "(d) $n of $N delivered in 120 s"
expect_grep "(d) the probe found the hop alive" "$TRACE" "hop probe.test:$P ($PROBE_IP) answered again: no longer held"
kill -TERM "$runner" 2>/dev/null || true
rc=0
wait "$runner" || rc=$?
[ "$rc" -eq 0 ] && pass "(d) the runner stopped on SIGTERM: exit 0" || fail "(d) the runner: exit $rc"
expect_no_sanitizer "(d) queue run"

# ---- (e) the held address is the last resort, not skipped --------------------
start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/fault_smtpd.py" "$E1_IP" "$P" \
  --mode greet-421 >/dev/null </dev/null
e1_pid=${T_PIDS[-1]}
wait_for_port "$E1_IP" "$P" 15 || hard_error "fault_smtpd.py did not start on $E1_IP"
email_start_capture e2 "$E2_IP"
e2_pid=${T_PIDS[-1]}
conf e "strategy = \"mx\"; port = $P;"
: >"$T_DIR/acked"
enqueue 20 0 'x{n}@e.test'
rm -f "$TRACE"
timeout 240 "$HERALD" -c "$CONF" queue run --trace "$TRACE" >"$OUT" 2>"$ERR" </dev/null &
runner=$!
T_PIDS+=("$runner")
# wait_files DIR N - until DIR has N messages or the runner is gone (bounded: 60 s)
wait_files() {
  for _ in $(seq 300); do
    [ "$(find "$1" -name '*.json' | wc -l)" -ge "$2" ] && break
    kill -0 "$runner" 2>/dev/null || break
    sleep 0.2
  done
  find "$1" -name '*.json' | wc -l
}
n=$(wait_files "$T_DIR/e2" 20)
[ "$n" -eq 20 ] && pass "(e) 20 delivered through mx2 while mx1 refused" || fail "(e) mx2 has $n of 20"
expect_grep "(e) mx1 is held" "$TRACE" "hop mx1.e.test:$P ($E1_IP) failed before any transaction (421 "
# mx1 comes back, mx2 goes away (its address refuses connections).
kill "$e1_pid" "$e2_pid"
wait "$e1_pid" 2>/dev/null || true
wait "$e2_pid" 2>/dev/null || true
mkdir -p "$T_DIR/e1"
start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/capture_smtpd.py" "$E1_IP" "$P" \
  "$T_DIR/e1" >/dev/null 2>"$T_DIR/e1.err" </dev/null
wait_for_port "$E1_IP" "$P" 15 || hard_error "capture_smtpd.py did not start on $E1_IP"
enqueue 20 20 'x{n}@e.test'
n=$(wait_files "$T_DIR/e1" 20)
[ "$n" -eq 20 ] && pass "(e) the 20 later messages delivered through mx1, tried last" || \
  fail "(e) mx1 has $n of 20"
last=$(count "domain e\.test: mx1\.e\.test\[$E1_IP\]:$P: held \(just failed: 421 [^)]*\), tried last$")
resort=$(count "domain e\.test: every address not held failed: trying the 1 held one\(s\) last$")
echo "# (e) put last by $last messages, tried as the last resort by $resort"
[ "$last" -ge 1 ] && pass "(e) the trace says the held mx1 was put last ($last)" || \
  fail "(e) no message put the held mx1 last"
[ "$resort" -ge 1 ] && pass "(e) mx2 failed, and the held mx1 was tried as the last resort ($resort)" || \
  fail "(e) the held mx1 was never tried as the last resort"
kill -TERM "$runner" 2>/dev/null || true
rc=0
wait "$runner" || rc=$?
[ "$rc" -eq 0 ] && pass "(e) the runner stopped on SIGTERM: exit 0" || fail "(e) the runner: exit $rc"
expect_no_sanitizer "(e) queue run"

herald_test_done
