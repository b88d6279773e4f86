#!/bin/bash
# smtp_implicit_tls.sh - implicit TLS (RFC 8314, port 465: transport option
# implicit_tls = true) against a real "openssl s_server" (issue 5).
#
# openssl s_server does the TLS; tests/servers/sserver_smtp.py does the SMTP
# through s_server's stdin and stdout (two FIFOs in $T_DIR), and watches its
# stderr (a third FIFO: with -brief, "Protocol version: ..." once a handshake
# is complete) to know when to send the 220 greeting.  -naccept 2: the first
# connection is wait_for_port's probe (it never finishes a handshake, so it
# gets no greeting), the second is herald's; then s_server exits by itself.
# The smart host is a name the certificate carries (smtp.tls.test), resolved
# by dnsmasq to 127.77.15.9, checked with tls = "verify" against the test CA
# of tests/lib/make_certs.sh; AUTH with a password_file of mode 0600.
#
# 1. delivered (exit 0): the responder saw EHLO, AUTH, MAIL, RCPT, DATA, the
#    body, QUIT and never STARTTLS; the trace shows the TLS version and
#    ciphersuite (those s_server reports), the peer certificate and
#    "verification ... ok", all before the greeting; s_server picked its
#    certificate by the SNI herald sent; the password (nor its base64) is in
#    neither trace nor output.
# 2. s_server with a certificate for another name, from another CA, or
#    expired, under tls = "verify": deferred (exit 75), the reason in the
#    trace and the output, and no SMTP command at all reached the responder.
# 3. implicit_tls = true against a plain-text server (fault_smtpd.py: "ok"
#    greets in clear at once, "hang" never says anything): the hop is left,
#    deferred (75), within the timeouts, no crash and no sanitizer report,
#    and no SMTP command was sent in clear.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"
herald_test_init

OPENSSL=${OPENSSL:-openssl}
command -v "$OPENSSL" >/dev/null || hard_error "openssl not found"

SH_IP=127.77.15.9            # block 15 of 127.77.N.x is this script's
OUT=$T_DIR/out
ERR=$T_DIR/err
PKI=$T_DIR/pki
PASSWORD='Impl1cit-465-pw'
mkdir "$PKI"
sh "$HERALD_SRC_DIR/tests/lib/make_certs.sh" "$PKI" || hard_error "make_certs.sh failed"
printf '%s\n' "$PASSWORD" >"$T_DIR/relay.secret"
chmod 600 "$T_DIR/relay.secret"
printf 'Subject: implicit TLS\n\nover implicit TLS with AUTH\n.leading dot\n' >"$T_DIR/msg"

# The zone: two names the certificate carries, one it does not, all on $SH_IP.
start_dnsmasq smtp.tls.test 1 --log-facility=/dev/null --local=/test/ \
  --host-record=smtp.tls.test,"$SH_IP" --host-record=mx1.tls.test,"$SH_IP" \
  --host-record=wrong.tls.test,"$SH_IP"

# start_sserver NAME S_SERVER_OPTIONS... - openssl s_server on $SH_IP:$PORT (a
# fresh port) with sserver_smtp.py on its stdio; files in $T_DIR/NAME.*:
# .rec the commands received, .log s_server's stderr, .msg the body.
start_sserver() {
  local name=$1 d=$T_DIR/$1
  shift
  PORT=$(free_port "$SH_IP" tcp) || hard_error "no free TCP port"
  mkfifo "$d.s2c" "$d.c2s" "$d.events"
  # Each side opens the FIFO the other opens first, so neither blocks for good.
  timeout 30 "$OPENSSL" s_server -quiet -brief -naccept 2 -accept "$SH_IP:$PORT" "$@" \
    <"$d.s2c" >"$d.c2s" 2>"$d.events" &
  SSERVER_PID=$!
  T_PIDS+=("$SSERVER_PID")
  timeout 40 "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/sserver_smtp.py" \
    --events "$d.events" --record "$d.rec" --log "$d.log" --message "$d.msg" \
    --user user --password-file "$T_DIR/relay.secret" --max-seconds 35 \
    >"$d.s2c" <"$d.c2s" &
  RESPONDER_PID=$!
  T_PIDS+=("$RESPONDER_PID")
  wait_for_port "$SH_IP" "$PORT" 15 || { cat "$d.log" >&2 2>/dev/null || true
    hard_error "openssl s_server did not start ($name)"; }
}

