#!/bin/bash
# email_8bit.sh - a body with 8-bit octets: BODY=8BITMIME to a server that
# offers 8BITMIME (smtp-sink), and to one that does not (smtp-sink -8) sent
# without BODY= and with a warning in the trace (Herald converts nothing).
# smtp-sink's transaction dump (-d) shows the MAIL parameters it received.
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
expect_grep "warning in the trace" "$TRACE" "the body has 8-bit octets and the server does not offer 8BITMIME: sent unconverted"
expect_no_sanitizer "8-bit"

herald_test_done
