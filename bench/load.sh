#!/bin/bash
# bench/load.sh - Herald under heavy load (issue 11, "load"): run as
# `bench/run.sh load [-r REPEATS] [-b BUILDDIR] [-o RESULTS.md]`.
#
# Through the library as a pipeline would use it (bench/herald_blast -p:
# herald_submit with N messages in flight), a device with strategy "mx" and
# the transport's default limits, a dnsmasq on loopback answering with a TTL
# of 300 s, every MX pointing at one smtp-sink:
#   one-domain   20,000 messages to b@load.test, 5,000 in flight
#   domains      20,000 messages over 10,000 domains (b@dK.load.test), 2,000 in flight
# each against the same run with 100 in flight (the anchor of the ratio); and
#   busy         2,000 messages, 100 in flight, to tests/servers/busy_smtpd.py
#                taking 5 sessions at once (421 to the rest), against the
#                same server taking 100 at once.
# Reported per case: messages deferred (or failed), msgs/s (whole process),
# peak RSS, user+system CPU seconds of herald_blast; each case REPEATS times
# (default 3), medians in the table, every run listed.  The section between
# the "mode:load" markers of RESULTS.md is replaced; the rest is kept.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"
REPEATS=3
ARGS="$*"

bench_parse_repeats load "$@"

bench_init load
bench_build

# --- smtp-sink, dnsmasq (10,001 MX names, TTL 300), busy_smtpd.py x2 ---
bench_sink 4096 -m 10000

DNS_CONF=$WORK/dnsmasq.conf
{
  echo "mx-host=load.test,mx.load.test,10"
  for k in $(seq 0 9999); do echo "mx-host=d$k.load.test,mx.load.test,10"; done
  echo "host-record=mx.load.test,127.0.0.1"
} >"$DNS_CONF"
start_dnsmasq load.test 15 --conf-file="$DNS_CONF" --local=/load.test/ --local-ttl=300 \
  --dns-forward-max=10000 --cache-size=10000 --log-facility=/dev/null

# busy LIMIT - busy_smtpd.py taking LIMIT sessions at once; its port in BUSY_PORT
busy() {
  BUSY_PORT=$(free_port 127.0.0.1 tcp)
  start_bg "$PY" "$SRC/tests/servers/busy_smtpd.py" 127.0.0.1 "$BUSY_PORT" --limit "$1" >/dev/null 2>&1
  wait_for_port 127.0.0.1 "$BUSY_PORT" 10 || bench_die "busy_smtpd.py did not listen"
}
busy 5; BUSY5=$BUSY_PORT
busy 100; BUSY100=$BUSY_PORT

CONF=$WORK/load.conf
cat >"$CONF" <<EOF
# No trace group: the trace is off.  The transport's limits are its defaults.
herald: { dns: { servers = [ "127.0.0.1:$DNS_PORT" ]; }; };
devices = (
  { name = "mx"; driver = "email";
    route: { strategy = "mx"; port = $SINK_PORT; };
    transport: { name = "smtp"; helo_name = "bench.herald.test"; tls = "none"; }; },
  { name = "busy5"; driver = "email";
    route: { strategy = "smarthost"; smarthost = [ "[127.0.0.1]:$BUSY5" ]; };
    transport: { name = "smtp"; helo_name = "bench.herald.test"; tls = "none"; }; },
  { name = "busy100"; driver = "email";
    route: { strategy = "smarthost"; smarthost = [ "[127.0.0.1]:$BUSY100" ]; };
    transport: { name = "smtp"; helo_name = "bench.herald.test"; tls = "none"; }; }
);
EOF

# run CASE DEVICE COUNT PARALLEL [DOMAINS] - one herald_blast; appends
# "CASE rate deferred failed rss_kb cpu_s" to $WORK/runs
run() {
  local d=() t0 t1 line
  [ -n "${5:-}" ] && d=(-D "$5")
  t0=$(date +%s.%N)
  line=$(timeout 900 "$BLAST" -c "$CONF" -d "$2" -n "$3" -p "$4" -l 4096 -t b@load.test "${d[@]}" \
         2>"$WORK/blast.err") || true
  t1=$(date +%s.%N)
  [ -n "$line" ] || bench_die "herald_blast ($1) failed: $(tail -3 "$WORK/blast.err")"
  awk -v c="$1" -v n="$3" -v a="$t0" -v b="$t1" -v l="$line" 'BEGIN {
    split(l, f, " "); for (i in f) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
    printf "%s %.0f %d %d %d %.2f\n", c, n / (b - a), v["deferred"], v["failed"], v["maxrss_kb"], v["cpu_s"] }' \
    >>"$WORK/runs"
  sed -n "s/^herald_blast: not delivered: /$1: /p" "$WORK/blast.err" >>"$WORK/reasons"
  echo "load: $(tail -1 "$WORK/runs")" >&2
}