# sserver_ended NAME - s_server and the responder ended by themselves (bounded)
sserver_ended() {
  local rc=0 rc2=0
  wait "$SSERVER_PID" || rc=$?
  wait "$RESPONDER_PID" || rc2=$?
  if [ "$rc" -ne 124 ] && [ "$rc2" -eq 0 ]; then
    pass "$1: s_server ended after herald's connection (exit $rc), responder exit 0"
  else
    fail "$1: s_server exit $rc, responder exit $rc2 (124: killed by timeout)"
    sed 's/^/  s_server: /' "$T_DIR/$1.log" >&2 || true
  fi
}

# write_conf NAME HOST PORT - $T_DIR/NAME.conf: device "relay", implicit TLS
# with verify to smart host HOST:PORT, AUTH from the password file
write_conf() {
  cat >"$T_DIR/$1.conf" <<CONF
herald: { dns: { servers = [ "127.0.0.1:$DNS_PORT" ]; timeout_ms = 1000; tries = 1; }; };
devices = (
  { name = "relay"; driver = "email";
    route: { strategy = "smarthost"; smarthost = [ "$2:$3" ]; family = "ipv4"; };
    transport: { name = "smtp"; helo_name = "client.herald.test";
                 tls = "verify"; ca_file = "$PKI/ca.pem"; implicit_tls = true;
                 session_cache = false;
                 connect_timeout_ms = 3000; greeting_timeout_ms = 5000; helo_timeout_ms = 3000;
                 auth: { user = "user"; password_file = "$T_DIR/relay.secret"; }; }; }
);
CONF
}

# send NAME - herald send with $T_DIR/NAME.conf, trace $T_DIR/NAME.trace;
# $RC, $OUT, $ERR as run_herald sets them, $ELAPSED_MS the wall time
send() {
  local t0
  t0=$(date +%s%N)
  run_herald "$OUT" "$ERR" -c "$T_DIR/$1.conf" send -d relay --trace "$T_DIR/$1.trace" \
    -f a@herald.test -t b@herald.test "$T_DIR/msg"
  ELAPSED_MS=$((($(date +%s%N) - t0) / 1000000))
}

# no_secret NAME FILES... - the password and its base64 forms appear in none of FILES
no_secret() {
  local name=$1 plain login
  shift
  plain=$(printf '\0user\0%s' "$PASSWORD" | base64 -w0)
  login=$(printf '%s' "$PASSWORD" | base64 -w0)
  if grep -qF -e "$PASSWORD" -e "$plain" -e "$login" "$@"; then
    fail "$name: the password or its base64 reached the trace or the output"
  else
    pass "$name: the password is in neither trace nor output"
  fi
}

# not_in NAME FILE REGEX - no line of FILE matches the extended REGEX
not_in() {
  if grep -qE -- "$3" "$2"; then
    fail "$1: unexpected /$3/ in $2:"
    sed 's/^/  | /' "$2" >&2
  else
    pass "$1: no /$3/"
  fi
}

# no_sanitizer NAME - herald's stderr has no ASan/UBSan report
no_sanitizer() {
  not_in "$1: sanitizers" "$ERR" "ERROR: (Address|Leak)Sanitizer|runtime error:"
}

# line_of FILE FIXED - number of the first line of FILE containing FIXED (0 if none)
line_of() {
  local n
  n=$(grep -nF -m1 -- "$2" "$1" | cut -d: -f1)
  echo "${n:-0}"
}

# --- 1. delivered over implicit TLS, verified, with AUTH ---------------------
# The default certificate (the other CA's, CN "Herald Other CA") is one herald
# must refuse; the good one is served only to a client that names
# smtp.tls.test in its SNI.
start_sserver ok -cert "$PKI/other-ca.pem" -key "$PKI/other-ca.key" \
  -servername smtp.tls.test -cert2 "$PKI/server.pem" -key2 "$PKI/server.key"
