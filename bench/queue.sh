#!/bin/bash
# bench/queue.sh - the durable queue against Postfix as a durable relay
# ("bench/run.sh queue" runs it).  Same machine, same run, same smtp-sink:
#
#   anchor   smtp-source -s 16 -m N -l 4096 into a private Postfix (its own
#            main.cf/master.cf and queue under a temporary folder,
#            relayhost = [127.0.0.1]:SINK), timed from the first message
#            until Postfix's log says status=sent N times; its CPU is its
#            master's and every child's (alive, or reaped into the master's)
#   herald   bench/herald_enqueue: N messages of 4 KB through libherald's
#            batch API (group commit, -B BATCH), then "herald queue run
#            --once" delivering them to the same smtp-sink, timed end to end
#   enqueue  the enqueue alone (messages/s), and the same with one message
#            per sync (-b 1, on N/20 messages): the disk's one-file-per-sync rate
#   scale    (-M BIG, 0 to skip) a spool on its own ext4 image (loop-mounted,
#            so a million files cost no discards and go with one umount):
#            10,000, then 100,000, then BIG messages of 3 KB (one 4 KB block
#            each) queued to a destination that refuses connections; at each
#            size the runner's peak RSS, wall and CPU time for a pass over the
#            whole queue (herald queue run --once: the first messages defer,
#            then the destination is left alone and the rest are read and
#            skipped), and the time until "herald queue list" prints its
#            first line
#
# usage: bench/run.sh queue [-n COUNT] [-B BATCH] [-M BIG] [-b BUILDDIR] [-o FILE]
# The section between the "mode:queue" markers of RESULTS.md is replaced.
# Needs root (Postfix's master starts as root; the scale step mounts an image).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"
COUNT=10000
BATCH=500
BIG=1000000
ARGS="$*"
while [ $# -gt 0 ]; do
  case $1 in
    -n) COUNT=$2; shift 2 ;;
    -B) BATCH=$2; shift 2 ;;
    -M) BIG=$2; shift 2 ;;
    -b) BUILD=$2; shift 2 ;;
    -o) OUT=$2; shift 2 ;;
    *) echo "usage: bench/run.sh queue [-n COUNT] [-B BATCH] [-M BIG] [-b BUILDDIR] [-o FILE]" >&2
       exit 64 ;;
  esac
done

bench_init queue
[ -x "$GNUTIME" ] || bench_die "GNU time not found at $GNUTIME"
# shellcheck source=tests/lib/postfix.sh
. "$SRC/tests/lib/postfix.sh"
bench_build
bench_sink 1024 -c
# The program itself, not libtool's wrapper script (whose start-up, half a
# second on a loaded machine, would be timed with it): as installed.
HERALD_BIN=$BUILD/cli/.libs/herald
[ -x "$HERALD_BIN" ] || HERALD_BIN=$HERALD_CLI
export LD_LIBRARY_PATH=$BUILD/core/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# cpu_tree PID - CPU seconds of PID and its children (reaped ones included)
cpu_tree() {
  local p sum=0
  for p in "$1" $(pgrep -P "$1" || true); do
    sum=$(awk -v s="$sum" '{ printf "%.2f", s + ($14 + $15 + $16 + $17) / 100 }' \
      "/proc/$p/stat" 2>/dev/null || echo "$sum")
  done
  echo "$sum"
}
# gtime FILE PROGRAM ARGS... - run under GNU time: "wall user system maxrss_kb" in FILE
gtime() { local f=$1; shift; "$GNUTIME" -f "%e %U %S %M" -o "$f" "$@"; }

# --- anchor: Postfix relaying to smtp-sink ---
PF_PORT=$(free_port 127.0.0.2 tcp)
postfix_start 127.0.0.2 "$PF_PORT" local.test "relayhost = [127.0.0.1]:$SINK_PORT
default_destination_concurrency_limit = 20
smtp_tls_security_level = none"
PF_PID=${T_PIDS[-1]}   # its master
printf 'smtp      unix - - n - - smtp\nrelay     unix - - n - - smtp\n' >>"$PF_CONF/master.cf"
kill -HUP "$PF_PID"   # reread master.cf
for _ in $(seq 50); do grep -q "reload" "$PF_LOG" && break; sleep 0.1; done
pf_cpu0=$(cpu_tree "$PF_PID")
t0=$(bench_now)
gtime "$WORK/source.time" "$SOURCE" -s 16 -m "$COUNT" -l 4096 -f a@bench.test -t b@relay.test \
  127.0.0.2:"$PF_PORT"
