#!/bin/bash
# bench/cpu.sh - CPU per byte (issue 11 item 4): Herald's and smtp-source's
# user + system CPU seconds for the same messages into one smtp-sink on
# 127.0.0.1, 16 sessions each, 4 KB and 100 KB bodies:
#   smtp-source -s 16 -d -m N -l LEN          (CPU from GNU time)
#   herald_blast -p 16 -n N -l LEN            (herald_submit, 16 in flight, session_cache)
# Runs alternate in pairs (the order flips every pair); the report gives the
# median of the per-pair ratios herald/smtp-source and every pair.  The
# machine is shared: CPU seconds are less noisy than wall time, but still
# noisy, hence the medians.
#
# usage: bench/run.sh cpu [-p PAIRS] [-b BUILDDIR] [-o FILE]
#   -p  pairs per size (default 5)
# The section between the "mode:cpu" markers of RESULTS.md is replaced; the
# rest is kept.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"
PAIRS=5
SESSIONS=16
ARGS="$*"

BENCH_COUNT="-p PAIRS" bench_parse_repeats cpu "$@"

bench_init cpu
[ -x "$GNUTIME" ] || bench_die "GNU time not found at $GNUTIME (apt-get install time)"
bench_build
bench_sink 1024 -m 1024
PORT=$SINK_PORT

CONF=$WORK/cpu.conf
cat >"$CONF" <<EOF
devices = (
  { name = "reuse"; driver = "email";
    route: { strategy = "smarthost"; smarthost = [ "[127.0.0.1]:$PORT" ]; };
    transport: { name = "smtp"; helo_name = "bench.herald.test"; tls = "none";
                 session_cache = true; }; }
);
EOF

# cpu PROGRAM ARGS... - run it under GNU time; prints its user + system seconds
cpu() {
  "$GNUTIME" -f "%U %S" -o "$WORK/time" "$@" >"$WORK/prog.out" 2>&1 \
    || bench_die "$1 failed: $(tail -3 "$WORK/prog.out")"
  awk '{ printf "%.2f", $1 + $2 }' "$WORK/time"
}
run_source() { cpu "$SOURCE" -s "$SESSIONS" -d -m "$2" -l "$1" -f a@x.test -t b@y.test "127.0.0.1:$PORT"; }
run_herald() { cpu "$BLAST" -c "$CONF" -d reuse -n "$2" -p "$SESSIONS" -l "$1"; }
median() { bench_median %.3f; }

: >"$WORK/pairs"
: >"$WORK/summary"
for size in 4096 102400; do
  count=$([ "$size" = 4096 ] && echo 20000 || echo 3000)
  : >"$WORK/ratios"; : >"$WORK/src"; : >"$WORK/her"
  for i in $(seq 1 "$PAIRS"); do
    if [ $((i % 2)) = 1 ]; then s=$(run_source "$size" "$count"); h=$(run_herald "$size" "$count")
    else h=$(run_herald "$size" "$count"); s=$(run_source "$size" "$count"); fi
    r=$(bench_ratio "$h" "$s")
    echo "$r" >>"$WORK/ratios"; echo "$s" >>"$WORK/src"; echo "$h" >>"$WORK/her"
    printf '| %s | %d | %d | %s | %s | %s |\n' "$size" "$count" "$i" "$s" "$h" "$r" >>"$WORK/pairs"
    echo "cpu: $size octets pair $i: smtp-source $s s, herald $h s, ratio $r" >&2
  done
  printf '| %s | %d | %s | %s | **%s** |\n' "$size" "$count" "$(median <"$WORK/src")" \
    "$(median <"$WORK/her")" "$(median <"$WORK/ratios")" >>"$WORK/summary"
done

SECTION=$WORK/section.md
{
  echo "<!-- mode:cpu -->"
  echo "## CPU per byte (issue 11 item 4)"
  echo
  bench_machine
  echo "* Medians of $PAIRS alternating pairs per size, every pair listed"
  echo "* Herald: commit $COMMIT, CFLAGS=-O2, no sanitizers"
  echo "* Reproduce: \`bench/run.sh cpu${ARGS:+ $ARGS}\` (bench/cpu.sh)"
  echo "* \`smtp-source -s $SESSIONS -d -m COUNT -l SIZE -f a@x.test -t b@y.test 127.0.0.1:PORT\` beside"
  echo "  \`herald_blast -c cpu.conf -d reuse -n COUNT -p $SESSIONS -l SIZE\` (herald_submit, $SESSIONS in"
  echo "  flight, session_cache, smart host [127.0.0.1]:PORT, tls none, trace off; its body has"
  echo "  LF line ends, so Herald converts every line), into \`${SINK_CMD[*]}\`."
  echo "* CPU s: user + system seconds of the whole process (GNU time); ratio herald/smtp-source"
  echo "  per pair. Goal: at most 1.2 at 100 KB, at most 1.0 at 4 KB."
  echo
  echo "| size | messages | median smtp-source CPU s | median herald CPU s | **median ratio** |"
  echo "| --- | --- | --- | --- | --- |"
  cat "$WORK/summary"
  echo
  echo "| size | messages | pair | smtp-source CPU s | herald CPU s | ratio |"
  echo "| --- | --- | --- | --- | --- | --- |"
  cat "$WORK/pairs"
  echo "<!-- /mode:cpu -->"
} >"$SECTION"

bench_section cpu "$SECTION"
