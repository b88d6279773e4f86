#!/bin/bash
# smtp_tls_send.sh - "herald send" through the smtp transport to a smart host
# on loopback with STARTTLS and AUTH (aiosmtpd, test PKI made here):
# delivered over TLS with AUTH from a password file, the password never in
# the trace or the output; a password file of mode 0644 refused with
# "chmod 600"; tls = required against a server without STARTTLS defers and
# sends no MAIL; conf/smarthost-tls.conf passes "herald check" (with its
# password file replaced by a real one).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"
herald_test_init

OUT=$T_DIR/out
ERR=$T_DIR/err
TRACE=$T_DIR/trace.log
PORT=$((20000 + $$ % 10000))
IP=127.0.2.40
IP_CLEAR=127.0.2.41
mkdir "$T_DIR/pki" "$T_DIR/cap" "$T_DIR/cap-clear"
sh "$HERALD_SRC_DIR/tests/lib/make_certs.sh" "$T_DIR/pki" || hard_error "make_certs.sh failed"

start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/capture_smtpd.py" "$IP" "$PORT" \
  "$T_DIR/cap" "$T_DIR/pki/server.pem" "$T_DIR/pki/server.key" >/dev/null
start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/fault_smtpd.py" "$IP_CLEAR" "$PORT" \
  --mode ok --record "$T_DIR/clear.rec" >/dev/null
wait_for_port "$IP" "$PORT" 15 || hard_error "capture_smtpd.py did not start"
wait_for_port "$IP_CLEAR" "$PORT" 15 || hard_error "fault_smtpd.py did not start"

printf 'pass\n' >"$T_DIR/relay.secret"
chmod 600 "$T_DIR/relay.secret"
CONF=$T_DIR/herald.conf
cat >"$CONF" <<CONF
devices = (
  { name = "relay"; driver = "email";
    route: { strategy = "smarthost"; smarthost = [ "[$IP]:$PORT" ]; };
    transport: { name = "smtp"; helo_name = "client.herald.test"; tls = "required";
                 connect_timeout_ms = 3000; greeting_timeout_ms = 5000;
                 auth: { user = "user"; password_file = "$T_DIR/relay.secret";
                         require_tls = "encrypted"; }; }; },
  { name = "inline"; driver = "email";
    route: { strategy = "smarthost"; smarthost = [ "[$IP]:$PORT" ]; };
    transport: { name = "smtp"; helo_name = "client.herald.test"; tls = "required";
                 auth: { user = "user"; password = "pass"; mechanisms = [ "LOGIN" ];
                         require_tls = "encrypted"; }; }; },
  { name = "clear"; driver = "email";
    route: { strategy = "smarthost"; smarthost = [ "[$IP_CLEAR]:$PORT" ]; };
    transport: { name = "smtp"; helo_name = "client.herald.test"; tls = "required";
                 connect_timeout_ms = 3000; greeting_timeout_ms = 5000; }; }
);
CONF
printf 'Subject: tls\n\nover TLS with AUTH\n' >"$T_DIR/msg"
chmod 600 "$CONF"   # it holds a password: the core refuses it otherwise

run_herald "$OUT" "$ERR" -c "$CONF" send -d relay --trace "$TRACE" -f a@herald.test \
  -t b@herald.test "$T_DIR/msg"
expect_rc "send over STARTTLS with AUTH" 0 "$ERR"
expect_grep "send over STARTTLS with AUTH" "$OUT" "b@herald.test: delivered"
expect_grep "server saw TLS" "$T_DIR/cap/1.json" '"tls": true'
expect_grep "server saw AUTH" "$T_DIR/cap/1.json" '"auth": "user"'
expect_grep "trace: TLS" "$TRACE" "TLS established: TLSv1.2"
expect_grep "trace: AUTH redacted" "$TRACE" "C: AUTH PLAIN <redacted>"
if grep -qwF pass "$TRACE" "$OUT" "$ERR" || grep -qF -e cGFzcw -e AHVzZXIAcGFzcw "$TRACE" "$OUT" "$ERR"; then
  fail "the password or its base64 reached the trace or the output"
else
  pass "the password is in neither trace nor output"
fi

# The password in the device file itself (a SECRET option), AUTH LOGIN.
run_herald "$OUT" "$ERR" -c "$CONF" send -d inline --trace "$TRACE.2" -f a@herald.test \
  -t b@herald.test "$T_DIR/msg"
expect_rc "send with the password in the device file" 0 "$ERR"
expect_grep "server saw AUTH (inline)" "$T_DIR/cap/2.json" '"auth": "user"'
expect_grep "trace: AUTH LOGIN" "$TRACE.2" "C: AUTH LOGIN"
if grep -qwF pass "$TRACE.2" "$OUT" "$ERR" || grep -qF cGFzcw "$TRACE.2" "$OUT" "$ERR"; then
  fail "inline password: the password or its base64 reached the trace or the output"
else
  pass "inline password: in neither trace nor output"
fi

chmod 644 "$T_DIR/relay.secret"
run_herald "$OUT" "$ERR" -c "$CONF" send -d relay -f a@herald.test -t b@herald.test "$T_DIR/msg"
if [ "$RC" -ne 0 ]; then pass "0644 password file: exit $RC"; else fail "0644 password file accepted"; fi
expect_grep "0644 password file" "$ERR" "chmod 600"
expect_grep "0644 password file" "$ERR" "$T_DIR/relay.secret"
if [ ! -e "$T_DIR/cap/3.json" ]; then pass "0644 password file: nothing sent"
else fail "0644 password file: a message was sent"; fi
chmod 600 "$T_DIR/relay.secret"

run_herald "$OUT" "$ERR" -c "$CONF" send -d clear -f a@herald.test -t b@herald.test "$T_DIR/msg"
expect_rc "tls = required, no STARTTLS" 75 "$ERR"
expect_grep "tls = required, no STARTTLS" "$OUT" "deferred"
expect_grep "tls = required: the server saw EHLO" "$T_DIR/clear.rec" "EHLO"
if grep -q "MAIL" "$T_DIR/clear.rec"; then fail "MAIL sent in clear"; else pass "no MAIL in clear"; fi

# The example, with its password file pointing at ours (devices open on check).
sed "s|/etc/herald/relay.secret|$T_DIR/relay.secret|" "$HERALD_SRC_DIR/conf/smarthost-tls.conf" \
  >"$T_DIR/example.conf"
run_herald "$OUT" "$ERR" -c "$T_DIR/example.conf" check
expect_rc "herald check conf/smarthost-tls.conf" 0 "$ERR"

herald_test_done