write_conf ok smtp.tls.test "$PORT"
send ok
expect_rc "implicit TLS delivery" 0 "$ERR"
expect_grep "implicit TLS delivery" "$OUT" "b@herald.test: delivered"
sserver_ended ok
REC=$T_DIR/ok.rec
TRACE=$T_DIR/ok.trace
for cmd in "EHLO client.herald.test" "AUTH " "MAIL FROM:<a@herald.test>" \
           "RCPT TO:<b@herald.test>" "DATA" "." "QUIT"; do
  if grep -q "^$(printf '%s' "$cmd" | sed 's/[.[\*^$]/\\&/g')" "$REC"; then
    pass "responder saw '$cmd'"
  else
    fail "responder did not see '$cmd':"
    sed 's/^/  | /' "$REC" >&2
  fi
done
not_in "responder: no STARTTLS" "$REC" "^STARTTLS"
not_in "trace: no STARTTLS" "$TRACE" "STARTTLS"
expect_grep "responder: the body" "$T_DIR/ok.msg" "over implicit TLS with AUTH"
# Sent as "..leading dot", unstuffed by the responder: the exact line again.
if grep -qx -- '\.leading dot' "$T_DIR/ok.msg"; then
  pass "responder: the body line '.leading dot', dot-stuffed on the wire"
else
  fail "responder: no exact line '.leading dot' in the body:"
  sed 's/^/  | /' "$T_DIR/ok.msg" >&2
fi
expect_grep "trace: handshake with SNI" "$TRACE" "TLS handshake (server name smtp.tls.test)"
expect_grep "trace: TLS version" "$TRACE" "TLS established: TLSv1.2 TLS-"
expect_grep "trace: peer certificate" "$TRACE" \
  'peer certificate subject "CN=mx1.tls.test", issuer "CN=Herald Test CA"'
expect_grep "trace: verification" "$TRACE" "certificate verification for smtp.tls.test: ok"
expect_grep "trace: AUTH redacted" "$TRACE" "AUTH PLAIN <redacted>"
expect_grep "s_server: TLSv1.2 as herald says" "$T_DIR/ok.log" "Protocol version: TLSv1.2"
# The same ciphersuite on both sides, once the names are reduced to their
# parts: mbed TLS "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384" is OpenSSL
# "ECDHE-RSA-AES256-GCM-SHA384" (OpenSSL drops the SHA256 of CHACHA20 suites).
ours=$(sed -n 's/.*TLS established: TLSv1\.2 \(TLS-[A-Z0-9-]*\).*/\1/p' "$TRACE" | head -n1)
theirs=$(sed -n 's/^Ciphersuite: //p' "$T_DIR/ok.log" | head -n1)
ours_n=$(printf '%s' "$ours" | sed 's/^TLS-//; s/-WITH-/-/; s/-//g')
theirs_n=$(printf '%s' "$theirs" | sed 's/-//g')
if [ -n "$theirs_n" ] && [ "${ours_n#"$theirs_n"}" != "$ours_n" ]; then
  pass "ciphersuite: herald traced $ours, s_server says $theirs"
else
  fail "ciphersuite: herald traced '$ours', s_server says '$theirs'"
fi
# Nothing in clear: the handshake and its check come before the 220 and EHLO.
hs=$(line_of "$TRACE" "certificate verification for smtp.tls.test: ok")
greet=$(line_of "$TRACE" "220 mx1.tls.test")
ehlo=$(line_of "$TRACE" "EHLO client.herald.test")
if [ "$hs" -gt 0 ] && [ "$greet" -gt "$hs" ] && [ "$ehlo" -gt "$greet" ]; then
  pass "trace: verification (line $hs), then greeting ($greet), then EHLO ($ehlo)"
else
  fail "trace order: verification line $hs, greeting $greet, EHLO $ehlo:"
  sed 's/^/  | /' "$TRACE" >&2
fi
# A clean TLS end: herald sends close_notify before closing, so s_server
# sees no truncation (RFC 5246 7.2.1).  Only the lines after the handshake
# count: the wait_for_port probe before it is an EOF without TLS.
sed -n '/^Protocol version:/,$p' "$T_DIR/ok.log" >"$T_DIR/ok.after-handshake.log"
not_in "s_server: a closure alert, not a bare EOF" "$T_DIR/ok.after-handshake.log" "unexpected eof"
no_secret "implicit TLS delivery" "$TRACE" "$OUT" "$ERR"
no_sanitizer "implicit TLS delivery"

