#!/bin/bash
# email_auth_hops.sh - the relay's credentials go to its smart host only
# (issue 8 item 1).  aiosmtpd capture servers with STARTTLS and AUTH on
# loopback, test PKI made here:
#   - mx-then-smarthost with an auth group: the recipient's MX offers AUTH
#     after STARTTLS and sees none (trace: "no AUTH"), and takes the mail;
#   - an MX without TLS or AUTH takes the mail directly (no "no usable AUTH
#     mechanism", no detour through the smart host);
#   - the smart host authenticates over TLS verified for its name;
#   - a smart host whose certificate is not verified gets no AUTH (deferred,
#     the trace says why), unless auth.require_tls = "encrypted" says so;
#   - auth with tls = none and no require_tls = "none" is a config error;
#   - "herald check" (and "herald devices") say which hops authenticate and
#     over what, for each require_tls, and never show the password.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 41 --mx-host=auth.test,mx1.tls.test,10 --host-record=mx1.tls.test,127.77.41.2 \
  --mx-host=plain.test,mx2.demo.test,10 --host-record=smtp.tls.test,127.77.41.9

mkdir "$T_DIR/pki"
sh "$HERALD_SRC_DIR/tests/lib/make_certs.sh" "$T_DIR/pki" || hard_error "make_certs.sh failed"
PKI=$T_DIR/pki
email_start_capture mx1 "$MX1_IP" "$PKI/server.pem" "$PKI/server.key"
email_start_capture mx2 "$MX2_IP"
email_start_capture sh "$SH_IP" "$PKI/server.pem" "$PKI/server.key"

printf 'pass\n' >"$T_DIR/relay.secret"
chmod 600 "$T_DIR/relay.secret"
device() {   # device NAME STRATEGY CA_FILE [AUTH_OPTIONS]
  cat <<DEV
  { name = "$1"; driver = "email";
    route: { strategy = "$2"; smarthost = [ "smtp.tls.test:$SMTP_PORT" ]; port = $SMTP_PORT; };
    transport: { name = "smtp"; helo_name = "herald.test"; ca_file = "$3";
                 connect_timeout_ms = 2000; greeting_timeout_ms = 2000;
                 auth: { user = "user"; password_file = "$T_DIR/relay.secret"; ${4:-} }; }; }
DEV
}
{
  echo "herald: { dns: { servers = [ \"127.0.0.1:$DNS_PORT\" ]; timeout_ms = 1000; tries = 1; }; };"
  echo "devices = ("
  device email mx-then-smarthost "$PKI/ca.pem"; echo ","
  device relay smarthost "$PKI/ca.pem"; echo ","
  device untrusted smarthost "$PKI/other-ca.pem"; echo ","
  device encrypted smarthost "$PKI/other-ca.pem" 'require_tls = "encrypted";'
  echo ");"
} >"$CONF"
printf 'Subject: auth hops\n\nhello\n' >"$T_DIR/msg"

# "herald check" says which hops authenticate (the first line stays as it was).
run_herald "$OUT" "$ERR" -c "$CONF" check
expect_rc "check notes" 0 "$ERR"
if [ "$(head -n 1 "$OUT")" = "$CONF: OK, 4 devices" ]; then pass "check notes: first line"
else fail "check notes: first line is $(head -n 1 "$OUT")"; fi
expect_grep "check notes: mx-then-smarthost hops" "$OUT" \
  "  email: route \"mx-then-smarthost\": smart-host hops smtp.tls.test:$SMTP_PORT"
expect_grep "check notes: verify" "$OUT" \
  '  email: AUTH as "user" only to smart-host hops, only over TLS verified for the host name; MX hops never authenticate'
expect_grep "check notes: smarthost hops" "$OUT" \
  "  relay: route \"smarthost\": smart-host hops smtp.tls.test:$SMTP_PORT"
expect_grep "check notes: encrypted" "$OUT" \
  '  encrypted: AUTH as "user" only to smart-host hops, only over TLS, certificate not checked (auth.require_tls = "encrypted"); MX hops never authenticate'
grep '^  ' "$OUT" >"$T_DIR/notes.out" || true
expect_no_grep "check notes: no password" "$T_DIR/notes.out" "pass"

# require_tls = "none" says clear text; a password in the file never shows;
# no auth group and no smart host say so.
cat >"$T_DIR/notes.conf" <<CONF
devices = (
  { name = "clear"; driver = "email";
    route: { strategy = "mx-then-smarthost"; smarthost = [ "relay.example.com:587", "[192.0.2.7]" ]; };
    transport: { name = "smtp"; tls = "none";
                 auth: { user = "svc"; password = "Zq9-not-in-output"; require_tls = "none"; }; }; },
  { name = "direct"; driver = "email"; route: { strategy = "mx"; }; transport: { name = "smtp"; }; }
);
CONF
chmod 600 "$T_DIR/notes.conf"
run_herald "$OUT" "$ERR" -c "$T_DIR/notes.conf" check
expect_rc "check notes: none" 0 "$ERR"
expect_grep "check notes: two hops" "$OUT" \
  '  clear: route "mx-then-smarthost": smart-host hops relay.example.com:587, [192.0.2.7]'
