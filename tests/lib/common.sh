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

# free_port ADDR tcp|udp|both - a port the kernel hands out on ADDR (IPv4 or
# IPv6) right now; "both": free for UDP and for TCP (dnsmasq binds both)
free_port() {
  "$TEST_PYTHON" -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
kinds = {"udp": [socket.SOCK_DGRAM], "tcp": [socket.SOCK_STREAM],
         "both": [socket.SOCK_DGRAM, socket.SOCK_STREAM]}[sys.argv[2]]
for _ in range(50):
    held = [socket.socket(fam, kinds[0])]
    held[0].bind((sys.argv[1], 0))
    port = held[0].getsockname()[1]
    try:
        for kind in kinds[1:]:
            held.append(socket.socket(fam, kind))
            held[-1].bind((sys.argv[1], port))
    except OSError:
        continue
    print(port)
    sys.exit(0)
sys.exit("free_port: no port free for " + sys.argv[2])' "$1" "$2"
}

# wait_dns PORT NAME TYPE [PID] - poll until the DNS server on 127.0.0.1:PORT
# gives at least one answer record of TYPE (a number: 1 A, 15 MX, 28 AAAA) for
# NAME, every 200 ms, for at most 10 s; with PID, give up as soon as that
# process has exited.  Returns 1 on timeout or exit.
wait_dns() {
  "$TEST_PYTHON" - "$@" <<'PY'
import socket, struct, sys, time
port, name, qtype = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
pid = int(sys.argv[4]) if len(sys.argv) > 4 else 0

def gone(pid):
    # Our parent has not reaped it yet: an exited child is a zombie ("Z").
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True

q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p for p in name.encode().split(b".")) + b"\0"
q += struct.pack(">HH", qtype, 1)
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    if pid and gone(pid):
        sys.exit(1)
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

# start_dnsmasq NAME TYPE ARG... - dnsmasq on 127.0.0.1 with ARG..., on a port
# free for UDP and TCP (left in $DNS_PORT), ready once it answers a TYPE query
# for NAME (see wait_dns).  Its stderr goes to $T_DIR/dnsmasq.err.  A port
# free when we look can be taken before dnsmasq binds it: make check runs
# tests side by side, and every TCP client takes its local port from the same
# range.  So a bind refused with "Address already in use" is tried again on
# a new port, 5 times at most; any other failure is a hard error at once.
start_dnsmasq() {
  local name=$1 type=$2 try pid
  shift 2
  DNSMASQ=${DNSMASQ:-dnsmasq}
  command -v "$DNSMASQ" >/dev/null || DNSMASQ=/usr/sbin/dnsmasq
  [ -x "$(command -v "$DNSMASQ")" ] || hard_error "dnsmasq not found"
  for try in 1 2 3 4 5; do
    DNS_PORT=$(free_port 127.0.0.1 both) || hard_error "no port free for UDP and TCP"
    start_bg "$DNSMASQ" -k --conf-file=/dev/null --no-resolv --no-hosts --pid-file= \
      --port="$DNS_PORT" --listen-address=127.0.0.1 --bind-interfaces "$@" \
      2>"$T_DIR/dnsmasq.err" </dev/null
    pid=$!
    wait_dns "$DNS_PORT" "$name" "$type" "$pid" && return 0
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    grep -q "Address already in use" "$T_DIR/dnsmasq.err" || break
    echo "start_dnsmasq: port $DNS_PORT was taken before dnsmasq bound it (try $try of 5)" >&2
  done
  cat "$T_DIR/dnsmasq.err" >&2
  hard_error "dnsmasq did not answer for $name on 127.0.0.1:$DNS_PORT"
}

# start_bg CMD... - start CMD in the background, remember it for cleanup
start_bg() {
  "$@" &
  T_PIDS+=("$!")
}