for _ in $(seq 6000); do   # bounded: 600 s
  [ "$(grep -c 'status=sent' "$PF_LOG")" -ge "$COUNT" ] && break
  sleep 0.1
done
t1=$(bench_now)
pf_cpu1=$(cpu_tree "$PF_PID")
sent=$(grep -c 'status=sent' "$PF_LOG")
[ "$sent" -ge "$COUNT" ] || bench_die "Postfix sent only $sent of $COUNT"
PF_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
PF_RATE=$(bench_rate "$COUNT" "$t0" "$t1")
PF_CPU=$(awk -v a="$pf_cpu0" -v b="$pf_cpu1" 'BEGIN { printf "%.2f", b - a }')
SRC_CPU=$(awk '{ printf "%.2f", $2 + $3 }' "$WORK/source.time")
echo "postfix: $COUNT relayed in $PF_WALL s: $PF_RATE msgs/s" >&2
# Stopped now: its idle daemons would share the machine with Herald's run.
kill "$PF_PID" 2>/dev/null || true
for _ in $(seq 100); do kill -0 "$PF_PID" 2>/dev/null || break; sleep 0.1; done

# --- herald: enqueue (group commit) then the runner ---
SPOOL=$WORK/spool
mkdir -m 0700 "$SPOOL"
CONF=$WORK/herald.conf
# conf FILE SPOOL PORT - the relay device to [127.0.0.1]:PORT, the queue on SPOOL
conf() {
  cat >"$1" <<CONF
herald: { queue: { module = "spool"; path = "$2"; }; };
devices = ( { name = "relay"; driver = "email";
  route: { strategy = "smarthost"; smarthost = [ "[127.0.0.1]:$3" ]; };
  transport: { name = "smtp"; helo_name = "bench.test"; tls = "none";
               max_sessions = 16; max_sessions_per_host = 16; }; } );
CONF
}
conf "$CONF" "$SPOOL" "$SINK_PORT"
t0=$(bench_now)
gtime "$WORK/enq.time" "$ENQUEUE" -c "$CONF" -n "$COUNT" -b "$BATCH" -s 4096 -f a@bench.test \
  -t b@relay.test >/dev/null
