#!/bin/bash
# queue_crash.sh - kill -9, proven: bounded in time for make check.
#
# 1. kill -9 during enqueue: bench/herald_enqueue (the batch API) is killed
#    while it enqueues; every id it printed (acknowledged) is queued and whole,
#    nothing else of it stays (its tmp/ files go when the spool is next opened).
# 2. kill -9 of the runner: 1,500 messages, "herald queue run" started and
#    killed with SIGKILL at random moments (at least 20 kills), then run to
#    the end.  Every message arrives at the capture server; none is lost; the
#    spool is left empty (no orphan file in q/, tmp/ or bad/).  A message may
#    arrive twice only if the server took it just before a kill, before the
#    runner recorded it: the duplicates are counted and must stay within what
#    can be in that window at each kill (messages in flight, 200, plus those
#    finished and not yet recorded, at most 64).
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 61

ENQ=${HERALD_BUILD_DIR:?}/bench/herald_enqueue
[ -x "$ENQ" ] || hard_error "no $ENQ"
N=1500
KILLS=20
WINDOW=264        # RUN_INFLIGHT + RUN_BATCH (core/queue_run.c)
SPOOL=$T_DIR/spool
mkdir -m 0700 "$SPOOL"
email_conf smarthost "max_sessions = 8;"
sed -i "1s|^herald: {|herald: { queue: { module = \"spool\"; path = \"$SPOOL\"; min_backoff_s = 1; max_backoff_s = 1; };|" "$CONF"
email_start_capture sh "$SH_IP"

# 1. kill -9 during enqueue.
"$ENQ" -c "$CONF" -n 100000 -b 50 -s 600 -f a@herald.test -t b@demo.test >"$T_DIR/acked" \
  2>"$T_DIR/enq.err" &
enq=$!
for _ in $(seq 200); do   # until some batches are acknowledged (bounded: 20 s)
  [ "$(wc -l <"$T_DIR/acked")" -ge 300 ] && break
  sleep 0.1
done
kill -9 "$enq"
wait "$enq" 2>/dev/null || true
acked=$(wc -l <"$T_DIR/acked")
[ "$acked" -ge 300 ] && pass "enqueue killed after $acked acknowledged" || fail "only $acked acknowledged"
# Every file in q/ is whole: list finds nothing corrupt.
run_herald "$OUT" "$ERR" -c "$CONF" queue list --json
expect_rc "list after the kill" 0 "$ERR"
expect_no_grep "no half-written message" "$OUT" '"quarantined":true'
sed -n 's/^{"id":"\([0-9A-Za-z]*\)".*/\1/p' "$OUT" | sort >"$T_DIR/listed"
missing=$(cut -d' ' -f1 "$T_DIR/acked" | sort | comm -23 - "$T_DIR/listed" | wc -l)
[ "$missing" -eq 0 ] && pass "every acknowledged message is queued" || fail "$missing acknowledged messages missing"
# Messages in q/, counted from the files themselves (a segment holds many).
inq=$(cat "$SPOOL"/q/* | grep -a -c '^HERALD-QUEUE 1$' || true)
[ "$inq" -ge "$acked" ] && pass "q/ holds $inq (a batch may have been renamed, not yet acknowledged)" || \
  fail "q/ holds $inq < $acked"
[ "$(wc -l <"$T_DIR/listed")" -eq "$inq" ] && pass "list shows all $inq" || fail "list shows $(wc -l <"$T_DIR/listed")"
# The dead writer's tmp/ files are gone once the spool is opened again.
[ -z "$(ls -A "$SPOOL/tmp")" ] && pass "tmp/ cleaned of the dead writer's files" || \
  fail "tmp/ keeps: $(ls "$SPOOL/tmp" | head -3)"
# Top up to N messages (X-Seq from 1000000 on, apart from the first run's).
if [ "$inq" -lt "$N" ]; then
  "$ENQ" -c "$CONF" -n $((N - inq)) -o 1000000 -b 100 -s 600 -f a@herald.test -t b@demo.test \
    >"$T_DIR/acked2" 2>"$T_DIR/enq.err" || fail "top-up enqueue: $(cat "$T_DIR/enq.err")"
fi
# What must arrive: the X-Seq of every file in q/ now.
cat "$SPOOL"/q/* | sed -n 's/^X-Seq: \([0-9]*\).*/\1/p' | sort -u >"$T_DIR/expected"
expected=$(wc -l <"$T_DIR/expected")
[ "$expected" -ge "$N" ] && pass "$expected messages queued" || fail "only $expected queued"

# 2. kill -9 of the runner, at least $KILLS times.
kills=0
for i in $(seq $KILLS); do
  "$HERALD" -c "$CONF" queue run >/dev/null 2>>"$T_DIR/run.err" &
  runner=$!
  # A random moment: 50..500 ms after the start.
  sleep "0.$(( (RANDOM % 10) * 5 + 5 ))"
  kill -9 "$runner" 2>/dev/null && kills=$((kills + 1))
  wait "$runner" 2>/dev/null || true
done
[ "$kills" -ge "$KILLS" ] && pass "$kills runners killed with SIGKILL" || fail "only $kills kills"
# To the end: run --once until the queue is empty (bounded: 30 runs).
for _ in $(seq 30); do
  [ -z "$(ls -A "$SPOOL/q")" ] && break
  run_herald "$OUT" "$ERR" -c "$CONF" queue flush
  run_herald "$OUT" "$ERR" -c "$CONF" queue run --once
done
[ -z "$(ls -A "$SPOOL/q")" ] && pass "q/ is empty" || fail "q/ keeps $(ls "$SPOOL/q" | wc -l) files"
[ -z "$(ls -A "$SPOOL/tmp")" ] && pass "tmp/ is empty" || fail "tmp/ keeps files"
[ -z "$(ls -A "$SPOOL/bad")" ] && pass "bad/ is empty: nothing was corrupted" || fail "bad/: $(ls "$SPOOL/bad")"

# Count: every expected X-Seq delivered at least once; the extra ones are duplicates.
"$TEST_PYTHON" - "$T_DIR/sh" "$T_DIR/expected" "$kills" "$WINDOW" <<'PY' >"$T_DIR/count" || true
import collections, glob, re, sys
seen = collections.Counter()
for f in glob.glob(sys.argv[1] + "/*.eml"):
    m = re.search(rb"X-Seq: (\d+)", open(f, "rb").read())
    if m:
        seen[m.group(1).decode()] += 1
want = set(open(sys.argv[2]).read().split())
lost = len(want - set(seen))
dups = sum(c - 1 for c in seen.values())
print(lost, dups, len(want), int(sys.argv[3]) * int(sys.argv[4]))
PY
read -r lost dups expected_n bound <"$T_DIR/count"
[ "$lost" -eq 0 ] && pass "every one of $expected_n messages arrived" || fail "$lost messages lost"
files=$(ls "$T_DIR/sh"/*.eml | wc -l)
[ "$dups" -le "$bound" ] && pass "$dups duplicate(s), within $kills kills x $WINDOW in the window" || \
  fail "$dups duplicates exceed $bound"
echo "duplicates: $dups after $kills kills ($files deliveries of $expected_n messages)"
expect_no_grep "no sanitizer report from the runners" "$T_DIR/run.err" "Sanitizer"

herald_test_done
