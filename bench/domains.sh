#!/bin/bash
# bench/domains.sh - many domains through the mx strategy (issue 11, "domains"):
# run as `bench/run.sh domains [-r REPEATS] [-b BUILDDIR] [-o RESULTS.md]`.
#
# 10,000 messages of 4 KB, 100 in flight (bench/herald_blast -p 100:
# herald_submit, as a pipeline would), recipients spread over 1, 1,000 and
# 10,000 domains (-D N: b@dK.dom.test, K = i mod N), through a device with
# strategy "mx" and a dnsmasq on loopback answering with a TTL of 300 s whose
# MX records all name mx.dom.test = 127.0.0.1, where one smtp-sink listens.
# The MX records come from --localmx --mx-target=mx.dom.test over one
# host-record per domain: dnsmasq keeps those in its hashed cache, while each
# --mx-host line is searched one by one for every query (10,000 of them cut
# dnsmasq to about 1,600 answers/s here, and the bench measured dnsmasq).
# The anchor is the one-domain run of the same repeat: ratio = rate over N
# domains / rate to one domain.  Goal: 10,000 domains >= 0.9x.
# Each run is a new process (an empty DNS cache); dnsmasq logs every query
# (--log-queries), and the MX queries a run sent are counted in that log
# between two marker queries: the goal is one per distinct domain.
# Reported: msgs/s (whole process), user+system CPU seconds, peak RSS,
# deferred/failed, MX and A/AAAA queries; medians of REPEATS (default 3)
# runs per case, every run listed.  The "mode:domains" section of
# RESULTS.md is replaced; the rest is kept.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"
REPEATS=3
COUNT=10000
PAR=100
ARGS="$*"

bench_parse_repeats domains "$@"

bench_init domains
bench_build
bench_sink 4096 -m 10000

DNS_CONF=$WORK/dnsmasq.conf
LOG=$WORK/dnsmasq.log
{
  for k in $(seq 0 9999); do echo "host-record=d$k.dom.test,127.0.0.1"; done
  echo "host-record=mark.dom.test,127.0.0.1"
  echo "host-record=mx.dom.test,127.0.0.1"
} >"$DNS_CONF"
bench_dnsmasq mark.dom.test 15 10 --conf-file="$DNS_CONF" --local=/dom.test/ --local-ttl=300 \
  --localmx --mx-target=mx.dom.test \
  --dns-forward-max=10000 --cache-size=10000 --log-queries --log-facility="$LOG"

# log_mark - ask dnsmasq for the marker and wait (bounded) until it is logged:
# every query sent before it is in the log then.  Prints the log's line count.
MARKS=0
log_mark() {
  local i
  MARKS=$((MARKS + 1))
  for i in $(seq 1 50); do
    wait_dns "$DNS_PORT" mark.dom.test 15 >/dev/null 2>&1 || true
    if [ "$(grep -c 'query\[MX\] mark\.dom\.test ' "$LOG" || true)" -ge "$MARKS" ]; then
      MARKS=$(grep -c 'query\[MX\] mark\.dom\.test ' "$LOG" || true)
      wc -l <"$LOG"
      return 0
    fi
  done
  bench_die "dnsmasq never logged the marker query"
}

CONF=$WORK/domains.conf
cat >"$CONF" <<EOF
# No trace group: the trace is off.  The transport's limits are its defaults.
herald: { dns: { servers = [ "127.0.0.1:$DNS_PORT" ]; }; };
devices = (
  { name = "mx"; driver = "email";
    route: { strategy = "mx"; port = $SINK_PORT; };
    transport: { name = "smtp"; helo_name = "bench.herald.test"; tls = "none"; }; }
);
EOF

# run DOMAINS - one herald_blast over DOMAINS domains; appends
# "DOMAINS rate deferred failed rss_kb cpu_s mx_queries addr_queries dnsmasq_cpu_s
# sink_cpu_s" to $WORK/runs
run() {
  local t0 t1 line l0 l1 d0 d1 s0 s1
  l0=$(log_mark)
  d0=$(bench_proc_cpu "$DNS_PID")
  s0=$(bench_proc_cpu "$SINK_PID")
  t0=$(bench_now)
  line=$(timeout 900 "$BLAST" -c "$CONF" -d mx -n "$COUNT" -p "$PAR" -l 4096 -t b@dom.test \
         -D "$1" 2>"$WORK/blast.err") || true
  t1=$(bench_now)
  d1=$(bench_proc_cpu "$DNS_PID")
  s1=$(bench_proc_cpu "$SINK_PID")
  [ -n "$line" ] || bench_die "herald_blast ($1 domains) failed: $(tail -3 "$WORK/blast.err")"
  l1=$(log_mark)
  sed -n "$((l0 + 1)),${l1}p" "$LOG" >"$WORK/run.log"
  awk -v c="$1" -v n="$COUNT" -v a="$t0" -v b="$t1" -v l="$line" \
      -v mx="$(grep -cE 'query\[MX\] d[0-9]+\.dom\.test ' "$WORK/run.log" || true)" \
      -v ad="$(grep -cE 'query\[(A|AAAA)\] mx\.dom\.test ' "$WORK/run.log" || true)" \
      -v d0="$d0" -v d1="$d1" -v s0="$s0" -v s1="$s1" 'BEGIN {
    split(l, f, " "); for (i in f) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
    printf "%s %.0f %d %d %d %.2f %d %d %.2f %.2f\n", c, n / (b - a), v["deferred"], v["failed"],
           v["maxrss_kb"], v["cpu_s"], mx, ad, d1 - d0, s1 - s0 }' >>"$WORK/runs"
  sed -n "s/^herald_blast: not delivered: /$1 domains: /p" "$WORK/blast.err" >>"$WORK/reasons"
  echo "domains: $(tail -1 "$WORK/runs")" >&2
}

