#!/bin/bash
# bench/run.sh - Herald's SMTP throughput beside Postfix's smtp-source, to
# smtp-sink on 127.0.0.1.  Three modes, each compared with its like:
#   new       one message in flight, a new connection per message:
#             smtp-source -s 1        vs herald_send, session_cache = false
#   reuse     one message in flight, one session for every message:
#             smtp-source -s 1 -d     vs herald_send, session_cache = true
#   parallel  PAR sessions at once, each reused:
#             smtp-source -s PAR -d   vs herald_submit with PAR messages in flight
#                                        (herald_blast -p PAR), session_cache = true
# Runs alternate (the order flips every pair), each program is timed the same
# way (wall clock around the whole process), and the median of the per-pair
# ratios herald/smtp-source is reported.  Then herald's peak RSS at 2,000,
# 10,000 and 100,000 messages shows whether memory stays flat.  The trace is
# off: the device file has no trace group, so this measures delivery.
#
# Other modes, each a script of its own that replaces its section (between
# "<!-- mode:NAME -->" markers) of the report and keeps the rest:
#   bench/run.sh load [-r REPEATS] [-b BUILDDIR] [-o FILE]   bench/load.sh
#   bench/run.sh cpu [-p PAIRS] [-b BUILDDIR] [-o FILE]      bench/cpu.sh
#   bench/run.sh domains [-r REPEATS] [-b BUILDDIR] [-o FILE] bench/domains.sh
#   bench/run.sh route [-r REPEATS] [-b BUILDDIR] [-o FILE]   bench/route.sh
#   bench/run.sh queue [...]                                 bench/queue.sh
# What they share (build, smtp-sink, the section of the report) is bench/lib.sh.
# A run of the modes above keeps those sections too.
#
# usage: bench/run.sh [-n COUNT] [-p PAIRS] [-j PAR] [-b BUILDDIR] [-o RESULTS.md] [--full|--no-100k]
#   -n   messages per run (default 5000)          -p  pairs per mode (default 7)
#   -j   sessions / messages in flight in the parallel mode (default 10)
#   -b   build folder (default SRC/_build-bench, configured with CFLAGS=-O2, no sanitizers)
#   -o   report file (default SRC/bench/RESULTS.md)
#   --full     always run the 100,000-message RSS run
#   --no-100k  never run it (default: run it when the reuse rate says it takes < 2 minutes)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
case ${1:-} in
  # many domains through the mx strategy, against one domain
  domains) shift; exec "$SRC/bench/domains.sh" "$@" ;;
  # herald route --batch, cold and warm, against dnsmasq's own answer rate
  route) shift; exec "$SRC/bench/route.sh" "$@" ;;
  load) shift; exec "$SRC/bench/load.sh" "$@" ;;
  # CPU seconds per byte beside smtp-source, 4 KB and 100 KB, 16 sessions
  cpu) shift; exec "$SRC/bench/cpu.sh" "$@" ;;
  # the durable queue against Postfix as a relay
  queue) shift; exec "$SRC/bench/queue.sh" "$@" ;;
esac
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"
COUNT=5000
PAIRS=7
PAR=10
BIG=auto
ARGS="$*"

while [ $# -gt 0 ]; do
  case $1 in
    -n) COUNT=$2; shift 2 ;;
    -p) PAIRS=$2; shift 2 ;;
    -j) PAR=$2; shift 2 ;;
    -b) BUILD=$2; shift 2 ;;
    -o) OUT=$2; shift 2 ;;
    --full) BIG=yes; shift ;;
    --no-100k) BIG=no; shift ;;
    *) echo "usage: $0 [-n COUNT] [-p PAIRS] [-j PAR] [-b BUILDDIR] [-o FILE] [--full|--no-100k]" >&2
       exit 64 ;;
  esac
done

bench_init run
bench_build
bench_sink 1024 -m 1024
HOST=127.0.0.1
PORT=$SINK_PORT

