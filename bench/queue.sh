#!/bin/bash
# bench/queue.sh - the durable queue against Postfix as a durable relay
# ("bench/run.sh queue" runs it).  Same machine, same run, same smtp-sink:
#
#   anchor   smtp-source -s 16 -m N -l 4096 into a private Postfix (its own
#            main.cf/master.cf and queue under a temporary folder,
#            relayhost = [127.0.0.1]:SINK), timed from the first message
#            until Postfix's log says status=sent N times
#   herald   bench/herald_enqueue: N messages of 4 KB through libherald's
#            batch API (group commit, -b BATCH), then "herald queue run
#            --once" delivering them to the same smtp-sink, timed end to end
#   (the report goes to stdout, or -o FILE; bench/RESULTS.md has a "Queue" section)
#   enqueue  the enqueue alone (messages/s), and the same with one message
#            per sync (-b 1, on N/20 messages): the disk's one-file-per-sync rate
#
# usage: bench/queue.sh [-n COUNT] [-B BATCH] [-b BUILDDIR] [-o FILE]
# Needs root (Postfix's master starts as root), smtp-source, smtp-sink.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
COUNT=10000
BATCH=500
BUILD=$SRC/_build-bench
OUT=
SINK=${SMTP_SINK:-/usr/sbin/smtp-sink}
SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}
ARGS="$*"
while [ $# -gt 0 ]; do
  case $1 in
    -n) COUNT=$2; shift 2 ;;
    -B) BATCH=$2; shift 2 ;;
    -b) BUILD=$2; shift 2 ;;
    -o) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [-n COUNT] [-B BATCH] [-b BUILDDIR] [-o FILE]" >&2; exit 64 ;;
  esac
done

TEST_PYTHON=${TEST_PYTHON:-/usr/bin/python3}
# shellcheck source=tests/lib/common.sh
HERALD_BUILD_DIR=$BUILD HERALD_SRC_DIR=$SRC . "$SRC/tests/lib/common.sh"
# shellcheck source=tests/lib/postfix.sh
. "$SRC/tests/lib/postfix.sh"

mkdir -p "$BUILD"
if [ ! -f "$BUILD/Makefile" ]; then
  (cd "$BUILD" && "$SRC/configure" CFLAGS=-O2 >configure.log 2>&1) || hard_error "configure failed"
