# shellcheck shell=bash
# bench/lib.sh - what every bench script does the same way (sourced, not run)
#
# A mode script does:
#   SRC=$(cd "$(dirname "$0")/.." && pwd)
#   . "$SRC/bench/lib.sh"
#   bench_init NAME            # $WORK: a fresh temp dir; servers stopped, it removed on exit
#   bench_build                # $BUILD (default SRC/_build-bench, -O2, no sanitizers):
#                              # $BLAST, $HERALD_CLI, $COMMIT, HERALD_PLUGIN_PATH
#   bench_sink BACKLOG [OPT..] # smtp-sink on 127.0.0.1:$SINK_PORT, command in SINK_CMD
#   ...
#   bench_section MODE FILE    # FILE replaces the "<!-- mode:MODE -->" section of $OUT
#
# Servers, ports and readiness come from tests/lib/common.sh (free_port,
# wait_for_port, wait_dns, start_dnsmasq, start_bg): one helper per idea.
# Its hard_error exits 99; bench scripts report their own failures with
# bench_die (exit 1).

: "${SRC:?bench/lib.sh: set SRC to the source tree first}"
BUILD=${BUILD:-$SRC/_build-bench}
OUT=${OUT:-$SRC/bench/RESULTS.md}
SINK=${SMTP_SINK:-/usr/sbin/smtp-sink}
SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}
DNSMASQ=${DNSMASQ:-/usr/sbin/dnsmasq}
GNUTIME=${GNU_TIME:-/usr/bin/time}
TEST_PYTHON=${TEST_PYTHON:-/usr/bin/python3}
PY=$TEST_PYTHON
BENCH_NAME=bench

# shellcheck source=tests/lib/common.sh
. "$SRC/tests/lib/common.sh"

# bench_die MESSAGE - the run cannot go on: say why, exit 1 (servers are stopped)
bench_die() {
  echo "$BENCH_NAME: $*" >&2
  exit 1
}

# bench_init NAME - $WORK (= common.sh's T_DIR), and the exit trap that stops
# every server started with start_bg and removes $WORK
bench_init() {
  BENCH_NAME=$1
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/herald-$1.XXXXXX") || bench_die "mktemp -d failed"
  chmod 0700 "$WORK"
  T_DIR=$WORK
  trap herald_test_cleanup EXIT
  trap 'exit 130' INT TERM
  unset HERALD_CONF
}

# bench_build - configure $BUILD once (CFLAGS=-O2, no sanitizers: we measure
# the product, not ASan), make it and the bench programs, niced: the machine
# is shared.  Sets BLAST, ENQUEUE, HERALD_CLI, COMMIT and HERALD_PLUGIN_PATH.
bench_build() {
  mkdir -p "$BUILD"
  if [ ! -f "$BUILD/Makefile" ]; then
    (cd "$BUILD" && nice "$SRC/configure" CFLAGS=-O2 >configure.log 2>&1) \
      || bench_die "configure failed, see $BUILD/configure.log"
  fi
  nice make -C "$BUILD" -j2 >"$BUILD/make.log" 2>&1 || bench_die "make failed, see $BUILD/make.log"
  nice make -C "$BUILD" bench >>"$BUILD/make.log" 2>&1 \
    || bench_die "make bench failed, see $BUILD/make.log"
  BLAST=$BUILD/bench/herald_blast
  ENQUEUE=$BUILD/bench/herald_enqueue
  HERALD_CLI=$BUILD/cli/herald
  # The commit measured is the one built now, whatever the tree holds when the report is written.
  COMMIT="$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$SRC" diff \
    --quiet HEAD -- . ':!bench/RESULTS.md' 2>/dev/null || echo ' (with local changes)')"
  export HERALD_PLUGIN_PATH=$BUILD/devices/.libs:$BUILD/plugins/.libs
}

# bench_sink BACKLOG [OPTION...] - smtp-sink on 127.0.0.1 (as nobody when we
# are root) with OPTIONs, on a free port left in SINK_PORT; its command line in
# SINK_CMD (the port shown is the run's).  Waits until it takes a connection.
bench_sink() {
  local backlog=$1
  shift
  [ -x "$SINK" ] || bench_die "smtp-sink not found at $SINK"
  SINK_PORT=$(free_port 127.0.0.1 tcp) || bench_die "no free TCP port"
  SINK_CMD=("$SINK")
  [ "$(id -u)" = 0 ] && SINK_CMD+=(-u nobody)
  SINK_CMD+=("$@" "127.0.0.1:$SINK_PORT" "$backlog")
  start_bg "${SINK_CMD[@]}" >"$WORK/sink.log" 2>&1 </dev/null
  SINK_PID=$!
  wait_for_port 127.0.0.1 "$SINK_PORT" 10 || bench_die "smtp-sink did not listen: $(cat "$WORK/sink.log")"
}