CONF=$WORK/bench.conf
cat >"$CONF" <<EOF
# No trace group: the trace is off, the benchmark measures delivery.
devices = (
  { name = "reuse"; driver = "email";
    route: { strategy = "smarthost"; smarthost = [ "[$HOST]:$PORT" ]; };
    transport: { name = "smtp"; helo_name = "bench.herald.test"; tls = "none";
                 session_cache = true; }; },
  { name = "new"; driver = "email";
    route: { strategy = "smarthost"; smarthost = [ "[$HOST]:$PORT" ]; };
    transport: { name = "smtp"; helo_name = "bench.herald.test"; tls = "none";
                 session_cache = false; }; }
);
EOF

now() { bench_now; }
rate() { bench_rate "$@"; }
median() { bench_median "$1"; }

# run_source MODE - smtp-source once; prints msgs/s
run_source() {
  local d=() t0 t1 sessions=1
  [ "$1" = reuse ] && d=(-d)
  if [ "$1" = parallel ]; then d=(-d); sessions=$PAR; fi
  t0=$(now)
  timeout 600 "$SOURCE" -s "$sessions" "${d[@]}" -m "$COUNT" -l 4096 -f a@x.test -t b@y.test "$HOST:$PORT" \
    >"$WORK/source.out" 2>&1 || bench_die "smtp-source failed: $(tail -3 "$WORK/source.out")"
  t1=$(now)
  rate "$COUNT" "$t0" "$t1"
}

# run_herald MODE [COUNT] - herald_blast once; prints "wall_rate inner_rate maxrss_kb"
run_herald() {
  local n=${2:-$COUNT} t0 t1 line dev=$1 p=()
  if [ "$1" = parallel ]; then dev=reuse; p=(-p "$PAR"); fi
  t0=$(now)
  line=$(timeout 900 "$BLAST" -c "$CONF" -d "$dev" -n "$n" "${p[@]}" -l 4096 2>"$WORK/blast.err") \
    || bench_die "herald_blast ($1, $n) failed: $(tail -3 "$WORK/blast.err")"
  t1=$(now)
  echo "$(rate "$n" "$t0" "$t1") $(sed -n 's/.*msgs_per_s=\([0-9]*\).*/\1/p' <<<"$line")" \
       "$(sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' <<<"$line")"
}

declare -A MEDIAN_SRC MEDIAN_HER MEDIAN_RATIO
TABLE=$WORK/table.md
: >"$TABLE"
for mode in new reuse parallel; do
  : >"$WORK/ratios" ; : >"$WORK/src" ; : >"$WORK/her"
  for i in $(seq 1 "$PAIRS"); do
    if [ $((i % 2)) = 1 ]; then
      s=$(run_source $mode); read -r h hin hrss < <(run_herald $mode)
    else
      read -r h hin hrss < <(run_herald $mode); s=$(run_source $mode)
    fi
    r=$(bench_ratio "$h" "$s")
    echo "$r" >>"$WORK/ratios"; echo "$s" >>"$WORK/src"; echo "$h" >>"$WORK/her"
    printf '| %s | %d | %s | %s | %s | %s | %s |\n' "$mode" "$i" "$s" "$h" "$hin" "$r" "$hrss" >>"$TABLE"
    printf '%-5s pair %d: smtp-source %6s msgs/s  herald %6s msgs/s (sends only %6s)  ratio %s\n' \
      "$mode" "$i" "$s" "$h" "$hin" "$r" >&2
  done
  MEDIAN_SRC[$mode]=$(median %.0f <"$WORK/src")
  MEDIAN_HER[$mode]=$(median %.0f <"$WORK/her")
  MEDIAN_RATIO[$mode]=$(median %.3f <"$WORK/ratios")
  echo "$mode: median ratio herald/smtp-source ${MEDIAN_RATIO[$mode]}" >&2
done

