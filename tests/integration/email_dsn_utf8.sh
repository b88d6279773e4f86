#!/bin/bash
# email_dsn_utf8.sh - DSN (RFC 3461) and SMTPUTF8 (RFC 6531) where offered
# (issue 4: "use ... SMTPUTF8, DSN ... where offered").
#
#   DSN asked (-N -R -V) of smtp-sink, which offers DSN: its transaction dump
#     shows RET, ENVID (xtext) on MAIL and NOTIFY, ORCPT on each RCPT.
#   DSN asked of fault_smtpd.py, which does not offer it: delivered, no DSN
#     parameter sent, and the trace says they were not passed on.
#   A UTF-8 sender and recipient to capture_smtpd.py (aiosmtpd, offers
#     SMTPUTF8): delivered with MAIL ... SMTPUTF8, addresses intact.
#   The same to fault_smtpd.py (no SMTPUTF8): failed 5.6.7, exit 69, and no
#     MAIL at the server.
#   Malformed UTF-8, and a non-ASCII domain: exit 65 before any connection.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 17

printf 'Subject: dsn and utf-8\n\nhello\n' >"$T_DIR/msg"

# --- DSN offered: smtp-sink on mx1 dumps each transaction --------------------
mkdir -m 0777 "$T_DIR/dump"
chmod 0711 "$T_DIR"   # smtp-sink runs as nobody and must reach its dump folder
email_start_sink "$MX1_IP" -d "$T_DIR/dump/%M."
email_conf mx "tls = \"none\";"
email_send -N success,failure -R hdrs -V 'run+1=a b' -t b@demo.test -t c@demo.test "$T_DIR/msg"
expect_rc "-V with a space is a usage error" 64 "$ERR"
email_send -N success,failure -R hdrs -V 'run+1=ab' -t b@demo.test -t c@demo.test "$T_DIR/msg"
expect_rc "DSN to smtp-sink" 0 "$ERR"
dump=$(find "$T_DIR/dump" -type f | head -n 1)
if [ -n "$dump" ]; then
  pass "smtp-sink dumped the transaction"
  expect_grep "MAIL parameters" "$dump" "X-Mail-Args: <a@herald.test> RET=HDRS ENVID=run+2B1+3Dab"
  expect_grep "RCPT b parameters" "$dump" "X-Rcpt-Args: <b@demo.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@demo.test"
  expect_grep "RCPT c parameters" "$dump" "X-Rcpt-Args: <c@demo.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@demo.test"
else
  fail "no transaction dump from smtp-sink"
fi
email_send -N never -t b@demo.test "$T_DIR/msg"
expect_rc "NOTIFY=NEVER" 0 "$ERR"
if grep -rqF "X-Rcpt-Args: <b@demo.test> NOTIFY=NEVER ORCPT=rfc822;b@demo.test" "$T_DIR/dump"; then
  pass "NOTIFY=NEVER passed on"
else
  fail "no NOTIFY=NEVER in the dumps"
fi
email_send -N never,success -t b@demo.test "$T_DIR/msg"
expect_rc "never with success is a usage error" 64 "$ERR"
expect_no_sanitizer "DSN offered"

# --- DSN not offered, SMTPUTF8 not offered: fault_smtpd.py on mx2 ------------
email_start_fault mx2 "$MX2_IP" ok
email_conf_one() {   # email_conf_one IP: device "email" whose only hop is IP
  cat >"$CONF" <<CONF
herald: { dns: { servers = [ "127.0.0.1:$DNS_PORT" ]; timeout_ms = 1000; tries = 1; }; };
devices = (
  { name = "email"; driver = "email";
    route: { strategy = "smarthost"; smarthost = [ "[$1]:$SMTP_PORT" ]; };
    transport: { name = "smtp"; helo_name = "herald.test"; tls = "none";
                 connect_timeout_ms = 2000; greeting_timeout_ms = 2000; }; }
);
CONF
}
email_conf_one "$MX2_IP"
rm -f "$T_DIR/mx2.rec"
email_send -N failure -R full -V abc -t b@demo.test "$T_DIR/msg"
expect_rc "DSN not offered: still delivered" 0 "$ERR"
expect_grep "trace: DSN not passed on" "$TRACE" "DSN not offered: NOTIFY, RET and ENVID are not passed on"
expect_no_grep "no RET sent" "$T_DIR/mx2.rec" "RET="
expect_no_grep "no NOTIFY sent" "$T_DIR/mx2.rec" "NOTIFY="

rm -f "$T_DIR/mx2.rec"
email_send -f 'jörg@herald.test' -t 'zoë@demo.test' "$T_DIR/msg"
expect_rc "UTF-8 address, no SMTPUTF8 at the server" 69 "$ERR"
expect_json 'zoë@demo.test' status failed
expect_json 'zoë@demo.test' dsn 5.6.7
expect_grep "trace: why" "$TRACE" "does not offer SMTPUTF8: not sent"
expect_no_grep "no MAIL at the server" "$T_DIR/mx2.rec" "MAIL FROM"
expect_no_sanitizer "no DSN, no SMTPUTF8"

# --- SMTPUTF8 offered: capture_smtpd.py (aiosmtpd) on the smart host address --
email_start_capture cap "$SH_IP"
email_conf_one "$SH_IP"
email_send -f 'jörg@herald.test' -t 'zoë@demo.test' -t plain@demo.test "$T_DIR/msg"
expect_rc "UTF-8 addresses to an SMTPUTF8 server" 0 "$ERR"
expect_grep "trace: MAIL with SMTPUTF8" "$TRACE" "C: MAIL FROM:<jörg@herald.test>"
if "$TEST_PYTHON" - "$T_DIR/cap/1.json" <<'PY'; then
import json, sys
m = json.load(open(sys.argv[1]))
ok = ("SMTPUTF8" in m["mail_options"] and m["mail_from"] == "jörg@herald.test"
      and m["rcpt_tos"] == ["zoë@demo.test", "plain@demo.test"])
sys.exit(0 if ok else 1)
PY
  pass "the server got SMTPUTF8 and the UTF-8 addresses intact"
else
  fail "capture record: $(cat "$T_DIR/cap/1.json" 2>/dev/null)"
fi

# --- refused before any connection -------------------------------------------
email_send -t "$(printf 'bad\xff@demo.test')" "$T_DIR/msg"
expect_rc "malformed UTF-8" 65 "$ERR"
expect_grep "malformed UTF-8: why" "$ERR" "not valid UTF-8"
email_send -t 'b@bücher.test' "$T_DIR/msg"
expect_rc "non-ASCII domain" 65 "$ERR"
expect_grep "non-ASCII domain: why" "$ERR" "xn--"
expect_no_sanitizer "SMTPUTF8 offered"

herald_test_done
