#!/bin/bash
# dev.sh - set up, build, demonstrate and test Herald on a fresh Debian 12 machine
#
#   ./dev.sh demo   install the Debian packages, build in _build/demo, run the demo
#   ./dev.sh test   install the Debian packages, build with sanitizers in
#                   _build/san and run "make check", then "make distcheck" from
#                   a plain build in _build/dist; exits non-zero on any failure
#
# Installing packages needs root: run as root, or with sudo available.
# HERALD_BUILD_ROOT moves the build folders (default: _build in the tree).
set -euo pipefail

cd "$(dirname "$0")"
TOP=$PWD
BUILD_ROOT=${HERALD_BUILD_ROOT:-$TOP/_build}
JOBS=$(nproc 2>/dev/null || echo 2)

# The build needs these; the tests need the second list (TESTING.md section 0).
BUILD_PACKAGES=(build-essential autoconf automake libtool pkg-config
  libconfig-dev libc-ares-dev libmbedtls-dev libcunit1-dev)
TEST_PACKAGES=(dnsmasq-base bind9-dnsutils python3-aiosmtpd openssl swaks
  libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl groff-base man-db)
# bench/ (bench/run.sh cpu, route) needs these too; installed with the others.
BENCH_PACKAGES=(time dnsperf)

say() { printf 'dev.sh: %s\n' "$*"; }
die() { printf 'dev.sh: %s\n' "$*" >&2; exit 1; }

# as_root - run a command as root: directly, else through sudo
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "installing packages needs root: run as root or install sudo"
  fi
}

# missing_packages - the named packages dpkg does not list as installed
missing_packages() {
  local p
  for p in "$@"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
      printf '%s\n' "$p"
    fi
  done
}

# install_packages - the Debian packages for building and testing (skipped
# when every one is installed already, so a second run needs no network)
install_packages() {
  local missing
  command -v dpkg-query >/dev/null 2>&1 || die "this script needs Debian (dpkg-query not found)"
  missing=$(missing_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${BENCH_PACKAGES[@]}" \
    postfix)
  if [ -z "$missing" ]; then
    say "Debian packages: all installed"
    return 0
  fi
  say "installing: ${missing//$'\n'/ }"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y \
    "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${BENCH_PACKAGES[@]}"
  # postfix only for /usr/sbin/smtp-sink and smtp-source: "No configuration",
  # so no mail system is set up and nothing listens on port 25.
  echo "postfix postfix/main_mailer_type select No configuration" |
    as_root debconf-set-selections
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix
}

# autogen - generate configure and the Makefile.in files
autogen() {
  say "autogen"
  ./autogen.sh
}

# configure_build DIR [CONFIGURE ARGS] - a VPATH build of the tree in DIR
configure_build() {
  local dir=$1
  shift
  mkdir -p "$dir"
  say "configure in $dir: $*"
  (cd "$dir" && "$TOP/configure" "$@")
  say "make in $dir"
  make -C "$dir" -j"$JOBS"
}

# free_port IP - a port on IP that nothing holds right now, for TCP and UDP
free_port() {
  /usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 0))
t = socket.socket(); t.bind((sys.argv[1], s.getsockname()[1])); print(s.getsockname()[1])' "$1"
}

