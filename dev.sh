#!/bin/bash
# dev.sh - set up, build, demonstrate and test Herald on a fresh Debian 12 machine
#
#   ./dev.sh demo   install the Debian packages, build in _build/, run the demo
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
  libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl)

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
  missing=$(missing_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" postfix)
  if [ -z "$missing" ]; then
    say "Debian packages: all installed"
    return 0
  fi
  say "installing: ${missing//$'\n'/ }"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y \
    "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
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

# run_demo - Herald's main job on an embedded device file: send one message
# through a file device into a temporary folder, with the trace on stderr.
# (To be replaced by the MX walk against dnsmasq and SMTP servers on loopback.)
run_demo() {
  local build=$1 dir conf rc=0
  dir=$(mktemp -d "${TMPDIR:-/tmp}/herald-demo.XXXXXX")
  chmod 0700 "$dir"
  conf=$dir/herald.conf
  cat >"$conf" <<CONF
# The demo's device file: one file device writing into a temporary folder.
devices = (
  { name = "reports"; driver = "file"; path = "$dir/reports"; create = true; }
);
CONF
  export HERALD_PLUGIN_PATH="$build/devices/.libs:$build/plugins/.libs"
  say "device file $conf:"
  cat "$conf"
  say "herald check"
  "$build/cli/herald" -c "$conf" check
  say "herald devices"
  "$build/cli/herald" -c "$conf" devices
  say "herald send --trace - (trace on stderr, result on stdout)"
  printf 'From: demo@herald.test\nTo: reports@herald.test\nSubject: Herald demo\n\nHello from Herald.\n' |
    "$build/cli/herald" -c "$conf" send --trace - -f demo@herald.test -t reports@herald.test ||
    rc=$?
  say "files in $dir/reports:"
  ls -l "$dir/reports" || true
  for f in "$dir"/reports/*; do
    [ -f "$f" ] || continue
    say "$f:"
    cat "$f"
  done
  rm -rf "$dir"
  [ "$rc" -eq 0 ] || die "demo: herald send exited $rc"
  say "demo done"
}

# suite_counts LOG - "PASSED FAILED" from an automake test-suite.log header
suite_counts() {
  awk '/^# PASS:/ { p = $3 } /^# (FAIL|ERROR|XPASS):/ { f += $3 }
       END { printf "%d %d\n", p, f }' "$1"
}

# cmd_demo - packages, build, demo
cmd_demo() {
  install_packages
  autogen
  configure_build "$BUILD_ROOT" --enable-werror
  run_demo "$BUILD_ROOT"
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