# --- memory: peak RSS of herald_blast (reused session) as the count grows ---
RSS=$WORK/rss.md
: >"$RSS"
for n in 2000 10000 100000; do
  if [ "$n" = 100000 ]; then
    est=$(awk -v r="${MEDIAN_HER[reuse]}" 'BEGIN { printf "%d", 100000 / (r > 0 ? r : 1) }')
    if [ "$BIG" = no ] || { [ "$BIG" = auto ] && [ "$est" -ge 120 ]; }; then
      echo "| 100000 | skipped (estimated ${est} s; run with --full) | |" >>"$RSS"
      continue
    fi
  fi
  read -r h hin hrss < <(run_herald reuse "$n")
  echo "| $n | $hrss | $h |" >>"$RSS"
  echo "rss: $n messages, peak RSS $hrss KB, $h msgs/s" >&2
done

{
  echo "# Herald SMTP throughput benchmark"
  echo
  echo "Produced by \`bench/run.sh\`; do not edit by hand, re-run it."
  echo
  bench_machine
  echo "* CPU: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(uname -m)"
  echo "* Herald: commit $COMMIT, built with CFLAGS=-O2, no sanitizers"
  echo "* Reproduce: \`bench/run.sh${ARGS:+ $ARGS}\` (from the source tree; it configures $(basename "$BUILD")/ and runs \`make bench\`)"
  echo "* Sink: \`${SINK_CMD[*]}\` (the port is chosen per run)"
  echo "* Reference: \`smtp-source -s 1|$PAR [-d] -m $COUNT -l 4096 -f a@x.test -t b@y.test $HOST:PORT\`"
  echo "* Herald: \`herald_blast -c bench.conf -d new|reuse -n $COUNT -l 4096 [-p $PAR]\`: $COUNT messages built"
  echo "  one by one around a 4096-octet body in memory, each sent with \`herald_send\` (or, in"
  echo "  the parallel mode, \`herald_submit\` with $PAR in flight and \`herald_run\`)"
  echo "  through an email device with strategy \"smarthost\" = [$HOST]:PORT (no DNS), tls = \"none\","
  echo "  session_cache = false (\"new\") or true (\"reuse\", \"parallel\"). **Trace off** (no trace group)."
  echo "* new, reuse: one message in flight for both programs (smtp-source -s 1). parallel: $PAR"
  echo "  sessions for smtp-source (-s $PAR -d); $PAR messages in flight for Herald, so $PAR sessions"
  echo "  (below max_sessions_per_host, 20), each freed one handed to the next waiting message."
  echo "  smtp-source speaks HELO without PIPELINING; Herald speaks EHLO and pipelines when offered."
  echo "* msgs/s = messages / wall time of the whole process, measured the same way for both"
  echo "  (so Herald's column includes start-up, module loading and the final QUIT);"
  echo "  \"sends only\" is herald_blast's own clock around the send loop."
  echo
  echo "## Throughput ($PAIRS alternating pairs per mode, $COUNT messages per run)"
  echo
  echo "| mode | pair | smtp-source msgs/s | herald msgs/s | herald sends only | ratio herald/source | herald peak RSS KB |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  cat "$TABLE"
  echo
  echo "| mode | median smtp-source | median herald | **median ratio** |"
  echo "| --- | --- | --- | --- |"
  for mode in new reuse parallel; do
    echo "| $mode | ${MEDIAN_SRC[$mode]} | ${MEDIAN_HER[$mode]} | **${MEDIAN_RATIO[$mode]}** |"
  done
  echo
  echo "## Memory (herald_blast, reused session)"
  echo
  echo "| messages | peak RSS KB (ru_maxrss) | msgs/s |"
  echo "| --- | --- | --- |"
  cat "$RSS"
  if [ -f "$SRC/bench/NOTES.md" ]; then echo; cat "$SRC/bench/NOTES.md"; fi
  # The other modes' sections (and what lies between them), as they were.
  if [ -f "$OUT" ] && grep -q '^<!-- mode:' "$OUT"; then
    echo
    bench_sections_tail
  fi
} >"$WORK/report.md"
cp "$WORK/report.md" "$OUT"
echo "run.sh: wrote $OUT" >&2
