# shellcheck shell=bash
# common.sh - helpers shared by Herald's shell tests (sourced, not run)
#
# A test script does:
#   #!/bin/bash
#   set -euo pipefail
#   . "${HERALD_SRC_DIR:?}/tests/lib/common.sh"
#   herald_test_init            # $T_DIR: a fresh temp dir, removed on exit
#   ...
#   herald_test_done            # prints the summary; exits 1 if a check failed
#
# Exit codes follow automake: 0 pass, 1 fail, 99 hard error (a tool or server
# that cannot start).  Nothing is ever skipped (77 is never used).

T_DIR=
T_FAILS=0
T_PASSES=0
T_PIDS=()

# herald_test_cleanup - stop the servers this test started, remove its temp dir
herald_test_cleanup() {
  local pid
  for pid in "${T_PIDS[@]+"${T_PIDS[@]}"}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$T_DIR" ] && [ -d "$T_DIR" ]; then
    chmod -R u+rwx "$T_DIR" 2>/dev/null || true
    rm -rf "$T_DIR"
  fi
}

# hard_error - the test could not even be set up: exit 99
hard_error() {
  echo "ERROR: $*" >&2
  exit 99
}

# herald_test_init - temp dir, cleanup trap, and $HERALD: the herald to test
herald_test_init() {
  T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/herald-test.XXXXXX") || hard_error "mktemp -d failed"
  # The loader refuses module folders writable by others; keep ours private.
  chmod 0700 "$T_DIR"
  trap herald_test_cleanup EXIT
  trap 'exit 130' INT TERM
  # $HERALD_BIN: an installed herald (installcheck); else the build tree's.
  if [ -n "${HERALD_BIN:-}" ]; then
    HERALD=$HERALD_BIN
  else
    HERALD=${HERALD_BUILD_DIR:?HERALD_BUILD_DIR is not set: run through make check}/cli/herald
  fi
  [ -x "$HERALD" ] || hard_error "no herald program at $HERALD"
  TEST_PYTHON=${TEST_PYTHON:-/usr/bin/python3}
  export HERALD TEST_PYTHON
  unset HERALD_CONF
}

# pass / fail - record one check's result; a failure does not stop the script
pass() {
  T_PASSES=$((T_PASSES + 1))
  echo "ok: $*"
}
fail() {
  T_FAILS=$((T_FAILS + 1))
  echo "FAIL: $*" >&2
}

# herald_test_done - summary line; exit 1 if any check failed
herald_test_done() {
  echo "$(basename "$0"): $T_PASSES passed, $T_FAILS failed"
  [ "$T_FAILS" -eq 0 ] || exit 1
  exit 0
}

# run_herald OUT ERR ARGS... - run herald; sets $RC, stdout in OUT, stderr in ERR.
# Bounded: a herald that hangs is killed after 60 s (timeout exits 124).
run_herald() {
  local out=$1 err=$2
  shift 2
  RC=0
  timeout 60 "$HERALD" "$@" >"$out" 2>"$err" || RC=$?
}

# expect_rc NAME WANT - compare $RC with WANT, showing stderr on a mismatch
expect_rc() {
  local name=$1 want=$2 err=${3:-}
  if [ "$RC" -eq "$want" ]; then
    pass "$name: exit $RC"
  else
    fail "$name: exit $RC, want $want"
    if [ -n "$err" ] && [ -f "$err" ]; then sed 's/^/  stderr: /' "$err" >&2; fi
  fi
}

# expect_grep NAME FILE PATTERN - FILE holds a line matching the fixed string PATTERN
expect_grep() {
  local name=$1 file=$2 pattern=$3
  if grep -qF -- "$pattern" "$file"; then
    pass "$name: has '$pattern'"
  else
    fail "$name: no '$pattern' in:"
    sed 's/^/  | /' "$file" >&2
  fi
}

# wait_for_port HOST PORT [SECONDS] - poll until a TCP connect to HOST:PORT
# succeeds, every 50 ms, for at most SECONDS (default 10).  Loopback only.
# Returns 1 on timeout.
wait_for_port() {
  local host=$1 port=$2 secs=${3:-10}
  case $host in
    127.*|::1) ;;
    *) hard_error "wait_for_port: $host is not a loopback address" ;;
  esac
  if ! "$TEST_PYTHON" - "$host" "$port" "$secs" <<'PY'; then
import socket, sys, time
host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + secs
while True:
    try:
        socket.create_connection((host, port), timeout=0.2).close()
        sys.exit(0)
    except OSError:
        if time.monotonic() >= deadline:
            sys.exit(1)
        time.sleep(0.05)
PY
    echo "wait_for_port: nothing listens on $host:$port after ${secs}s" >&2
    return 1
  fi
}

# free_port ADDR tcp|udp - a port the kernel hands out on ADDR (IPv4 or IPv6) right now
free_port() {
  "$TEST_PYTHON" -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
kind = socket.SOCK_DGRAM if sys.argv[2] == "udp" else socket.SOCK_STREAM
s = socket.socket(fam, kind)
s.bind((sys.argv[1], 0))
print(s.getsockname()[1])' "$1" "$2"
}

# wait_dns PORT NAME TYPE - poll until the DNS server on 127.0.0.1:PORT gives
# at least one answer record of TYPE (a number: 1 A, 15 MX, 28 AAAA) for NAME,
# every 200 ms, for at most 10 s.  Returns 1 on timeout.
wait_dns() {
  "$TEST_PYTHON" - "$@" <<'PY'
import socket, struct, sys, time
port, name, qtype = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p for p in name.encode().split(b".")) + b"\0"
q += struct.pack(">HH", qtype, 1)
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    try:
        s.sendto(q, ("127.0.0.1", port))
        data = s.recv(4096)
        if data[:2] == b"\x42\x42" and struct.unpack(">H", data[6:8])[0] >= 1:
            sys.exit(0)
    except OSError:
        pass
    finally:
        s.close()
sys.exit(1)
PY
}

# start_bg CMD... - start CMD in the background, remember it for cleanup
start_bg() {
  "$@" &
  T_PIDS+=("$!")
}