# --- 2. a certificate herald must refuse: nothing sent ------------------------
# bad_cert NAME HOST REASON CERT KEY
bad_cert() {
  local name=$1 host=$2 reason=$3 cert=$4 key=$5
  start_sserver "$name" -cert "$cert" -key "$key"
  write_conf "$name" "$host" "$PORT"
  send "$name"
  expect_rc "$name" 75 "$ERR"
  expect_grep "$name" "$OUT" "b@herald.test: deferred"
  sserver_ended "$name"
  expect_grep "$name: s_server finished its side of the handshake" "$T_DIR/$name.log" \
    "Protocol version:"
  expect_grep "$name: trace" "$T_DIR/$name.trace" "certificate verification failed for $host"
  expect_grep "$name: trace" "$T_DIR/$name.trace" "$reason"
  expect_grep "$name: output" "$OUT" "$reason"
  # RFC 3207 4.1 / RFC 5321 4.1.1.10: a session refused for its certificate
  # ends with QUIT over the TLS it has, and with nothing else.
  if [ -f "$T_DIR/$name.rec" ] && ! grep -qv '^QUIT' "$T_DIR/$name.rec"; then
    pass "$name: no SMTP command but QUIT reached the server"
  else
    fail "$name: the server received commands (or no record):"
    sed 's/^/  | /' "$T_DIR/$name.rec" >&2 || true
  fi
  not_in "$name: no command but QUIT in the trace" "$T_DIR/$name.trace" "C: [^Q]"
  no_secret "$name" "$T_DIR/$name.trace" "$OUT" "$ERR"
  no_sanitizer "$name"
}
bad_cert wrong-name wrong.tls.test "host name mismatch" "$PKI/server.pem" "$PKI/server.key"
bad_cert other-ca smtp.tls.test "certificate not trusted" "$PKI/other-ca.pem" "$PKI/other-ca.key"
bad_cert expired mx1.tls.test "certificate expired" "$PKI/expired.pem" "$PKI/expired.key"

# --- 3. implicit TLS against a plain-text server ------------------------------
# plain_server NAME MODE - fault_smtpd.py MODE in clear text on $SH_IP:$PORT
plain_server() {
  local name=$1 mode=$2
  PORT=$(free_port "$SH_IP" tcp) || hard_error "no free TCP port"
  start_bg timeout 60 "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/fault_smtpd.py" \
    "$SH_IP" "$PORT" --mode "$mode" --record "$T_DIR/$name.rec" >/dev/null </dev/null
  wait_for_port "$SH_IP" "$PORT" 15 || hard_error "fault_smtpd.py ($mode) did not start"
  write_conf "$name" smtp.tls.test "$PORT"
  send "$name"
  expect_rc "$name" 75 "$ERR"
  expect_grep "$name" "$OUT" "b@herald.test: deferred"
  if [ "$ELAPSED_MS" -lt 15000 ]; then
    pass "$name: over in ${ELAPSED_MS} ms"
  else
    fail "$name: took ${ELAPSED_MS} ms"
  fi
  expect_grep "$name: trace" "$T_DIR/$name.trace" "TLS handshake (server name smtp.tls.test)"
  not_in "$name: no TLS established" "$T_DIR/$name.trace" "TLS established"
  not_in "$name: no command in the trace" "$T_DIR/$name.trace" "C: "
  touch "$T_DIR/$name.rec"
  not_in "$name: no SMTP command in clear" "$T_DIR/$name.rec" "^(EHLO|HELO|AUTH|MAIL|RCPT|DATA)"
  no_secret "$name" "$T_DIR/$name.trace" "$OUT" "$ERR"
  no_sanitizer "$name"
}
plain_server plain-greeting ok
expect_grep "plain-greeting: trace" "$T_DIR/plain-greeting.trace" "TLS handshake failed"
# No certificate came: the trace must not call the verification "ok".
expect_grep "plain-greeting: nothing verified" "$T_DIR/plain-greeting.trace" \
  "verification: not done (no certificate received)"
not_in "plain-greeting: no 'verification: ok'" "$T_DIR/plain-greeting.trace" "verification: ok"
plain_server plain-silent hang
expect_grep "plain-silent: trace" "$T_DIR/plain-silent.trace" \
  "timeout (TLS) while in the TLS handshake"
if [ "$ELAPSED_MS" -ge 2500 ]; then
  pass "plain-silent: ended by helo_timeout_ms (3000), after ${ELAPSED_MS} ms"
else
  fail "plain-silent: over after ${ELAPSED_MS} ms, before helo_timeout_ms (3000)"
fi

herald_test_done
