#!/bin/bash
# email_ipv6.sh - a hop's addresses are tried in turn, IPv4 and IPv6 alike,
# in the order the route's "family" option gives (issue 4).
#
# v6.test MX 10 mx.v6.test, which has A $NET.2 (nothing listens there) and
# AAAA ::1 (capture_smtpd.py on [::1]:$PORT6).
#   family = "prefer-ipv4": $NET.2 refused, then ::1 delivers (peer [::1])
#   family = "prefer-ipv6": ::1 delivers at once, $NET.2 never tried
#   family = "ipv4":        only $NET.2, refused: deferred, exit 75
# Needs IPv6 on loopback; a machine without ::1 is a hard error, not a skip.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"
herald_test_init

NET=127.77.16
OUT=$T_DIR/out ERR=$T_DIR/err TRACE=$T_DIR/trace.log CONF=$T_DIR/herald.conf

PORT6=$(free_port ::1 tcp) || hard_error "no IPv6 loopback (::1) on this machine"
# The name must resolve before any check runs (bounded: 10 s).
start_dnsmasq mx.v6.test 28 --log-facility=/dev/null --local=/test/ \
  --mx-host=v6.test,mx.v6.test,10 --host-record=mx.v6.test,"$NET.2",::1

mkdir "$T_DIR/cap"
start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/capture_smtpd.py" ::1 "$PORT6" "$T_DIR/cap" \
  >/dev/null 2>"$T_DIR/cap.err" </dev/null
wait_for_port ::1 "$PORT6" 15 || hard_error "capture_smtpd.py did not start on [::1]:$PORT6"

# conf FAMILY - $CONF: device "email", strategy mx on $PORT6 with FAMILY
conf() {
  cat >"$CONF" <<CONF
herald: { dns: { servers = [ "127.0.0.1:$DNS_PORT" ]; timeout_ms = 1000; tries = 1; }; };
devices = (
  { name = "email"; driver = "email";
    route: { strategy = "mx"; port = $PORT6; family = "$1"; };
    transport: { name = "smtp"; helo_name = "herald.test"; tls = "none";
                 connect_timeout_ms = 2000; greeting_timeout_ms = 2000; }; }
);
CONF
}

# send - one message to b@v6.test; $RC, $OUT (JSON), $ERR, $TRACE
send() {
  rm -f "$TRACE"
  printf 'Subject: ipv6\n\nhello over IPv6\n' >"$T_DIR/msg"
  run_herald "$OUT" "$ERR" -c "$CONF" send -d email --json --trace "$TRACE" \
    -f a@herald.test -t b@v6.test "$T_DIR/msg"
  cat "$ERR" >>"$T_DIR/all.err"
}

# trace_order - the addresses Herald tried, in order, one line
trace_order() {
  grep -oE 'smtp: connecting to [^ ]+' "$TRACE" | sed 's/smtp: connecting to //' | tr '\n' ' '
}

conf prefer-ipv4
send
expect_rc "prefer-ipv4" 0 "$ERR"
expect_grep "prefer-ipv4: delivered" "$OUT" '"status":"delivered"'
expect_grep "prefer-ipv4: peer is ::1" "$OUT" "\"peer\":\"[::1]:$PORT6\""
order=$(trace_order)
if [ "$order" = "$NET.2:$PORT6 [::1]:$PORT6 " ]; then pass "prefer-ipv4: tried $order"
else fail "prefer-ipv4: tried '$order', want '$NET.2:$PORT6 [::1]:$PORT6 '"; sed 's/^/  | /' "$TRACE" >&2; fi
if [ -f "$T_DIR/cap/1.json" ] && grep -qF '"::1"' "$T_DIR/cap/1.json"; then
  pass "the server got the message from ::1"
else
  fail "no message from ::1 at the server"
fi

conf prefer-ipv6
send
expect_rc "prefer-ipv6" 0 "$ERR"
order=$(trace_order)
if [ "$order" = "[::1]:$PORT6 " ]; then pass "prefer-ipv6: tried $order only"
else fail "prefer-ipv6: tried '$order', want '[::1]:$PORT6 '"; sed 's/^/  | /' "$TRACE" >&2; fi

conf ipv4
send
expect_rc "ipv4 only: the one address refuses" 75 "$ERR"
expect_grep "ipv4 only: deferred" "$OUT" '"status":"deferred"'
order=$(trace_order)
if [ "$order" = "$NET.2:$PORT6 " ]; then pass "ipv4: tried $order only"
else fail "ipv4: tried '$order', want '$NET.2:$PORT6 '"; sed 's/^/  | /' "$TRACE" >&2; fi
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T_DIR/all.err"; then
  fail "sanitizer report"; sed 's/^/  | /' "$T_DIR/all.err" >&2
else pass "no sanitizer report"; fi

herald_test_done