t1=$(bench_now)
gtime "$WORK/run.time" "$HERALD_BIN" -c "$CONF" queue run --once
t2=$(bench_now)
left=$(find "$SPOOL/q" -type f | wc -l)
[ "$left" -eq 0 ] || bench_die "the runner left $left messages"
H_RATE=$(bench_rate "$COUNT" "$t0" "$t2")
H_WALL=$(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.2f", b - a }')
ENQ_RATE=$(bench_rate "$COUNT" "$t0" "$t1")
read -r ew eu es _ <"$WORK/enq.time"
read -r rw ru rs rrss <"$WORK/run.time"
H_CPU=$(awk -v a="$eu" -v b="$es" -v c="$ru" -v d="$rs" 'BEGIN { printf "%.2f", a + b + c + d }')
echo "herald: end to end $H_RATE msgs/s, enqueue alone $ENQ_RATE msgs/s" >&2

# --- one message per sync: the disk's rate for a new durable file ---
ONE=$((COUNT / 20))
t0=$(bench_now)
"$ENQUEUE" -c "$CONF" -n "$ONE" -b 1 -s 4096 -f a@bench.test -t b@relay.test >/dev/null
t1=$(bench_now)
ONE_RATE=$(bench_rate "$ONE" "$t0" "$t1")
rm -rf "$SPOOL/q" && mkdir -m 0700 "$SPOOL/q"

# --- scale: a pass and a listing over 10,000 .. BIG queued messages ---
: >"$WORK/scale.rows"
if [ "$BIG" -gt 0 ]; then
  IMG=$WORK/scale.img
  MNT=$WORK/scale
  mkdir "$MNT"
  # 4 KB a message, its inode and its name, and room to spare
  truncate -s "$((BIG / 200 + 1024))M" "$IMG"
  mkfs.ext4 -q -F -N "$((BIG + BIG / 10 + 10000))" "$IMG" || bench_die "mkfs.ext4 failed"
  mount -o loop,nodiscard "$IMG" "$MNT" || bench_die "cannot mount the scale image"
  trap 'umount "$MNT" 2>/dev/null || true; herald_test_cleanup' EXIT
  mkdir -m 0700 "$MNT/spool"
  DEAD=$(free_port 127.0.0.1 tcp)   # nobody listens there: every connection is refused
  conf "$WORK/scale.conf" "$MNT/spool" "$DEAD"
  have=0
  for n in 10000 100000 "$BIG"; do
    [ "$n" -le "$BIG" ] && [ "$n" -gt "$have" ] || continue
    t0=$(bench_now)
    "$ENQUEUE" -c "$WORK/scale.conf" -n "$((n - have))" -o "$have" -b 1000 -s 3000 \
      -f a@bench.test -t b@dead.test >/dev/null || bench_die "enqueue to $n failed"
    t1=$(bench_now)
    erate=$(bench_rate "$((n - have))" "$t0" "$t1")
    have=$n
    gtime "$WORK/pass.time" "$HERALD_BIN" -c "$WORK/scale.conf" queue run --once 2>/dev/null || true
    read -r pw pu ps prss <"$WORK/pass.time"
    # The first line of the listing, and when it came (the rest is not waited for).
    t0=$(bench_now)
    # (herald dies of SIGPIPE once head has its line: not a failure)
    first=$("$HERALD_BIN" -c "$WORK/scale.conf" queue list | head -1 || true)
    t1=$(bench_now)
    [ -n "$first" ] || bench_die "queue list printed nothing at $n"
    lfirst=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    echo "| $n | $erate | $prss | $pw | $(awk -v a="$pu" -v b="$ps" 'BEGIN { printf "%.2f", a + b }') | $lfirst |" \
      >>"$WORK/scale.rows"
    echo "scale: $n queued, runner peak RSS $prss KB, pass $pw s, list first line $lfirst s" >&2
  done
  umount "$MNT"
  trap herald_test_cleanup EXIT
  rm -f "$IMG"
fi

# --- the report ---
{
  echo "<!-- mode:queue -->"
  echo "## Queue (issue 10): durable enqueue and delivery beside Postfix as a durable relay"
  echo
  bench_machine
  echo "* Herald: commit $COMMIT, CFLAGS=-O2, no sanitizers; disk: $(df -T "$WORK" | awk 'NR == 2 { print $2 }')"
  echo "  (mount options of /: $(awk '$2 == "/" { print $4 }' /proc/mounts | tr ',' ' ' | grep -ow 'discard' || echo 'no discard'))"
  echo "* Reproduce: \`bench/run.sh queue $ARGS\` (bench/queue.sh)"
  echo "* $COUNT messages of 4 KB, all to one smtp-sink on 127.0.0.1 (\`${SINK_CMD[*]}\`)"
  echo
  echo "| what | msgs/s | wall s | CPU s (user + system) | ratio |"
  echo "| --- | --- | --- | --- | --- |"
  echo "| Postfix durable relay (anchor): smtp-source -s 16 -m $COUNT -l 4096, until status=sent x $COUNT | $PF_RATE | $PF_WALL | $PF_CPU Postfix + $SRC_CPU smtp-source | 1 |"
  echo "| Herald end to end: herald_enqueue -b $BATCH, then herald queue run --once | $H_RATE | $H_WALL | $H_CPU (enqueue $eu + $es, runner $ru + $rs) | **$(bench_ratio "$H_RATE" "$PF_RATE" 2) x Postfix** |"
  echo "| Herald enqueue alone (group commit, $BATCH per sync) | $ENQ_RATE | $ew | $(awk -v a="$eu" -v b="$es" 'BEGIN { printf "%.2f", a + b }') | **$(bench_ratio "$ENQ_RATE" "$ONE_RATE" 2) x one per sync** |"
  echo "| one message per sync (herald_enqueue -b 1, $ONE messages) | $ONE_RATE | | | 1 |"
  echo
  echo "Runner: $rw s wall, peak RSS $rrss KB."
  if [ -s "$WORK/scale.rows" ]; then
    echo
    echo "Scale: messages of 3 KB queued to a destination that refuses connections, on an ext4"
    echo "image of their own (loop-mounted, no discard); one \`herald queue run --once\` pass over"
    echo "all of them, then the time until \`herald queue list\` printed its first line."
    echo
    echo "| queued | enqueue msgs/s (-b 1000) | runner peak RSS KB | pass wall s | pass CPU s | list: first line after s |"
    echo "| --- | --- | --- | --- | --- | --- |"
    cat "$WORK/scale.rows"
  fi
  echo "<!-- /mode:queue -->"
} >"$WORK/section.md"
cat "$WORK/section.md"
bench_section queue "$WORK/section.md"