# The EXIT trap outlives run_demo's locals: what it cleans up is global.
DEMO_DIR=
DEMO_PIDS=()
# shellcheck disable=SC2317  # called by the trap
demo_cleanup() {
  local p
  for p in "${DEMO_PIDS[@]+"${DEMO_PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
  for p in "${DEMO_PIDS[@]+"${DEMO_PIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$DEMO_DIR" ]; then rm -rf "$DEMO_DIR"; fi
}

# run_demo - Herald's main job on an embedded default: a real MX walk.
# dnsmasq on loopback serves demo.test with two MX records: mx1 (preference
# 10, 127.0.0.2) has no server, mx2 (preference 20, 127.0.0.3) runs an SMTP
# capture server.  Herald asks DNS, tries mx1, is refused, moves on to mx2 and
# delivers; the trace on stderr shows every step.  Everything started here is
# stopped on the way out.
run_demo() {
  local build=$1 dir conf dns_port smtp_port smtp_fd line rc=0
  dir=$(mktemp -d "${TMPDIR:-/tmp}/herald-demo.XXXXXX")
  DEMO_DIR=$dir
  trap demo_cleanup EXIT
  chmod 0700 "$dir"
  mkdir "$dir/received"

  dns_port=$(free_port 127.0.0.1)
  say "starting dnsmasq on 127.0.0.1:$dns_port (demo.test: MX 10 mx1 -> 127.0.0.2, MX 20 mx2 -> 127.0.0.3)"
  dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --pid-file= \
    --port="$dns_port" --listen-address=127.0.0.1 --bind-interfaces --local=/test/ \
    --mx-host=demo.test,mx1.demo.test,10 --mx-host=demo.test,mx2.demo.test,20 \
    --host-record=mx1.demo.test,127.0.0.2 --host-record=mx2.demo.test,127.0.0.3 \
    --log-facility="$dir/dnsmasq.log" &
  DEMO_PIDS+=($!)
  local i ok=no
  for i in $(seq 1 20); do   # bounded: 20 queries of at most 1 s each
    if dig +short +time=1 +tries=1 @127.0.0.1 -p "$dns_port" demo.test MX 2>/dev/null | grep -q mx2; then
      ok=yes
      break
    fi
  done
  [ "$ok" = yes ] || die "demo: dnsmasq did not answer on port $dns_port (tried $i times)"

  smtp_port=$(free_port 127.0.0.3)
  mkdir -m 0700 "$dir/spool"
  conf=$dir/herald.conf
  cat >"$conf" <<CONF
# The demo's device file: an email device walking the MX records of the
# recipient's domain, asking the demo's DNS server instead of resolv.conf.
herald: {
  dns: { servers = [ "127.0.0.1:$dns_port" ]; timeout_ms = 2000; tries = 2; };
  queue: { module = "spool"; path = "$dir/spool"; min_backoff_s = 1; max_backoff_s = 60; };
};
devices = (
  { name = "email"; driver = "email";
    route: { strategy = "mx"; port = $smtp_port; };
    transport: { name = "smtp"; helo_name = "demo.herald.test"; connect_timeout_ms = 5000; }; }
);
CONF
  export HERALD_PLUGIN_PATH="$build/devices/.libs:$build/plugins/.libs"
  say "device file $conf:"
  cat "$conf"
  say "herald check"
  "$build/cli/herald" -c "$conf" check
  say "herald route demo.test (the plan, no mail sent)"
  "$build/cli/herald" -c "$conf" route -d email demo.test

  say "the durable queue: no SMTP server is up yet, on mx1 or mx2"
  local qid
  qid=$(printf 'From: demo@herald.test\nTo: bob@demo.test\nSubject: Herald queue demo\n\nQueued while every MX was down.\n' |
    "$build/cli/herald" -c "$conf" send --queue -d email -f demo@herald.test -t bob@demo.test) ||
    die "demo: herald send --queue failed"
  say "herald send --queue: $qid"
  qid=${qid#queued: }
  say "herald queue run --once --trace - (both MX refuse: the message is deferred and stays queued)"
  "$build/cli/herald" -c "$conf" queue run --once --trace - 2>&1 | grep -E 'queue:|refused' || true
  say "herald queue list"
  "$build/cli/herald" -c "$conf" queue list

  say "the MX comes up: starting an SMTP capture server (aiosmtpd) on 127.0.0.3:$smtp_port; nothing listens on 127.0.0.2"
  exec {smtp_fd}< <(exec /usr/bin/python3 "$TOP/tests/servers/capture_smtpd.py" 127.0.0.3 "$smtp_port" "$dir/received")
  DEMO_PIDS+=($!)
  read -r -t 20 -u "$smtp_fd" line || true
  [ "$line" = READY ] || die "demo: the SMTP capture server did not start (said: '$line')"

  say "herald send --trace - (trace on stderr, result on stdout)"
  printf 'From: demo@herald.test\nTo: alice@demo.test\nSubject: Herald demo\n\nHello from Herald.\n.A line that starts with a dot.\n' |
    "$build/cli/herald" -c "$conf" send -d email --trace - -f demo@herald.test -t alice@demo.test ||
    rc=$?
  for line in "$dir"/received/*.eml; do
    [ -f "$line" ] || continue
    say "the capture server on mx2 received $line:"
    cat "$line"
  done
  [ "$rc" -eq 0 ] || die "demo: herald send exited $rc"

  say "herald queue flush $qid (due now, not after its backoff); herald queue run --once --trace -"
  "$build/cli/herald" -c "$conf" queue flush "$qid"
  "$build/cli/herald" -c "$conf" queue run --once --trace - 2>&1 | grep -E 'queue:|S: 250 2|connected' ||
    true
  [ -e "$dir/spool/q/$qid" ] && die "demo: the queued message $qid was not delivered"
  grep -l "Herald queue demo" "$dir"/received/*.eml >/dev/null ||
    die "demo: mx2 did not receive the queued message"
  say "demo done: mx1 refused the connection, mx2 took the message; the message queued while"
  say "both MX were down was deferred, then delivered by herald queue run --once"
}

# suite_counts LOG - "PASSED FAILED" from an automake test-suite.log header
suite_counts() {
  awk '/^# PASS:/ { p = $3 } /^# (FAIL|ERROR|XPASS):/ { f += $3 }
       END { printf "%d %d\n", p, f }' "$1"
}

# show_failed_logs DIR... - the end of each failed test's own log under DIR:
# CI keeps only the tail of what we print, and "1 failed" without the
# reason is no use to anyone
show_failed_logs() {
  local trs
  while IFS= read -r trs; do
    say "---- ${trs%.trs}.log ($(sed -n 's/^:test-result: //p' "$trs")), last 60 lines:"
    tail -n 60 "${trs%.trs}.log" 2>/dev/null || true
  done < <(grep -l -E '^:test-result: (FAIL|ERROR|XPASS)' -r --include='*.trs' "$@" 2>/dev/null)
}

# cmd_demo - packages, build, demo
cmd_demo() {
  install_packages
  autogen
  configure_build "$BUILD_ROOT/demo" --enable-werror
  run_demo "$BUILD_ROOT/demo"
}

# cmd_test - packages, sanitizer build + make check, plain build + make distcheck
cmd_test() {
  local san=$BUILD_ROOT/san dist=$BUILD_ROOT/dist rc=0 counts passed failed
  install_packages
  autogen
  CFLAGS='-O1 -g' configure_build "$san" --enable-werror --enable-sanitizers
  say "make check in $san"
  make -C "$san" check VERBOSE=1 || rc=$?
  if [ -f "$san/test-suite.log" ]; then
    counts=$(suite_counts "$san/test-suite.log")
  else
    counts="0 1"
  fi
  if [ "$rc" -eq 0 ]; then
    configure_build "$dist" --enable-werror
    say "make distcheck in $dist"
    make -C "$dist" distcheck || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then
    show_failed_logs "$san" "$dist"
  fi
  passed=${counts% *}
  failed=${counts#* }
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1   # the build or distcheck failed: never report a clean run
  fi
  say "$passed passed, $failed failed"
  [ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
}

case ${1:-} in
  demo) cmd_demo ;;
  test) cmd_test ;;
  *)
    echo "usage: $0 demo|test" >&2
    exit 64
    ;;
esac
