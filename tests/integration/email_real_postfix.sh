#!/bin/bash
# email_real_postfix.sh - the whole workflow against a real MTA: a private
# Postfix instance (tests/lib/postfix.sh) as the MX of tls.test, found by a
# real MX walk through dnsmasq.  What a sink cannot show, a real server does:
#   1. mixed recipients in one transaction: one queued by Postfix (its
#      "250 2.0.0 Ok: queued as ID" is the outcome's reply), one refused at
#      RCPT (550 5.1.1, failed, exit 69); Postfix's log shows one pipelined
#      transaction ending in QUIT; the body Postfix delivered into its
#      Maildir is the body Herald was given (dots, 8-bit text, a last line
#      without a newline);
#   2. STARTTLS with tls = "verify" against the test CA, the MX host name
#      matched to Postfix's certificate; both sides log the TLS session;
#   3. Postfix's SIZE limit: a message over it is refused by Herald before
#      MAIL (5.3.4), and Postfix sees no MAIL command at all;
#   4. DSN: NOTIFY, ORCPT, RET and ENVID reach Postfix, which answers with
#      a success notification (kept in its queue: defer_transports = smtp)
#      that names Herald's envelope id and the original recipient.
set -euo pipefail
# email_env.sh for its helpers (email_send, expect_json...); not its zone.
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
# shellcheck source=tests/lib/postfix.sh
. "$HERALD_SRC_DIR/tests/lib/postfix.sh"
herald_test_init

NET=127.77.21
MX_IP=$NET.2
OUT=$T_DIR/out ERR=$T_DIR/err TRACE=$T_DIR/trace.log CONF=$T_DIR/herald.conf
PKI=$T_DIR/pki
mkdir "$PKI"
sh "$HERALD_SRC_DIR/tests/lib/make_certs.sh" "$PKI" || hard_error "make_certs.sh failed"

# mx1.tls.test is a name on the test certificate, so "verify" can match it.
start_dnsmasq tls.test 15 --log-facility=/dev/null --local=/test/ \
  --mx-host=tls.test,mx1.tls.test,10 --host-record=mx1.tls.test,"$MX_IP"

PORT=$(free_port "$MX_IP" tcp) || hard_error "no free TCP port"
postfix_start "$MX_IP" "$PORT" tls.test "message_size_limit = 20000
smtpd_tls_security_level = may
smtpd_tls_cert_file = $PKI/server.pem
smtpd_tls_key_file = $PKI/server.key
smtpd_tls_loglevel = 1
defer_transports = smtp"

# conf TLS_OPTIONS - $CONF: device "email", the MX walk, port $PORT
conf() {
  cat >"$CONF" <<CONF
herald: { dns: { servers = [ "127.0.0.1:$DNS_PORT" ]; timeout_ms = 1000; tries = 1; }; };
devices = (
  { name = "email"; driver = "email";
    route: { strategy = "mx"; port = $PORT; };
    transport: { name = "smtp"; helo_name = "herald.test"; $1
                 connect_timeout_ms = 5000; greeting_timeout_ms = 10000; }; }
);
CONF
}

# wait_grep FILE TEXT - wait (at most 10 s) for a line with TEXT in FILE:
# Postfix logs a session's summary when the connection is gone, which may be
# just after herald has exited
wait_grep() {
  "$TEST_PYTHON" - "$1" "$2" <<'PY'
import sys, time
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    with open(sys.argv[1], "rb") as f:
        if sys.argv[2].encode() in f.read():
            sys.exit(0)
    time.sleep(0.05)
sys.exit(1)
PY
}

# expect_log NAME TEXT - Postfix's log gets a line with TEXT
expect_log() {
  if wait_grep "$PF_LOG" "$2"; then
    pass "Postfix's log: $1: has '$2'"
  else
    fail "Postfix's log: $1: no '$2' in:"; sed 's/^/  | /' "$PF_LOG" >&2
  fi
}

# 1. Plain text, two recipients, one refused.
conf 'tls = "none";'
printf 'From: a@herald.test\nSubject: to a real Postfix\n\nline one\n.starts with a dot\n..two dots\n.\nGr\xc3\xbc\xc3\x9fe\nno newline at the end' \
  >"$T_DIR/msg"
email_send -t alice@tls.test -t reject-bob@tls.test "$T_DIR/msg"
expect_rc "one queued, one refused" 69 "$ERR"
expect_json alice@tls.test status delivered
expect_json_has alice@tls.test reply "250 2.0.0 Ok: queued as "
expect_json alice@tls.test host mx1.tls.test
expect_json reject-bob@tls.test status failed
expect_json reject-bob@tls.test reply \
  "550 5.1.1 <reject-bob@tls.test>: Recipient address rejected: no such user here"