# bench_dnsmasq NAME TYPE SECONDS ARG... - dnsmasq on 127.0.0.1:$DNS_PORT with
# ARG..., ready once it answers a TYPE query for NAME, waiting at most SECONDS
# (start_dnsmasq waits 10 s: dnsmasq reads 100,000 host-records slower than that)
bench_dnsmasq() {
  local name=$1 type=$2 secs=$3 pid i
  shift 3
  DNS_PORT=$(free_port 127.0.0.1 both) || bench_die "no port free for UDP and TCP"
  start_bg "$DNSMASQ" -k --conf-file=/dev/null --no-resolv --no-hosts --pid-file= \
    --port="$DNS_PORT" --listen-address=127.0.0.1 --bind-interfaces "$@" \
    2>"$WORK/dnsmasq.err" </dev/null
  pid=$!
  DNS_PID=$pid
  for i in $(seq 1 $(((secs + 9) / 10))); do   # wait_dns waits 10 s at most
    wait_dns "$DNS_PORT" "$name" "$type" "$pid" && return 0
    kill -0 "$pid" 2>/dev/null || break
  done
  bench_die "dnsmasq did not answer for $name: $(cat "$WORK/dnsmasq.err")"
}

# bench_proc_cpu PID - user + system CPU seconds PID has used so far (a
# server's share of a run is the difference of two readings); the name field
# may hold spaces, so the fields are counted from its closing parenthesis
bench_proc_cpu() {
  local hz stat
  hz=$(getconf CLK_TCK)
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  awk -v hz="$hz" -v s="${stat##*) }" 'BEGIN { split(s, f, " ");
    printf "%.2f", (f[12] + f[13]) / hz }'
}

# bench_parse_repeats MODE ARG... - the options of the modes that take only
# -r REPEATS, -b BUILDDIR and -o FILE (sets REPEATS, BUILD, OUT); anything else
# is a usage error (exit 64).  BENCH_COUNT="-p PAIRS" names the count's
# option and variable instead of "-r REPEATS" (cpu.sh counts pairs).
bench_parse_repeats() {
  local mode=$1 count=${BENCH_COUNT:--r REPEATS}
  local opt=${count% *} var=${count#* }
  shift
  while [ $# -gt 0 ]; do
    case $1 in
      "$opt") printf -v "$var" '%s' "$2"; shift 2 ;;
      -b) BUILD=$2; shift 2 ;;
      -o) OUT=$2; shift 2 ;;
      *) echo "usage: bench/run.sh $mode [$count] [-b BUILDDIR] [-o FILE]" >&2; exit 64 ;;
    esac
  done
}

# bench_now - wall clock in seconds, with nanoseconds
bench_now() { date +%s.%N; }
# bench_rate COUNT T0 T1 - COUNT per second between T0 and T1
bench_rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
# bench_ratio A B [DECIMALS] - A / B (3 decimals unless told), "?" when B is 0
bench_ratio() {
  awk -v a="$1" -v b="$2" -v d="${3:-3}" 'BEGIN { if (b > 0) printf "%." d "f", a / b; else printf "?" }'
}
# bench_median [FORMAT] - the median of the numbers on stdin (default format %.3f)
bench_median() {
  sort -g | awk -v f="${1:-%.3f}" '{ v[NR] = $1 } END { if (NR == 0) printf f, 0;
    else if (NR % 2) printf f, v[(NR + 1) / 2]; else printf f, (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_machine - one report line: when, which machine, and that it was shared
bench_machine() {
  echo "* Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); machine: $(nproc) CPUs, kernel $(uname -r),"
  echo "  shared with other builds and tests while it ran (noisy: read the medians)"
}

# bench_section MODE FILE - FILE (which starts "<!-- mode:MODE -->" and ends
# "<!-- /mode:MODE -->") replaces that section of $OUT, or is appended to it;
# everything else in $OUT is kept.
bench_section() {
  local mode=$1 sec=$2
  if [ -f "$OUT" ] && grep -q "^<!-- mode:$mode -->" "$OUT"; then
    awk -v sec="$sec" -v first="<!-- mode:$mode -->" -v last="<!-- /mode:$mode -->" '
      $0 == first { while ((getline l < sec) > 0) print l; skip = 1; next }
      $0 == last { skip = 0; next }
      !skip' "$OUT" >"$WORK/out.md"
  else
    { if [ -f "$OUT" ]; then cat "$OUT"; echo; fi; cat "$sec"; } >"$WORK/out.md"
  fi
  cp "$WORK/out.md" "$OUT"
  echo "$BENCH_NAME: wrote the $mode section of $OUT" >&2
}

# bench_sections_tail - the report from its first mode section on, as it is
# (run.sh rewrites its own part above and keeps the other modes' below)
bench_sections_tail() {
  [ -f "$OUT" ] && awk '/^<!-- mode:[a-z-]+ -->/ { keep = 1 } keep' "$OUT"
  return 0
}
