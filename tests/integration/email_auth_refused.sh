#!/bin/bash
# email_auth_refused.sh - a refused AUTH defers and ends politely, echoed
# credentials are redacted, replies always carry a dsn (issue 8 items 2, 6
# and 9), against aiosmtpd capture servers with STARTTLS and AUTH:
#   - 535 and 534 to AUTH: deferred (exit 75), not failed; the reply and the
#     trace say authentication was refused; the server sees QUIT after it;
#   - a server echoing AUTH PLAIN / LOGIN in a 500: neither the trace nor the
#     JSON reply holds base64 of the credentials;
#   - a certificate that does not name the hop (tls = verify, TLS up): QUIT;
#   - a 550 without an enhanced status code: "dsn": "5.0.0", not null.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 42 --host-record=smtp.tls.test,127.77.42.9 --host-record=mx1.tls.test,127.77.42.2 \
  --host-record=wrong.tls.test,127.77.42.3 --host-record=smtp2.tls.test,127.77.42.4

mkdir "$T_DIR/pki"
sh "$HERALD_SRC_DIR/tests/lib/make_certs.sh" "$T_DIR/pki" || hard_error "make_certs.sh failed"
PKI=$T_DIR/pki
CERT=("$PKI/server.pem" "$PKI/server.key")
email_start_capture s535 "$SH_IP" "${CERT[@]}" --auth-reply "535 5.7.8 Authentication credentials invalid"
email_start_capture echo "$MX1_IP" "${CERT[@]}" --echo-auth
email_start_capture wrong "$MX2_IP" "${CERT[@]}"
email_start_capture s534 127.77.42.4 "${CERT[@]}" --auth-reply "534 Authentication mechanism is too weak"

printf 'pass\n' >"$T_DIR/relay.secret"
chmod 600 "$T_DIR/relay.secret"
AUTH="auth: { user = \"user\"; password_file = \"$T_DIR/relay.secret\";"
TLS="ca_file = \"$PKI/ca.pem\";"
email_conf_devices \
  "$(email_smarthost_device d535 "smtp.tls.test:$SMTP_PORT" "$TLS $AUTH };")" \
  "$(email_smarthost_device d534 "smtp2.tls.test:$SMTP_PORT" "$TLS $AUTH require_tls = \"encrypted\"; };")" \
  "$(email_smarthost_device echo "mx1.tls.test:$SMTP_PORT" "$TLS $AUTH };")" \
  "$(email_smarthost_device echologin "mx1.tls.test:$SMTP_PORT" "$TLS $AUTH mechanisms = [ \"LOGIN\" ]; };")" \
  "$(email_smarthost_device mismatch "wrong.tls.test:$SMTP_PORT" "$TLS tls = \"verify\";")" \
  "$(email_smarthost_device plain "wrong.tls.test:$SMTP_PORT" "$TLS tls = \"opportunistic\";")"
printf 'Subject: auth refused\n\nhello\n' >"$T_DIR/msg"
# last_is_quit NAME - the server's last recorded command is QUIT, after AUTH or EHLO
last_is_quit() {
  if [ "$(tail -n 1 "$T_DIR/$1.rec")" = QUIT ]; then pass "$1: QUIT came last"
  else fail "$1: no QUIT at the end:"; sed 's/^/  | /' "$T_DIR/$1.rec" >&2; fi
}

# Item 2: a 535 defers.
email_send_via d535 -t b@x.test "$T_DIR/msg"
expect_rc "535 to AUTH: deferred" 75 "$ERR"
expect_json b@x.test status deferred
expect_json b@x.test dsn 4.7.8
expect_json_has b@x.test reply "authentication refused by $SH_IP:$SMTP_PORT (AUTH PLAIN): 535"
expect_grep "535: trace says so" "$TRACE" "authentication refused (AUTH PLAIN): deferred"
expect_grep "535: AUTH was sent" "$T_DIR/s535.rec" "AUTH PLAIN"
last_is_quit s535
expect_no_sanitizer "535"

# A 534 without an enhanced code: deferred, dsn from the class, made temporary.
email_send_via d534 -t c@x.test "$T_DIR/msg"
expect_rc "534 to AUTH: deferred" 75 "$ERR"
expect_json c@x.test dsn 4.0.0
expect_json_has c@x.test reply "authentication refused"
last_is_quit s534

# Item 6: echoed credentials are redacted, PLAIN and LOGIN.
no_b64() {   # no_b64 NAME - no base64 of the credentials in the trace or the output
  if grep -qF -e AHVzZXIAcGFzcw -e cGFzcw -e dXNlcg "$TRACE" "$OUT" "$ERR"; then
    fail "$1: base64 of the credentials kept:"
    grep -hF -e AHVzZXIAcGFzcw -e cGFzcw -e dXNlcg "$TRACE" "$OUT" "$ERR" | sed 's/^/  | /' >&2
  else
    pass "$1: no base64 of the credentials in trace or output"
  fi
}
email_send_via echo -t d@x.test "$T_DIR/msg"
expect_rc "echoed AUTH PLAIN: deferred" 75 "$ERR"
expect_json_has d@x.test reply "AUTH PLAIN <redacted>"
expect_grep "echoed AUTH PLAIN: the trace shows the echo, redacted" "$TRACE" \
  "S: 500 5.5.2 command not understood: AUTH PLAIN <redacted>"
no_b64 "echoed AUTH PLAIN"
email_send_via echologin -t e@x.test "$T_DIR/msg"
expect_rc "echoed AUTH LOGIN: deferred" 75 "$ERR"
expect_json_has e@x.test reply "unexpected <redacted> <redacted>"
no_b64 "echoed AUTH LOGIN"
expect_no_sanitizer "echo"

# Item 9: a certificate for another name, TLS up: QUIT over TLS.
email_send_via mismatch -t f@x.test "$T_DIR/msg"
expect_rc "name mismatch: deferred" 75 "$ERR"
expect_json_has f@x.test reply "certificate verification failed for wrong.tls.test"
last_is_quit wrong
expect_grep "name mismatch: QUIT in the trace" "$TRACE" "C: QUIT"

# Item 9: a reply without an enhanced status code gets one from its class.
email_send_via plain -t plain550@x.test -t g@x.test "$T_DIR/msg"
expect_rc "550 without an enhanced code: failed" 69 "$ERR"
expect_json plain550@x.test status failed
expect_json plain550@x.test dsn 5.0.0
expect_json g@x.test status delivered

# Item 9: SIZE= counts the message as it goes on the wire (CRLF line ends):
# a file with LF endings declares what the server then receives.
printf 'Subject: size\n\nline one\nline two\n.dot line\nno newline at the end' >"$T_DIR/lf"
email_send_via plain -t h@x.test "$T_DIR/lf"
expect_rc "LF file: delivered" 0 "$ERR"
if "$TEST_PYTHON" - "$T_DIR/wrong" <<'PY'
import glob, json, sys
meta = [json.load(open(f)) for f in glob.glob(sys.argv[1] + "/*.json")]
m = [x for x in meta if "h@x.test" in x["rcpt_tos"]][0]
size = [o for o in m["mail_options"] if o.upper().startswith("SIZE=")][0]
assert int(size[5:]) == m["size"], (size, m["size"])
PY
then pass "LF file: SIZE= is the size received"
else fail "LF file: SIZE= is not the size received"; fi
herald_test_done