expect_grep "trace: Postfix offered PIPELINING" "$TRACE" "S: 250-PIPELINING"
if postfix_wait_mail 1; then
  pass "Postfix delivered the message into its Maildir"
else
  fail "no message in $PF_MAILDIR/new after 20 s"; sed 's/^/  log: /' "$PF_LOG" >&2
fi
# Postfix stores the message with LF line ends, under its own Return-Path,
# Delivered-To and Received lines, adds the Date and Message-ID it lacks,
# and ends an unterminated last line: the body must be the body given.
if "$TEST_PYTHON" - "$PF_MAILDIR/new" "$T_DIR/msg" <<'PY'; then
import os, sys
folder = sys.argv[1]
got = open(os.path.join(folder, sorted(os.listdir(folder))[0]), "rb").read()
sent = open(sys.argv[2], "rb").read() + b"\n"
ok = (got.split(b"\n\n", 1)[1] == sent.split(b"\n\n", 1)[1]
      and b"\nSubject: to a real Postfix\n" in got
      and b"Delivered-To: alice@tls.test\n" in got)
sys.exit(0 if ok else 1)
PY
  pass "the stored body is the body given to herald"
else
  fail "the stored message differs from what herald was given:"
  cat "$PF_MAILDIR"/new/* >&2 || true
fi
# One connection, one transaction, recipients pipelined, QUIT at the end.
expect_log "one transaction, 1 of 2 recipients, QUIT" \
  "ehlo=1 mail=1 rcpt=1/2 data=1 quit=1 commands=5/6"

# 2. STARTTLS, verified against the test CA and the MX host name.
conf "tls = \"verify\"; ca_file = \"$PKI/ca.pem\";"
email_send -t carol@tls.test "$T_DIR/msg"
expect_rc "STARTTLS with verify" 0 "$ERR"
expect_json carol@tls.test status delivered
expect_grep "trace: TLS" "$TRACE" "$MX_IP:$PORT: TLS established: TLSv1."
expect_grep "trace: the MX name verified" "$TRACE" "certificate verification for mx1.tls.test: ok"
expect_log "a TLS session" "TLS connection established from"
expect_log "STARTTLS, then the transaction" "ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1"
postfix_wait_mail 2 || fail "the TLS message did not reach the Maildir"

# 3. Over Postfix's SIZE: refused before MAIL.
"$TEST_PYTHON" -c '
import sys
open(sys.argv[1], "wb").write(b"Subject: big\n\n" + (b"z" * 99 + b"\n") * 300)' "$T_DIR/big"
conf 'tls = "none";'
email_send -t dave@tls.test "$T_DIR/big"
expect_rc "over SIZE" 69 "$ERR"
expect_json dave@tls.test status failed
expect_json dave@tls.test dsn "5.3.4"
expect_log "a session without MAIL" "ehlo=1 quit=1 commands=2"

# 4. DSN parameters, proven by the notification Postfix writes.
email_send -N success,failure -R hdrs -V herald-envid-42 -t erin@tls.test "$T_DIR/msg"
expect_rc "DSN requested" 0 "$ERR"
expect_grep "trace: DSN on MAIL" "$TRACE" "RET=HDRS ENVID=herald-envid-42"
expect_grep "trace: DSN on RCPT" "$TRACE" "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;erin@tls.test"
expect_log "a success notification" "sender delivery status notification: "
dsn_id=$(sed -n 's/.*sender delivery status notification: \([0-9A-F]*\).*/\1/p' "$PF_LOG" | head -n 1)
if [ -n "$dsn_id" ] && "$PF_POSTCAT" -c "$PF_CONF" -bh -q "$dsn_id" >"$T_DIR/dsn" 2>&1; then
  expect_grep "the notification: Herald's envelope id" "$T_DIR/dsn" "Original-Envelope-Id: herald-envid-42"
  expect_grep "the notification: the original recipient" "$T_DIR/dsn" "Original-Recipient: rfc822;erin@tls.test"
  expect_grep "the notification: delivered" "$T_DIR/dsn" "Action: delivered"
else
  fail "cannot read the notification '$dsn_id' from Postfix's queue:"; sed 's/^/  | /' "$T_DIR/dsn" >&2 || true
fi

expect_no_sanitizer "real Postfix"
herald_test_done
