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
PAIRS=5
BUILD=$SRC/_build-bench
OUT=$SRC/bench/RESULTS.md
SINK=${SMTP_SINK:-/usr/sbin/smtp-sink}
SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}
GNUTIME=${GNU_TIME:-/usr/bin/time}
PY=${TEST_PYTHON:-/usr/bin/python3}
SESSIONS=16
ARGS="$*"

while [ $# -gt 0 ]; do
  case $1 in
    -p) PAIRS=$2; shift 2 ;;
    -b) BUILD=$2; shift 2 ;;
    -o) OUT=$2; shift 2 ;;
    *) echo "usage: bench/run.sh cpu [-p PAIRS] [-b BUILDDIR] [-o FILE]" >&2; exit 64 ;;
  esac
done

die() { echo "cpu.sh: $*" >&2; exit 1; }
[ -x "$GNUTIME" ] || die "GNU time not found at $GNUTIME (apt-get install time)"

# --- build (optimised, no sanitizers), as run.sh does ---
mkdir -p "$BUILD"
if [ ! -f "$BUILD/Makefile" ]; then
  (cd "$BUILD" && nice "$SRC/configure" CFLAGS=-O2 >configure.log 2>&1) \
    || die "configure failed, see $BUILD/configure.log"
fi
nice make -C "$BUILD" -j2 >"$BUILD/make.log" 2>&1 || die "make failed, see $BUILD/make.log"
nice make -C "$BUILD" bench >>"$BUILD/make.log" 2>&1 || die "make bench failed, see $BUILD/make.log"
BLAST=$BUILD/bench/herald_blast
COMMIT="$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$SRC" diff --quiet HEAD -- . ':!bench/RESULTS.md' 2>/dev/null || echo ' (with local changes)')"
export HERALD_PLUGIN_PATH=$BUILD/devices/.libs:$BUILD/plugins/.libs
unset HERALD_CONF

WORK=$(mktemp -d "${TMPDIR:-/tmp}/herald-cpu.XXXXXX")
SINK_PID=
cleanup() {
  if [ -n "$SINK_PID" ]; then kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- smtp-sink on a port the kernel hands out, polled until it answers ---
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SINK_CMD=("$SINK")
[ "$(id -u)" = 0 ] && SINK_CMD+=(-u nobody)
SINK_CMD+=(-m 1024 "127.0.0.1:$PORT" 1024)
"${SINK_CMD[@]}" >"$WORK/sink.log" 2>&1 &
SINK_PID=$!
"$PY" - "$PORT" "$SINK_PID" <<'PY' || die "smtp-sink did not listen: $(cat "$WORK/sink.log")"
import os, socket, sys, time
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        os.kill(int(sys.argv[2]), 0)          # ours, still running: not someone else's port
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.2).close()
        sys.exit(0)
    except ProcessLookupError:
        sys.exit(1)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY

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
    || die "$1 failed: $(tail -3 "$WORK/prog.out")"
  awk '{ printf "%.2f", $1 + $2 }' "$WORK/time"
}
run_source() { cpu "$SOURCE" -s "$SESSIONS" -d -m "$2" -l "$1" -f a@x.test -t b@y.test "127.0.0.1:$PORT"; }
run_herald() { cpu "$BLAST" -c "$CONF" -d reuse -n "$2" -p "$SESSIONS" -l "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2];
                                               else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: >"$WORK/pairs"
: >"$WORK/summary"
for size in 4096 102400; do
  count=$([ "$size" = 4096 ] && echo 20000 || echo 3000)
  : >"$WORK/ratios"; : >"$WORK/src"; : >"$WORK/her"
  for i in $(seq 1 "$PAIRS"); do
    if [ $((i % 2)) = 1 ]; then s=$(run_source "$size" "$count"); h=$(run_herald "$size" "$count")
    else h=$(run_herald "$size" "$count"); s=$(run_source "$size" "$count"); fi
    r=$(awk -v h="$h" -v s="$s" 'BEGIN { printf "%.3f", h / s }')
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
  echo "* Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); machine: $(nproc) CPUs, shared with other"
  echo "  builds while it ran (noisy: medians of $PAIRS alternating pairs per size, every pair listed)"
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

# Replace the section in $OUT (or append it), keeping everything else.
if [ -f "$OUT" ] && grep -q '^<!-- mode:cpu -->' "$OUT"; then
  awk -v sec="$SECTION" '
    /^<!-- mode:cpu -->/ { while ((getline l < sec) > 0) print l; skip = 1; next }
    /^<!-- \/mode:cpu -->/ { skip = 0; next }
    !skip' "$OUT" >"$WORK/out.md"
else
  { [ -f "$OUT" ] && cat "$OUT" && echo; cat "$SECTION"; } >"$WORK/out.md"
fi
cp "$WORK/out.md" "$OUT"
echo "cpu.sh: wrote the cpu section of $OUT" >&2