: >"$WORK/runs"
: >"$WORK/reasons"
for i in $(seq 1 "$REPEATS"); do
  run one-100 mx 20000 100
  run one-5000 mx 20000 5000
  run domains-100 mx 20000 100 10000
  run domains-2000 mx 20000 2000 10000
  run busy100-100 busy100 2000 100
  run busy5-100 busy5 2000 100
done

# med CASE FIELD - the median of FIELD (2 rate, 3 deferred, 4 failed, 5 rss, 6 cpu) over CASE's runs
med() {
  awk -v c="$1" -v f="$2" '$1 == c { print $f }' "$WORK/runs" | sort -g | awk '{ v[NR] = $1 }
    END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# paired CASE ANCHOR - the median over repeats of CASE's rate / ANCHOR's rate in the
# same repeat (run a minute apart, so a machine whose speed drifts between repeats
# moves both; the ratio of the medians below mixes repeats)
paired() {
  awk -v c="$1" -v a="$2" '$1 == c { r[++n] = $2 } $1 == a { b[++m] = $2 }
    END { for (i = 1; i <= n && i <= m; i++) if (b[i] > 0) print r[i] / b[i] }' "$WORK/runs" |
    bench_median %.2f
}
# row LABEL CASE ANCHOR - a table row: medians, and the rate against ANCHOR's
row() {
  local r a
  r=$(med "$2" 2); a=$(med "$3" 2)
  printf '| %s | %s | %s | %s | %s | **%s** | %s | %s | %s |\n' "$1" "$(med "$2" 3)" "$(med "$2" 4)" \
    "$r" "$a" "$(paired "$2" "$3")" "$(bench_ratio "$r" "$a" 2)" \
    "$(awk -v k="$(med "$2" 5)" 'BEGIN { printf "%.1f", k / 1024 }')" "$(med "$2" 6)"
}

SECTION=$WORK/section.md
{
  echo "<!-- mode:load -->"
  echo "## Load (issue 11): many messages in flight, many domains, a busy MX"
  echo
  bench_machine
  echo "* Medians of $REPEATS runs per case, every run listed below"
  echo "* Herald: commit $COMMIT, CFLAGS=-O2, no sanitizers"
  echo "* Reproduce: \`bench/run.sh load${ARGS:+ $ARGS}\` (bench/load.sh)"
  echo "* \`herald_blast -c load.conf -d mx -n 20000 -p 100|5000 -l 4096 -t b@load.test\`;"
  echo "  over 10,000 domains add \`-D 10000\` (b@d0.load.test ... b@d9999.load.test) with"
  echo "  \`-p 100|2000\`; the busy server: \`-d busy5|busy100 -n 2000 -p 100\`. Device \"mx\":"
  echo "  strategy mx, dnsmasq on loopback (\`--local-ttl=300\`, every MX is mx.load.test = 127.0.0.1),"
  echo "  \`${SINK_CMD[*]}\`; \"busy5\"/\"busy100\": smart host tests/servers/busy_smtpd.py"
  echo "  \`--limit 5|100\` (421 to sessions past the limit). Transport defaults (max_sessions 100,"
  echo "  max_sessions_per_host 20, initial_sessions_per_host 5), tls none, trace off."
  echo "* msgs/s: messages / wall time of the whole process; CPU: user + system seconds of"
  echo "  herald_blast; RSS: its peak (ru_maxrss)."
  echo
  echo "| case | deferred | failed | msgs/s | anchor msgs/s | **ratio (median of each repeat's)** | ratio of the medians | peak RSS MiB | CPU s |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  row "1 domain, 100 in flight (anchor)" one-100 one-100
  row "1 domain, 5,000 in flight" one-5000 one-100
  row "10,000 domains, 100 in flight (anchor)" domains-100 domains-100
  row "10,000 domains, 2,000 in flight" domains-2000 domains-100
  row "busy MX (100 at once), 100 in flight (anchor)" busy100-100 busy100-100
  row "busy MX (5 at once), 100 in flight" busy5-100 busy100-100
  echo
  echo "Every run (case, msgs/s, deferred, failed, peak RSS KB, CPU s):"
  echo
  echo '```'
  cat "$WORK/runs"
  echo '```'
  echo
  echo "Why messages were not delivered (every run; digits shown as N):"
  echo
  echo '```'
  if [ -s "$WORK/reasons" ]; then cat "$WORK/reasons"; else echo "(every message was delivered)"; fi
  echo '```'
  echo "<!-- /mode:load -->"
} >"$SECTION"

bench_section load "$SECTION"
