#!/bin/bash
# email_8bit.sh - a body with 8-bit octets: BODY=8BITMIME to a server that
# offers 8BITMIME (smtp-sink), and to one that does not (smtp-sink -8) sent
# without BODY=.  To that server (RFC 6152 3), per eightbit_downgrade:
# convert (the default): a MIME message's 8bit part goes out as
# quoted-printable, no 8-bit octet on the wire, and it decodes to the
# original text; a message that is not MIME goes out as it is, with a
# warning; send: as it is, with a warning; refuse: exit 69, 5.6.3, no MAIL.
# smtp-sink's transaction dump (-d) shows what it received.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 20

printf 'Subject: 8-bit\n\nGr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\n' >"$T_DIR/msg"
mkdir -m 0777 "$T_DIR/d1" "$T_DIR/d2"
chmod 0711 "$T_DIR"   # smtp-sink runs as nobody and must reach its dump folders
email_start_sink "$MX1_IP" -d "$T_DIR/d1/%M."
email_conf mx "tls = \"none\";"
email_send -t b@demo.test "$T_DIR/msg"
expect_rc "8BITMIME offered" 0 "$ERR"
if grep -rqE '^X-Mail-Args: <a@herald.test>.* BODY=8BITMIME' "$T_DIR/d1"; then
  pass "MAIL carried BODY=8BITMIME"
