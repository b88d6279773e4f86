# shellcheck shell=bash
# email_env.sh - shared setup for the email end-to-end tests (sourced, not run)
#
# A script does:
#   . "$HERALD_SRC_DIR/tests/lib/email_env.sh"
#   email_env_init 3            # block 3: addresses 127.77.3.x (unique per script)
#   email_start_sink mx2        # a server on $MX2_IP:$SMTP_PORT
#   email_conf mx-then-smarthost
#   email_send OUT ERR TRACE -t b@demo.test ...
#
# The crafted zone (dnsmasq on 127.0.0.1, a free per-test port):
#   demo.test   MX 10 mx1.demo.test ($MX1_IP), MX 20 mx2.demo.test ($MX2_IP)
#   twin.test   MX 10 mx1.demo.test            (same host as demo.test's first MX)
#   null.test   MX 0 "."  (RFC 7505) and A $MX1_IP (where a wrong client would go)
# The smart host is $SH_IP:$SMTP_PORT.  Every MX uses the same $SMTP_PORT
# (the route's "port" option).  Each script takes its own address block, so
# scripts run in parallel (make check -j) never share a listener.
#
# A server that cannot start is a hard error (exit 99); nothing is skipped.

# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"

# email_env_init BLOCK [DNSMASQ_ARGS...] - temp dir, addresses, the DNS server
# (the zone above, plus any records a script adds); exports the names
email_env_init() {
  local block=$1
  shift
  herald_test_init
  NET=127.77.$block
  MX1_IP=$NET.2
  MX2_IP=$NET.3
  SH_IP=$NET.9
  SMTP_PORT=$(free_port "$NET.1" tcp) || hard_error "no free TCP port"
  OUT=$T_DIR/out
  ERR=$T_DIR/err
  TRACE=$T_DIR/trace.log
  CONF=$T_DIR/herald.conf

  SMTP_SINK=${SMTP_SINK:-/usr/sbin/smtp-sink}
  start_dnsmasq demo.test 15 --log-facility=/dev/null --local=/test/ \
    --mx-host=demo.test,mx1.demo.test,10 --mx-host=demo.test,mx2.demo.test,20 \
    --host-record=mx1.demo.test,"$MX1_IP" --host-record=mx2.demo.test,"$MX2_IP" \
    --mx-host=twin.test,mx1.demo.test,10 \
    --mx-host=null.test,.,0 --host-record=null.test,"$MX1_IP" "$@"
}

# email_start_fault NAME IP MODE - fault_smtpd.py on IP:$SMTP_PORT, records in $T_DIR/NAME.rec
email_start_fault() {
  local name=$1 ip=$2 mode=$3
  start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/fault_smtpd.py" "$ip" "$SMTP_PORT" \
    --mode "$mode" --record "$T_DIR/$name.rec" >/dev/null </dev/null
  wait_for_port "$ip" "$SMTP_PORT" 15 || hard_error "fault_smtpd.py ($mode) did not start on $ip"
}

# email_start_capture NAME IP [ARGS...] - capture_smtpd.py on IP:$SMTP_PORT, messages in
# $T_DIR/NAME/, commands in $T_DIR/NAME.rec; ARGS: CERT KEY, --rcpt-limit N ...
email_start_capture() {
  local name=$1 ip=$2
  shift 2
  mkdir -p "$T_DIR/$name"
  start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/capture_smtpd.py" "$ip" "$SMTP_PORT" \
    "$T_DIR/$name" --record "$T_DIR/$name.rec" "$@" >/dev/null 2>"$T_DIR/$name.err" </dev/null
  wait_for_port "$ip" "$SMTP_PORT" 15 || hard_error "capture_smtpd.py did not start on $ip"
}

# email_start_sink IP [OPTS...] - smtp-sink on IP:$SMTP_PORT
email_start_sink() {
  local ip=$1
  shift
  [ -x "$SMTP_SINK" ] || hard_error "smtp-sink not found at $SMTP_SINK"
  start_bg "$SMTP_SINK" -u nobody "$@" "$ip:$SMTP_PORT" 10 >/dev/null 2>&1 </dev/null
  wait_for_port "$ip" "$SMTP_PORT" 15 || hard_error "smtp-sink did not start on $ip"
}

