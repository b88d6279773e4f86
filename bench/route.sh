#!/bin/bash
# bench/route.sh - planning speed for many domains (issue 11, "route"): run as
# `bench/run.sh route [-r REPEATS] [-b BUILDDIR] [-o RESULTS.md]`.
#
# A dnsmasq on loopback holds 100,000 domains (host-record dK.rt.test, and
# --localmx --mx-target=mx.rt.test: each has MX 1 mx.rt.test = 127.0.0.1,
# TTL 300).  In each repeat, on the same 10,000 domains:
#   anchor  dnsperf -q 100 -n 1: dnsmasq's own answer rate for their MX
#           queries, 100 in flight (as many as Herald's dns.max_inflight)
#   cli     herald route --batch FILE, a new process (cold: empty cache),
#           timed whole, its output (one JSON line per domain) counted
#   plans   bench/herald_plans: the same plans through herald_route_submit,
#           1,000 at once as route --batch does, cold and then 10 passes
#           warm in the same process (no JSON printed: planning only)
# Ratios: cold plans/s / the anchor of the same repeat (goal >= 0.5), warm
# plans/s (goal >= 100,000).  Then once: herald_plans over all 100,000
# domains, cold then one warm pass, for the peak RSS with 100,000 domains
# cached (goal < 64 MiB).  CPU seconds (user + system) beside every wall
# time.  The "mode:route" section of RESULTS.md is replaced; the rest is kept.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"
REPEATS=3
DNSPERF=${DNSPERF:-dnsperf}
ARGS="$*"

bench_parse_repeats route "$@"

bench_init route
command -v "$DNSPERF" >/dev/null || bench_die "dnsperf not found (Debian: apt-get install dnsperf)"
[ -x "$GNUTIME" ] || bench_die "GNU time not found at $GNUTIME (apt-get install time)"
bench_build
PLANS=$BUILD/bench/herald_plans

DNS_CONF=$WORK/dnsmasq.conf
{
  for k in $(seq 0 99999); do echo "host-record=d$k.rt.test,127.0.0.1"; done
  echo "host-record=mx.rt.test,127.0.0.1"
} >"$DNS_CONF"
bench_dnsmasq d0.rt.test 15 120 --conf-file="$DNS_CONF" --local=/rt.test/ --local-ttl=300 \
  --localmx --mx-target=mx.rt.test --cache-size=10000 --log-facility=/dev/null
seq 0 9999 | sed 's/.*/d&.rt.test/' >"$WORK/d10k"
seq 0 99999 | sed 's/.*/d&.rt.test/' >"$WORK/d100k"
sed 's/$/ MX/' "$WORK/d10k" >"$WORK/q10k"

CONF=$WORK/route.conf
cat >"$CONF" <<EOF
# No trace group: the trace is off.  DNS limits are their defaults.
herald: { dns: { servers = [ "127.0.0.1:$DNS_PORT" ]; }; };
devices = (
  { name = "mx"; driver = "email";
    route: { strategy = "mx"; };
    transport: { name = "smtp"; helo_name = "bench.herald.test"; tls = "none"; }; }
);
EOF

# kv LINE KEY - the value of KEY=VALUE in LINE
kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }

: >"$WORK/runs"
for i in $(seq 1 "$REPEATS"); do
  "$DNSPERF" -s 127.0.0.1 -p "$DNS_PORT" -d "$WORK/q10k" -n 1 -q 100 -t 5 >"$WORK/dnsperf.out" 2>&1 \
    || bench_die "dnsperf failed: $(tail -3 "$WORK/dnsperf.out")"
  anchor=$(awk '/Queries per second/ { printf "%.0f", $4 }' "$WORK/dnsperf.out")
  lost=$(awk '/Queries lost/ { print $3 }' "$WORK/dnsperf.out")
  [ -n "$anchor" ] || bench_die "no rate from dnsperf: $(cat "$WORK/dnsperf.out")"

  t0=$(bench_now)
  "$GNUTIME" -f "%U %S %M" -o "$WORK/cli.time" timeout 300 "$HERALD_CLI" -c "$CONF" route -d mx \
    --batch "$WORK/d10k" >"$WORK/cli.out" 2>"$WORK/cli.err" || true
  t1=$(bench_now)
  lines=$(wc -l <"$WORK/cli.out")
  errs=$(grep -c '"error"' "$WORK/cli.out" || true)
  [ "$lines" = 10000 ] || bench_die "herald route --batch gave $lines lines: $(tail -3 "$WORK/cli.err")"
  cli_rate=$(bench_rate 10000 "$t0" "$t1")
  cli_cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$WORK/cli.time")

  line=$(timeout 300 "$PLANS" -c "$CONF" -d mx -w 10 "$WORK/d10k" 2>"$WORK/plans.err") || true
  [ -n "$line" ] || bench_die "herald_plans failed: $(tail -3 "$WORK/plans.err")"
  echo "$anchor $lost $cli_rate $cli_cpu $errs $(kv "$line" cold_per_s) $(kv "$line" cold_cpu_s)" \
       "$(kv "$line" cold_errors) $(kv "$line" warm_per_s) $(kv "$line" warm_cpu_s)" \
       "$(kv "$line" warm_errors)" >>"$WORK/runs"
  echo "route: $(tail -1 "$WORK/runs")" >&2