else
  fail "no BODY=8BITMIME in the dump:"; cat "$T_DIR"/d1/* >&2 || true
fi
expect_no_grep "no warning when offered" "$TRACE" "does not offer 8BITMIME"

# The smart host, smtp-sink -8: no 8BITMIME offered
start_bg "$SMTP_SINK" -u nobody -8 -d "$T_DIR/d2/%M." "$SH_IP:$SMTP_PORT" 10 >/dev/null 2>&1 </dev/null
wait_for_port "$SH_IP" "$SMTP_PORT" 15 || hard_error "smtp-sink -8 did not start"
email_conf smarthost "tls = \"none\";"
email_send -t b@demo.test "$T_DIR/msg"
expect_rc "8BITMIME not offered" 0 "$ERR"
if grep -rqE '^X-Mail-Args: <a@herald.test>' "$T_DIR/d2" && ! grep -rq 'BODY=' "$T_DIR/d2"; then
  pass "MAIL without BODY="
else
  fail "unexpected MAIL parameters:"; cat "$T_DIR"/d2/* >&2 || true
fi
expect_grep "warning in the trace" "$TRACE" "the body has 8-bit octets and the server does not offer 8BITMIME: not MIME: sent unconverted"
expect_no_sanitizer "8-bit"

# --- A MIME message with an 8bit text part, to smtp-sink -8 -------------------
# The part's text: umlauts, '=', a trailing space and TAB, a line longer than
# 76 octets, a leading dot.
printf 'Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln = 100 %% \xe2\x98\xba \nline with a trailing TAB\t\n%s\n.leading dot\nlast line\n' \
  "$(printf 'long %.0s\xc3\xa9t\xc3\xa9 ' {1..12})" >"$T_DIR/part"
{
  printf 'From: a@herald.test\nTo: b@demo.test\nSubject: 8-bit MIME\nMIME-Version: 1.0\n'
  printf 'Content-Type: multipart/mixed; boundary="=-herald-b1"\n\npreamble\n--=-herald-b1\n'
  printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
  cat "$T_DIR/part"
  printf -- '--=-herald-b1\nContent-Type: text/plain; charset=us-ascii\n'
  printf 'Content-Transfer-Encoding: 7bit\n\nplain part\n--=-herald-b1--\n'
} >"$T_DIR/mime"

# dump_file - the one transaction dump in $T_DIR/d2 (empty when none)
dump_file() {
  find "$T_DIR/d2" -type f | head -n 1
}

# check_converted DUMP PART - no 8-bit octet, the part re-encoded, its QP
# decoding equal to PART, the 7bit part untouched; prints what is wrong
check_converted() {
  "$TEST_PYTHON" - "$1" "$2" <<'PY'
import quopri, re, sys
dump = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n")
want = open(sys.argv[2], "rb").read()
bad = [i for i, b in enumerate(dump) if b >= 0x80]
if bad:
    sys.exit("8-bit octet at offset %d of the dump" % bad[0])
m = re.search(rb"\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: "
              rb"quoted-printable\n\n(.*?\n)--=-herald-b1\n", dump, re.S)
if m is None:
    sys.exit("no quoted-printable part in the dump")
if any(len(line) > 76 for line in m.group(1).split(b"\n")):
    sys.exit("an encoded line longer than 76 octets")
got = quopri.decodestring(m.group(1))
if got != want:
    sys.exit("decoded part %r, want %r" % (got, want))
if b"\nContent-Transfer-Encoding: 7bit\n\nplain part\n--=-herald-b1--\n" not in dump:
    sys.exit("the 7bit part changed")
PY
}

rm -f "$T_DIR"/d2/*
email_conf smarthost "tls = \"none\";"
email_send -t b@demo.test "$T_DIR/mime"
expect_rc "MIME, convert" 0 "$ERR"
DUMP=$(dump_file)
if [ -z "$DUMP" ]; then
  fail "MIME, convert: smtp-sink stored nothing"
elif WHY=$(check_converted "$DUMP" "$T_DIR/part" 2>&1); then
  pass "MIME, convert: 7-bit on the wire, the part decodes to the original text"
else
  fail "MIME, convert: $WHY"; cat "$DUMP" >&2
fi
if [ -n "$DUMP" ] && grep -q 'BODY=' "$DUMP"; then
  fail "MIME, convert: BODY= in the MAIL parameters"
else
  pass "MIME, convert: MAIL without BODY="
fi
expect_grep "MIME, convert: trace" "$TRACE" "8BITMIME not offered: body converted to quoted-printable"
expect_no_grep "MIME, convert: no warning" "$TRACE" "sent unconverted"
expect_no_sanitizer "MIME, convert"

# --- eightbit_downgrade = "send": as it is, with the warning -------------------
rm -f "$T_DIR"/d2/*
email_conf smarthost "tls = \"none\"; eightbit_downgrade = \"send\";"
email_send -t b@demo.test "$T_DIR/mime"
expect_rc "MIME, send" 0 "$ERR"
DUMP=$(dump_file)
if [ -n "$DUMP" ] && grep -q $'K\xc3\xb6ln = 100' "$DUMP" \
   && grep -q '^Content-Transfer-Encoding: 8bit' "$DUMP"; then
  pass "MIME, send: the 8bit part as it was"
else
  fail "MIME, send: the dump lacks the unconverted part:"; cat "$DUMP" >&2 || true
fi
expect_grep "MIME, send: warning" "$TRACE" "the body has 8-bit octets and the server does not offer 8BITMIME: sent unconverted"
expect_no_grep "MIME, send: nothing converted" "$TRACE" "converted to quoted-printable"

# --- eightbit_downgrade = "refuse": 5.6.3 before MAIL --------------------------
rm -f "$T_DIR"/d2/*
email_conf smarthost "tls = \"none\"; eightbit_downgrade = \"refuse\";"
email_send -t b@demo.test "$T_DIR/mime"
expect_rc "MIME, refuse" 69 "$ERR"
expect_json b@demo.test status failed
expect_json b@demo.test dsn 5.6.3
expect_json_has b@demo.test reply "does not offer 8BITMIME (eightbit_downgrade = refuse)"
if [ -z "$(dump_file)" ]; then
  pass "MIME, refuse: smtp-sink stored nothing"
else
  fail "MIME, refuse: smtp-sink stored a transaction:"; cat "$(dump_file)" >&2
fi
expect_no_grep "MIME, refuse: no MAIL" "$TRACE" "C: MAIL FROM"
expect_no_sanitizer "MIME, refuse"

herald_test_done