expect_grep "check notes: clear text" "$OUT" \
  '  clear: AUTH as "svc" only to smart-host hops, in clear text too (auth.require_tls = "none"); MX hops never authenticate'
expect_grep "check notes: no smart host" "$OUT" '  direct: route "mx": no smart-host hops'
expect_grep "check notes: no AUTH" "$OUT" '  direct: no AUTH configured'
run_herald "$T_DIR/devices.out" "$ERR" -c "$T_DIR/notes.conf" devices
expect_rc "devices notes" 0 "$ERR"
expect_grep "devices notes: shown" "$T_DIR/devices.out" '  note: no AUTH configured'
run_herald "$T_DIR/devices.json" "$ERR" -c "$T_DIR/notes.conf" devices --json
expect_rc "devices --json notes" 0 "$ERR"
expect_grep "devices --json notes" "$T_DIR/devices.json" '"notes":["route \"mx\": no smart-host hops","no AUTH configured"]'
for f in "$OUT" "$T_DIR/devices.out" "$T_DIR/devices.json"; do
  expect_no_grep "notes: no password in $(basename "$f")" "$f" "Zq9"
done
send() {   # send DEVICE ARGS...
  local dev=$1
  shift
  rm -f "$TRACE"
  run_herald "$OUT" "$ERR" -c "$CONF" send -d "$dev" --json --trace "$TRACE" -f a@herald.test "$@"
}

# The recipient's MX offers AUTH after STARTTLS: it must see none.
send email -t b@auth.test "$T_DIR/msg"
expect_rc "MX with AUTH: delivered" 0 "$ERR"
expect_json_has b@auth.test peer "$MX1_IP"
expect_grep "MX with AUTH: over TLS" "$T_DIR/mx1/1.json" '"tls": true'
expect_grep "MX with AUTH: not authenticated" "$T_DIR/mx1/1.json" '"auth": null'
expect_no_grep "MX with AUTH: no AUTH command" "$T_DIR/mx1.rec" "AUTH"
expect_grep "MX with AUTH: trace says no AUTH" "$TRACE" \
  "mx1.tls.test (origin mx): no AUTH: the credentials go to smart hosts only"
expect_no_grep "MX with AUTH: no AUTH in the trace" "$TRACE" "C: AUTH"
expect_no_sanitizer "MX with AUTH"

# An MX without TLS or AUTH delivers directly.
send email -t c@plain.test "$T_DIR/msg"
expect_rc "MX without AUTH: delivered" 0 "$ERR"
expect_json_has c@plain.test peer "$MX2_IP"
expect_grep "MX without AUTH: it has the message" "$T_DIR/mx2/1.json" "c@plain.test"
expect_no_grep "MX without AUTH: no failure for lack of AUTH" "$TRACE" "AUTH mechanism"
if [ ! -e "$T_DIR/sh/1.json" ]; then pass "MX without AUTH: the smart host got nothing"
else fail "MX without AUTH: the message went to the smart host"; fi

# The smart host: AUTH over TLS verified for smtp.tls.test.
send relay -t d@auth.test "$T_DIR/msg"
expect_rc "smart host: delivered" 0 "$ERR"
expect_grep "smart host: authenticated" "$T_DIR/sh/1.json" '"auth": "user"'
expect_grep "smart host: trace says AUTH" "$TRACE" \
  "smtp.tls.test (origin smarthost): AUTH as \"user\" (auth.require_tls = verify)"
expect_grep "smart host: verified" "$TRACE" "certificate verification for smtp.tls.test: ok"
expect_no_sanitizer "smart host"

# A smart host whose certificate does not verify gets no password.
cp "$T_DIR/sh.rec" "$T_DIR/sh.rec.before"
send untrusted -t e@auth.test "$T_DIR/msg"
expect_rc "unverified smart host: deferred" 75 "$ERR"
expect_json e@auth.test status deferred
expect_json_has e@auth.test reply "AUTH not sent"
expect_grep "unverified smart host: trace says why" "$TRACE" "was not verified for smtp.tls.test"
if diff "$T_DIR/sh.rec.before" "$T_DIR/sh.rec" | grep -q "AUTH"; then
  fail "unverified smart host: AUTH was sent"
else
  pass "unverified smart host: no AUTH sent"
fi

# ... unless the device file lowers the requirement.
send encrypted -t f@auth.test "$T_DIR/msg"
expect_rc "require_tls = encrypted: delivered" 0 "$ERR"
expect_grep "require_tls = encrypted: authenticated" "$T_DIR/sh/2.json" '"auth": "user"'

# AUTH that could never be sent is a configuration error.
cat >"$T_DIR/none.conf" <<CONF
devices = ( { name = "x"; driver = "email"; route: { strategy = "smarthost"; smarthost = "h.test"; };
  transport: { name = "smtp"; tls = "none"; auth: { user = "u"; password_file = "$T_DIR/relay.secret"; }; }; } );
CONF
run_herald "$OUT" "$ERR" -c "$T_DIR/none.conf" check
expect_rc "auth with tls = none" 78 "$ERR"
expect_grep "auth with tls = none: says how" "$ERR" 'auth.require_tls = "none"'

herald_test_done