fi
{ make -C "$BUILD" -j2 all && make -C "$BUILD" bench/herald_enqueue; } >"$BUILD/make.log" 2>&1 || hard_error "make failed"
HERALD_BUILD_DIR=$BUILD
herald_test_init
OUT=${OUT:-$T_DIR/report.md}
export HERALD_PLUGIN_PATH=$BUILD/devices/.libs:$BUILD/plugins/.libs

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
cpu() { awk '{ printf "%.2f", ($14 + $15 + $16 + $17) / 100 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

SINK_PORT=$(free_port 127.0.0.1 tcp)
start_bg "$SINK" -u nobody -c 127.0.0.1:"$SINK_PORT" 1024 >"$T_DIR/sink.out" 2>&1 </dev/null
wait_for_port 127.0.0.1 "$SINK_PORT" 15 || hard_error "smtp-sink did not start"

# --- anchor: Postfix relaying to smtp-sink ---
PF_PORT=$(free_port 127.0.0.2 tcp)
postfix_start 127.0.0.2 "$PF_PORT" local.test "relayhost = [127.0.0.1]:$SINK_PORT
default_destination_concurrency_limit = 20
smtp_tls_security_level = none"
printf 'smtp      unix - - n - - smtp\nrelay     unix - - n - - smtp\n' >>"$PF_CONF/master.cf"
kill -HUP "${T_PIDS[-1]}"   # master (postfix_start's last server): reread master.cf
for _ in $(seq 50); do grep -q "reload" "$PF_LOG" && break; sleep 0.1; done
t0=$(now)
"$SOURCE" -s 16 -m "$COUNT" -l 4096 -f a@bench.test -t b@relay.test 127.0.0.2:"$PF_PORT"
for _ in $(seq 3000); do   # bounded: 300 s
  [ "$(grep -c 'status=sent' "$PF_LOG")" -ge "$COUNT" ] && break
  sleep 0.1
done
t1=$(now)
sent=$(grep -c 'status=sent' "$PF_LOG")
[ "$sent" -ge "$COUNT" ] || hard_error "Postfix sent only $sent of $COUNT"
PF_RATE=$(rate "$COUNT" "$t0" "$t1")
echo "postfix: $COUNT relayed in $(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}') s: $PF_RATE msgs/s" >&2

# --- herald: enqueue (group commit) then the runner ---
SPOOL=$T_DIR/spool
mkdir -m 0700 "$SPOOL"
CONF=$T_DIR/herald.conf
cat >"$CONF" <<CONF
herald: { queue: { module = "spool"; path = "$SPOOL"; }; };
devices = ( { name = "relay"; driver = "email";
  route: { strategy = "smarthost"; smarthost = [ "[127.0.0.1]:$SINK_PORT" ]; };
  transport: { name = "smtp"; helo_name = "bench.test"; tls = "none";
               max_sessions = 16; max_sessions_per_host = 16; }; } );
CONF
t0=$(now)
/usr/bin/time -f "%e %U %S %M" -o "$T_DIR/enq.time" "$BUILD/bench/herald_enqueue" -c "$CONF" \
  -n "$COUNT" -b "$BATCH" -s 4096 -f a@bench.test -t b@relay.test >/dev/null
t1=$(now)
/usr/bin/time -f "%e %U %S %M" -o "$T_DIR/run.time" "$BUILD/cli/herald" -c "$CONF" queue run --once
t2=$(now)
left=$(ls "$SPOOL/q" | wc -l)
[ "$left" -eq 0 ] || hard_error "the runner left $left messages"
H_RATE=$(rate "$COUNT" "$t0" "$t2")
ENQ_RATE=$(rate "$COUNT" "$t0" "$t1")
read -r _ eu es _ <"$T_DIR/enq.time"
read -r _ ru rs rrss <"$T_DIR/run.time"
echo "herald: end to end $H_RATE msgs/s, enqueue alone $ENQ_RATE msgs/s" >&2

# --- one message per sync: the disk's rate for a new durable file ---
ONE=$((COUNT / 20))
t0=$(now)
"$BUILD/bench/herald_enqueue" -c "$CONF" -n "$ONE" -b 1 -s 4096 -f a@bench.test -t b@relay.test >/dev/null
t1=$(now)
ONE_RATE=$(rate "$ONE" "$t0" "$t1")
rm -rf "$SPOOL/q" && mkdir -m 0700 "$SPOOL/q"

{
  echo "# Queue benchmark (bench/queue.sh)"
  echo
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ) at $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?'),"
  echo "$(nproc) CPUs, kernel $(uname -r); \`bench/run.sh queue $ARGS\` (= \`bench/queue.sh $ARGS\`)."
  echo "$COUNT messages of 4 KB, all to the same smtp-sink on 127.0.0.1."
  echo
  echo "| what | msgs/s | ratio |"
  echo "| --- | --- | --- |"
  echo "| Postfix durable relay (anchor): smtp-source -s 16 -m $COUNT -l 4096, until status=sent x $COUNT | $PF_RATE | 1 |"
  echo "| Herald end to end: herald_enqueue -b $BATCH, then herald queue run --once | $H_RATE | $(awk -v a="$H_RATE" -v b="$PF_RATE" 'BEGIN{printf "%.2f", a/b}') x Postfix |"
  echo "| Herald enqueue alone (group commit, $BATCH per sync) | $ENQ_RATE | $(awk -v a="$ENQ_RATE" -v b="$ONE_RATE" 'BEGIN{printf "%.2f", a/b}') x one-per-sync |"
  echo "| one message per sync (herald_enqueue -b 1, $ONE messages) | $ONE_RATE | 1 |"
  echo
  echo "CPU: enqueue ${eu}s user + ${es}s system; runner ${ru}s user + ${rs}s system, peak RSS ${rrss} KB."
} >"$OUT"
cat "$OUT"
herald_test_done