done

# all 100,000 domains cached: peak RSS
BIG=$(timeout 600 "$PLANS" -c "$CONF" -d mx -w 1 "$WORK/d100k" 2>"$WORK/plans.err") || true
[ -n "$BIG" ] || bench_die "herald_plans (100,000) failed: $(tail -3 "$WORK/plans.err")"
echo "route: 100,000 domains: $BIG" >&2

# med FIELD - median of a field of the runs; ratio A B - median of per-run field A / field B
med() { awk -v f="$1" '{ print $f }' "$WORK/runs" | bench_median "${2:-%.0f}"; }
ratio() { awk -v a="$1" -v b="$2" '{ print $a / $b }' "$WORK/runs" | bench_median %.2f; }

SECTION=$WORK/section.md
{
  echo "<!-- mode:route -->"
  echo "## Route (issue 11): planning 10,000 distinct domains, cold and warm"
  echo
  bench_machine
  echo "* Medians of $REPEATS repeats (each: anchor, then the CLI, then herald_plans), every run listed"
  echo "* Herald: commit $COMMIT, CFLAGS=-O2, no sanitizers"
  echo "* Reproduce: \`bench/run.sh route${ARGS:+ $ARGS}\` (bench/route.sh)"
  echo "* dnsmasq on loopback: host-record d0..d99999.rt.test = 127.0.0.1 with \`--localmx"
  echo "  --mx-target=mx.rt.test --local-ttl=300\` (every domain: MX 1 mx.rt.test, TTL 300)."
  echo "* Anchor: \`dnsperf -s 127.0.0.1 -p PORT -d q10k -n 1 -q 100\` (the 10,000 MX queries, 100 in"
  echo "  flight: dnsmasq's own answer rate, measured in the same repeat). Herald's DNS defaults"
  echo "  (dns.max_inflight 100); device \"mx\": strategy mx, trace off."
  echo "* cli: \`herald -c route.conf route -d mx --batch d10k\` (a new process: cold), whole-process"
  echo "  wall time and CPU (GNU time), 10,000 JSON lines out. plans: \`herald_plans -c route.conf -d mx"
  echo "  -w 10 d10k\` (herald_route_submit, 1,000 at once): cold, then 10 warm passes, own clocks."
  echo "  Goals: cold >= 0.5x the anchor, warm >= 100,000 plans/s."
  echo
  echo "| what | plans/s (median) | **ratio to anchor** | CPU s | errors |"
  echo "| --- | --- | --- | --- | --- |"
  echo "| anchor: dnsperf, MX answers/s (lost: $(med 2)) | $(med 1) | 1 | | |"
  echo "| herald route --batch, cold, whole process | $(med 3) | **$(ratio 3 1)** | $(med 4 %.2f) | $(med 5) |"
  echo "| herald_plans, cold | $(med 6) | **$(ratio 6 1)** | $(med 7 %.2f) | $(med 8) |"
  echo "| herald_plans, warm (100,000 plans) | **$(med 9)** | $(ratio 9 1) | $(med 10 %.2f) | $(med 11) |"
  echo
  echo "Every repeat (anchor q/s, anchor lost, cli plans/s, cli CPU s, cli error lines, cold plans/s,"
  echo "cold CPU s, cold errors, warm plans/s, warm CPU s, warm errors):"
  echo
  echo '```'
  cat "$WORK/runs"
  echo '```'
  echo
  echo "100,000 domains, once: \`herald_plans -c route.conf -d mx -w 1 d100k\`: cold"
  echo "$(kv "$BIG" cold_per_s) plans/s ($(kv "$BIG" cold_cpu_s) CPU s, $(kv "$BIG" cold_errors) errors), warm"
  echo "$(kv "$BIG" warm_per_s) plans/s; **peak RSS $(awk -v k="$(kv "$BIG" maxrss_kb)" 'BEGIN { printf "%.1f", k / 1024 }') MiB**"
  echo "with every domain's MX answer and plan cached (goal < 64 MiB)."
  echo "<!-- /mode:route -->"
} >"$SECTION"
bench_section route "$SECTION"