: >"$WORK/runs"
: >"$WORK/reasons"
: >"$WORK/ratios"
for i in $(seq 1 "$REPEATS"); do
  run 1
  run 1000
  run 10000
  # the ratios of this repeat, against its own one-domain rate
  tail -3 "$WORK/runs" | awk 'NR == 1 { a = $2 } { printf "%s %.3f\n", $1, $2 / a }' >>"$WORK/ratios"
done

# med DOMAINS FIELD - median of FIELD (2 rate, 3 deferred, 4 failed, 5 rss, 6 cpu, 7 MX,
# 8 A/AAAA, 9 dnsmasq CPU, 10 smtp-sink CPU)
med() { awk -v c="$1" -v f="$2" '$1 == c { print $f }' "$WORK/runs" | bench_median %g; }
row() {
  printf '| %s | %s | **%s** | %s | %s | %s | %s | %s/%s | %s | %s |\n' "$1" "$(med "$1" 2)" \
    "$(awk -v c="$1" '$1 == c { print $2 }' "$WORK/ratios" | bench_median %.2f)" \
    "$(med "$1" 6)" "$(med "$1" 9)" "$(med "$1" 10)" \
    "$(awk -v k="$(med "$1" 5)" 'BEGIN { printf "%.1f", k / 1024 }')" \
    "$(med "$1" 3)" "$(med "$1" 4)" "$(med "$1" 7)" "$(med "$1" 8)"
}

SECTION=$WORK/section.md
{
  echo "<!-- mode:domains -->"
  echo "## Domains (issue 11): 10,000 messages over 1, 1,000 and 10,000 domains"
  echo
  bench_machine
  echo "* Medians of $REPEATS repeats; each repeat runs 1, 1,000, 10,000 domains in that order and"
  echo "  its ratios are against its own one-domain rate (every run listed below)"
  echo "* Herald: commit $COMMIT, CFLAGS=-O2, no sanitizers"
  echo "* Reproduce: \`bench/run.sh domains${ARGS:+ $ARGS}\` (bench/domains.sh)"
  echo "* \`herald_blast -c domains.conf -d mx -n $COUNT -p $PAR -l 4096 -t b@dom.test -D 1|1000|10000\`"
  echo "  (herald_submit, $PAR in flight; recipient of message i: b@dK.dom.test, K = i mod D);"
  echo "  device \"mx\": strategy mx, transport defaults, tls none, trace off; dnsmasq on loopback"
  echo "  (\`--local-ttl=300 --log-queries --localmx --mx-target=mx.dom.test\`, host-record"
  echo "  d0..d9999.dom.test: each has MX 1 mx.dom.test = 127.0.0.1);"
  echo "  \`${SINK_CMD[*]}\`. A new process per run: the DNS cache starts empty."
  echo "* msgs/s: messages / wall time of the whole process; CPU: user + system seconds of"
  echo "  herald_blast; RSS: its peak. MX queries: \`query[MX] dK.dom.test\` lines dnsmasq logged"
  echo "  during the run (goal: = domains); A/AAAA: queries for the one MX host. dnsmasq and"
  echo "  smtp-sink CPU: user + system seconds each server used during the run (/proc/PID/stat):"
  echo "  all three share the machine's $(getconf _NPROCESSORS_ONLN) CPUs."
  echo "  Goal: 10,000 domains >= 0.9x the one-domain rate."
  echo
  echo "| domains | msgs/s | **ratio to 1 domain** | Herald CPU s | dnsmasq CPU s | smtp-sink CPU s | peak RSS MiB | deferred/failed | MX queries | A/AAAA queries |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  row 1
  row 1000
  row 10000
  echo
  echo "Every run (domains, msgs/s, deferred, failed, peak RSS KB, Herald CPU s, MX queries,"
  echo "A/AAAA queries, dnsmasq CPU s, smtp-sink CPU s):"
  echo
  echo '```'
  cat "$WORK/runs"
  echo '```'
  if [ -s "$WORK/reasons" ]; then
    echo
    echo "Why messages were not delivered (digits shown as N):"
    echo
    echo '```'
    cat "$WORK/reasons"
    echo '```'
  fi
  echo "<!-- /mode:domains -->"
} >"$SECTION"
bench_section domains "$SECTION"