# email_conf STRATEGY [TRANSPORT_OPTIONS] - write $CONF: one device "email"
# routed by STRATEGY (mx, mx-then-smarthost, smarthost), smart host $SH_IP
email_conf() {
  local strategy=$1 extra=${2:-} sh=""
  if [ "$strategy" != mx ]; then
    sh="smarthost = [ \"[$SH_IP]:$SMTP_PORT\" ];"
  fi
  cat >"$CONF" <<CONF
herald: { dns: { servers = [ "127.0.0.1:$DNS_PORT" ]; timeout_ms = 1000; tries = 1; }; };
devices = (
  { name = "email"; driver = "email";
    route: { strategy = "$strategy"; $sh port = $SMTP_PORT; };
    transport: { name = "smtp"; helo_name = "herald.test";
                 connect_timeout_ms = 2000; greeting_timeout_ms = 2000; $extra }; }
);
CONF
}

# email_smarthost_device NAME HOST:PORT [TRANSPORT_OPTIONS] - one device block
# for email_conf_devices: strategy smarthost to HOST:PORT, helo_name
# herald.test, 2 s connect and greeting timeouts, then TRANSPORT_OPTIONS
email_smarthost_device() {
  cat <<DEV
  { name = "$1"; driver = "email"; route: { strategy = "smarthost"; smarthost = [ "$2" ]; };
    transport: { name = "smtp"; helo_name = "herald.test"; connect_timeout_ms = 2000;
                 greeting_timeout_ms = 2000; ${3:-} }; }
DEV
}

# email_conf_devices BLOCK... - write $CONF: the test's DNS server and one
# device per BLOCK (as email_smarthost_device prints them), in that order
email_conf_devices() {
  local sep="" block
  {
    echo "herald: { dns: { servers = [ \"127.0.0.1:$DNS_PORT\" ]; timeout_ms = 1000; tries = 1; }; };"
    echo "devices = ("
    for block in "$@"; do
      printf '%s%s\n' "$sep" "$block"
      sep=","
    done
    echo ");"
  } >"$CONF"
}

# email_send_via DEVICE ARGS... - email_send through DEVICE instead of "email"
email_send_via() {
  local dev=$1
  shift
  rm -f "$TRACE"
  run_herald "$OUT" "$ERR" -c "$CONF" send -d "$dev" --json --trace "$TRACE" -f a@herald.test "$@"
}

# email_send ARGS... - herald send -d email --json --trace $TRACE -f a@herald.test ARGS
# with a fresh $TRACE (bounded by run_herald's timeout); $RC, $OUT, $ERR as run_herald sets them
email_send() {
  email_send_via email "$@"
}

# json_field ADDRESS FIELD - one recipient's field from the --json output in $OUT
json_field() {
  "$TEST_PYTHON" -c '
import json, sys
doc = json.load(open(sys.argv[1]))
for r in doc["recipients"]:
    if r["address"] == sys.argv[2]:
        v = r.get(sys.argv[3])
        print("null" if v is None else v)
        sys.exit(0)
print("(no such recipient)")' "$OUT" "$1" "$2" 2>&1
}

# expect_json ADDRESS FIELD WANT - a recipient's JSON field equals WANT
expect_json() {
  local got
  got=$(json_field "$1" "$2")
  if [ "$got" = "$3" ]; then
    pass "json $1 $2 = $3"
  else
    fail "json $1 $2 = '$got', want '$3'"
    sed 's/^/  | /' "$OUT" >&2
  fi
}

# expect_json_has ADDRESS FIELD TEXT - a recipient's JSON field contains TEXT
expect_json_has() {
  local got
  got=$(json_field "$1" "$2")
  case $got in
    *"$3"*) pass "json $1 $2 has '$3'" ;;
    *) fail "json $1 $2 = '$got', lacks '$3'"; sed 's/^/  | /' "$OUT" >&2 ;;
  esac
}

# expect_no_grep NAME FILE PATTERN - FILE has no line with the fixed string PATTERN
expect_no_grep() {
  if [ -f "$2" ] && grep -qF -- "$3" "$2"; then
    fail "$1: unexpected '$3' in:"
    sed 's/^/  | /' "$2" >&2
  else
    pass "$1: no '$3'"
  fi
}

# expect_no_sanitizer NAME - herald's stderr has no ASan/UBSan report
expect_no_sanitizer() {
  if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$ERR"; then
    fail "$1: sanitizer report:"
    sed 's/^/  | /' "$ERR" >&2
  else
    pass "$1: no sanitizer report"
  fi
}
