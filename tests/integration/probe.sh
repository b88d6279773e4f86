#!/bin/bash
# probe.sh - "herald probe" against real servers on loopback (issue 12 item 1).
#
# The zone (dnsmasq): probe.test MX 5 mx0.probe.test (an address where
# nothing listens), MX 10 mx1.tls.test (capture_smtpd.py, STARTTLS with
# server.pem from the test CA, valid for that name), MX 20 mx2.probe.test
# (capture_smtpd.py with expired.pem: expired, and issued for another name);
# dead.test MX 10 mx0.probe.test only.  The smart host [$SH_IP] has ip.pem
# (its address as an iPAddress SAN) and AUTH.  capture_smtpd.py refuses RCPT
# "reject*" with 550 and "defer*" with 450, and records every command verb.
# slow.test MX 10 h1.probe.test (fault_smtpd.py hang: never greets), MX 20
# h7.probe.test (fault_smtpd.py drip: every reply a second late).
#
# Checked: the JSON field by field (python3 json), the text table, the exit
# codes 0 (some address accepts), 69 (refused permanently), 75 (dead only,
# or 450); tls = "verify" stops before MAIL at the expired certificate;
# --timeout ends the whole probe at its deadline (75, the step named) where
# every step's own timeout is far longer;
# AUTH only on the smart-host hop, a login only with --auth, its secret in
# no output or trace; and no server ever saw DATA (nor got a message).
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"

NET_PROBE=127.77.112
DEAD_IP=$NET_PROBE.4 GOOD_IP=$NET_PROBE.2 BAD_IP=$NET_PROBE.3
email_env_init 112 \
  --mx-host=probe.test,mx0.probe.test,5 --mx-host=probe.test,mx1.tls.test,10 \
  --mx-host=probe.test,mx2.probe.test,20 --mx-host=dead.test,mx0.probe.test,10 \
  --host-record=mx0.probe.test,"$DEAD_IP" --host-record=mx1.tls.test,"$GOOD_IP" \
  --host-record=mx2.probe.test,"$BAD_IP" \
  --mx-host=hostile.test,h1.probe.test,10 --mx-host=hostile.test,h2.probe.test,20 \
  --mx-host=hostile.test,h3.probe.test,30 --mx-host=hostile.test,h4.probe.test,40 \
  --mx-host=hostile.test,h5.probe.test,50 --mx-host=refused.test,h3.probe.test,10 \
  --host-record=h1.probe.test,$NET_PROBE.5 --host-record=h2.probe.test,$NET_PROBE.6 \
  --host-record=h3.probe.test,$NET_PROBE.7 --host-record=h4.probe.test,$NET_PROBE.8 \
  --host-record=h5.probe.test,$NET_PROBE.10 \
  --mx-host=badtls.test,h6.probe.test,10 --host-record=h6.probe.test,$NET_PROBE.11 \
  --mx-host=slow.test,h1.probe.test,10 --mx-host=slow.test,h7.probe.test,20 \
  --host-record=h7.probe.test,$NET_PROBE.12
PKI=$T_DIR/pki
mkdir "$PKI"
sh "$HERALD_SRC_DIR/tests/lib/make_certs.sh" "$PKI" "$SH_IP" || hard_error "make_certs.sh failed"
email_start_capture good "$GOOD_IP" "$PKI/server.pem" "$PKI/server.key"
email_start_capture bad "$BAD_IP" "$PKI/expired.pem" "$PKI/expired.key"
email_start_capture relay "$SH_IP" "$PKI/ip.pem" "$PKI/ip.key" --password 's3cr3t-Pw'
email_start_fault hang "$NET_PROBE.5" hang
email_start_fault garbage "$NET_PROBE.6" garbage
email_start_fault g554 "$NET_PROBE.7" greet-554
email_start_fault helo "$NET_PROBE.8" refuse-ehlo
email_start_fault huge "$NET_PROBE.10" huge-reply
email_start_fault drip "$NET_PROBE.12" drip
# STARTTLS answered 220, then garbage instead of a handshake (then a plain server)
start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/starttls_junk_smtpd.py" "$NET_PROBE.11" \
  "$SMTP_PORT" "$PKI/server.pem" "$PKI/server.key" "$T_DIR/badtls.rec" badtls \
  >/dev/null 2>"$T_DIR/badtls.err" </dev/null
wait_for_port "$NET_PROBE.11" "$SMTP_PORT" 15 || hard_error "starttls_junk_smtpd.py did not start"
printf 's3cr3t-Pw\n' >"$T_DIR/relay.secret"
chmod 600 "$T_DIR/relay.secret"

# device NAME STRATEGY TLS [EXTRA [TIMEOUTS]] - an email device on the zone above
device() {
  local sh=""
  [ "$2" != mx ] && sh="smarthost = [ \"[$SH_IP]:$SMTP_PORT\" ];"
  cat <<DEV
  { name = "$1"; driver = "email";
    route: { strategy = "$2"; $sh port = $SMTP_PORT; };
    transport: { name = "smtp"; helo_name = "probe.herald.test"; tls = "$3";
                 ca_file = "$PKI/ca.pem"; connect_timeout_ms = 2000;
                 ${5:-greeting_timeout_ms = 5000; helo_timeout_ms = 5000;} ${4:-} }; }
DEV
}
{
  echo "herald: { dns: { servers = [ \"127.0.0.1:$DNS_PORT\" ]; timeout_ms = 1000; tries = 1; }; };"
  echo "devices = ("
  device email mx opportunistic; echo ","
  device strict mx verify; echo ","
  device relay mx-then-smarthost opportunistic \
    "auth: { user = \"user\"; password_file = \"$T_DIR/relay.secret\"; };"; echo ","
  device quick mx opportunistic "" "greeting_timeout_ms = 1000; helo_timeout_ms = 1000;"; echo ","
  device patient mx opportunistic "" "greeting_timeout_ms = 100000; helo_timeout_ms = 100000;
    mail_timeout_ms = 100000; rcpt_timeout_ms = 100000;"
  echo ");"
} >"$CONF"

# probe ARGS... - herald probe with a fresh trace; $RC, $OUT, $ERR
probe() {
  rm -f "$TRACE"
  run_herald "$OUT" "$ERR" -c "$CONF" probe --trace "$TRACE" "$@"
}

# check NAME PYTHON - run PYTHON with doc (the JSON in $OUT) and hop(i)/addr(i);
# it prints "ok" or what is wrong
check() {
  local got
  got=$("$TEST_PYTHON" - "$OUT" <<PY 2>&1
import json, sys, datetime
doc = json.load(open(sys.argv[1]))
hops = doc.get("hops", [])
def addr(i): return hops[i]["addresses"][0]
def want(cond, what):
    if not cond:
        print("wrong: " + what); sys.exit(0)
$2
print("ok")
PY
)
  if [ "$got" = ok ]; then pass "$1"; else fail "$1: $got"; sed 's/^/  | /' "$OUT" >&2; fi
}

# 1. The MX set, opportunistic TLS, a recipient the servers take.
probe -d email --json --rcpt ok@probe.test probe.test
expect_rc "probe.test accepts" 0 "$ERR"
check "plan: three MX hops in preference order" '
want(doc["domain"] == "probe.test", "domain")
want([h["host"] for h in hops] == ["mx0.probe.test", "mx1.tls.test", "mx2.probe.test"], "hosts")
want([h["preference"] for h in hops] == [5, 10, 20], "preferences")
want(all(h["origin"] == "mx" and h["port"] == '"$SMTP_PORT"' for h in hops), "origin, port")
want([a["address"] for h in hops for a in h["addresses"]] == ["'"$DEAD_IP"'", "'"$GOOD_IP"'", "'"$BAD_IP"'"], "addresses")
want(doc["result"] == "delivered", "overall result")'
check "dead address: connect failed, nothing after it invented" '
a = addr(0)
want(a["connect"]["ok"] is False, "connect.ok")
want("refused" in a["connect"]["error"].lower(), "connect.error " + a["connect"]["error"])
want(isinstance(a["connect"]["ms"], int), "connect.ms")
for k in ("greeting", "ehlo", "tls", "auth", "mail", "rcpt"):
    want(k not in a, k + " present")
want(a["result"] == "deferred", "result")'
check "valid certificate: every step, verified" '
a = addr(1)
want(a["connect"]["ok"] is True and "error" not in a["connect"], "connect")
want(a["greeting"].startswith("220"), "greeting")
want(a["ehlo"]["ok"] is True and a["ehlo"]["reply"].startswith("250"), "ehlo")
want(any(e.upper().startswith("SIZE") or e.upper() == "8BITMIME" for e in a["ehlo"]["extensions"]), "extensions after TLS")
t = a["tls"]
want(t["ok"] is True and t["verified"] is True, "tls ok/verified")
want(t["version"].startswith("TLSv1."), "version")
want(t["cipher"].startswith("TLS-"), "cipher")
want("mx1.tls.test" in t["subject"], "subject " + t["subject"])
want(t["names"] == ["mx1.tls.test", "smtp.tls.test"], "names %r" % t["names"])
want("Herald Test CA" in t["issuer"], "issuer")
na = datetime.datetime.strptime(t["not_after"], "%Y-%m-%dT%H:%M:%SZ")
want(na > datetime.datetime.utcnow(), "not_after in the future")
want(t["verify"] == "ok" and "error" not in t, "verify")
want("auth" not in a, "auth on an MX hop")
want(a["mail"]["code"] == 250, "mail")
want(a["rcpt"]["code"] == 250 and a["rcpt"]["reply"].startswith("250"), "rcpt")
want("error" not in a and a["result"] == "delivered", "result")'
check "expired, wrong-name certificate: shown, not verified, opportunistic goes on" '
a = addr(2)
t = a["tls"]
want(t["ok"] is True and t["verified"] is False, "tls ok, not verified")
want("expired" in t["verify"] and "mismatch" in t["verify"], "verify " + t["verify"])
want(t["not_after"].startswith("2020-"), "not_after " + t["not_after"])
want(t["names"] == ["mx1.tls.test"], "names")
want(a["rcpt"]["code"] == 250, "rcpt")'
expect_grep "trace: commands" "$TRACE" "C: RSET"
expect_grep "trace: QUIT" "$TRACE" "C: QUIT"
expect_no_grep "trace: no DATA" "$TRACE" "C: DATA"

# 2. The text table.
probe -d email --rcpt ok@probe.test probe.test
expect_rc "text" 0 "$ERR"
expect_grep "text: header" "$OUT" "ADDRESS"
expect_grep "text: dead row" "$OUT" "$DEAD_IP"
expect_grep "text: unverified shown" "$OUT" "UNVERIFIED"
expect_grep "text: expired" "$OUT" "certificate expired"
expect_grep "text: verdict" "$OUT" "verdict: accepts"

# 3. A recipient every server refuses: 69, the 550 kept.
probe -d email --json reject@probe.test
expect_rc "refused recipient" 69 "$ERR"
check "refused recipient: 550 at both servers" '
want(addr(1)["rcpt"]["code"] == 550 and addr(2)["rcpt"]["code"] == 550, "rcpt codes")
want("5.1.1" in addr(1)["rcpt"]["reply"], "reply")
want(addr(1)["result"] == "failed" and doc["result"] == "failed", "result")'

# 4. Temporary: only a dead address, or a 450.
probe -d email --json dead.test
expect_rc "dead only" 75 "$ERR"
check "dead only: deferred" '
want(len(hops) == 1 and addr(0)["connect"]["ok"] is False, "connect")
want(doc["result"] == "deferred", "result")'
probe -d email --json --rcpt defer@probe.test probe.test
expect_rc "450" 75 "$ERR"

# 5. Without a recipient: the session (MAIL from <>) decides, no RCPT.
probe -d email --json probe.test
expect_rc "no recipient" 0 "$ERR"
check "no recipient: MAIL only" '
want(addr(1)["mail"]["code"] == 250 and "rcpt" not in addr(1), "mail, no rcpt")'
expect_grep "null sender" "$TRACE" "C: MAIL FROM:<>"

# 6. tls = verify: the expired certificate stops the session before MAIL.
probe -d strict --json --from a@herald.test --rcpt ok@probe.test probe.test
expect_rc "verify" 0 "$ERR"
check "verify policy: no MAIL after an unverified certificate" '
a = addr(2)
want("verification failed" in a["tls"]["error"], "tls.error")
want("mail" not in a and "rcpt" not in a, "mail/rcpt present")
want(a["result"] == "deferred", "result")
want(addr(1)["rcpt"]["code"] == 250, "the verified one goes on")'
expect_grep "sender" "$TRACE" "C: MAIL FROM:<a@herald.test>"

# 7. AUTH: the smart host only; mechanisms without --auth, a login with it.
probe -d relay --json --rcpt ok@probe.test probe.test
expect_rc "relay" 0 "$ERR"
check "auth: listed on the smart host only, no login" '
want([h["origin"] for h in hops] == ["mx", "mx", "mx", "smarthost"], "origins")
want(all("auth" not in a for h in hops[:3] for a in h["addresses"]), "auth on an MX")
au = addr(3)["auth"]
want("PLAIN" in au["mechanisms"] and au["tried"] is False and "ok" not in au, "auth %r" % au)'
probe -d relay --json --auth --rcpt ok@probe.test probe.test
expect_rc "relay --auth" 0 "$ERR"
check "auth: login with --auth" '
au = addr(3)["auth"]
want(au["tried"] is True and au["ok"] is True and au["reply"].startswith("235"), "auth %r" % au)'
expect_grep "trace: AUTH redacted" "$TRACE" "<redacted>"
for f in "$OUT" "$ERR" "$TRACE"; do
  expect_no_grep "no secret in $(basename "$f")" "$f" "s3cr3t-Pw"
  expect_no_grep "no encoded secret in $(basename "$f")" "$f" "$(printf '\0user\0s3cr3t-Pw' | base64)"
done
grep -q "AUTH PLAIN" "$T_DIR/relay.rec" && pass "relay saw AUTH" || fail "relay saw no AUTH"

# 8. Hostile and broken servers fail their own row, bounded by the device's
# timeouts (greeting 1 s here), and never the probe.
probe -d quick --json --rcpt ok@probe.test hostile.test
expect_rc "hostile: the HELO server accepts" 0 "$ERR"
check "hostile: each server its own failure" '
want([h["host"] for h in hops] == ["h%d.probe.test" % i for i in range(1, 6)], "hosts")
a = addr(0)
want(a["connect"]["ok"] is True and "greeting" not in a, "hang: connected, no greeting")
want("timeout while waiting for the greeting" in a["error"], "hang: " + a.get("error", ""))
want(a["result"] == "deferred", "hang result")
a = addr(1)
want("bad reply" in a["error"] and a["result"] == "deferred", "garbage: %r" % a)
want(all(ord(c) >= 32 and ord(c) != 127 for c in json.dumps(a)), "garbage: printable")
a = addr(2)
want(a["greeting"].startswith("554") and "ehlo" not in a and a["result"] == "failed", "554: %r" % a)
a = addr(3)
want(a["ehlo"]["helo"] is True and a["ehlo"]["code"] == 250 and "tls" not in a, "helo: %r" % a)
want(a["rcpt"]["code"] == 250 and a["result"] == "delivered", "helo rcpt")
a = addr(4)
want("bad reply" in a["error"] and a["result"] == "deferred", "huge: %r" % a.get("error"))'
expect_grep "hostile: QUIT after the 554" "$T_DIR/g554.rec" "QUIT"
probe -d quick --json refused.test
expect_rc "554 greeting only" 69 "$ERR"

# 9. A broken handshake under tls = "opportunistic": the address is tried
# once more in clear text on a new connection, STARTTLS not again (as a
# delivery does); under "verify" it is not.
probe -d email --json --rcpt ok@badtls.test badtls.test
expect_rc "broken TLS, opportunistic: accepted in clear" 0 "$ERR"
check "broken TLS: the failed handshake kept, the clear session after it" '
a = addr(0)
want(a["tls"]["ok"] is False and "error" in a["tls"], "tls %r" % a["tls"])
want(a["connect"]["ok"] is True and a["ehlo"]["ok"] is True, "connect, ehlo")
want("STARTTLS" in a["ehlo"]["extensions"], "the clear EHLO %r" % a["ehlo"])
want(a["mail"]["code"] == 250 and a["rcpt"]["code"] == 250, "mail, rcpt")
want("error" not in a and a["result"] == "delivered", "result %r" % a.get("error"))'
expect_grep "broken TLS: the reconnection traced" "$TRACE" \
  "reconnecting to continue in clear text"
c=$(grep -c '^clear: STARTTLS' "$T_DIR/badtls.rec" || true)
if [ "$c" = 1 ]; then pass "broken TLS: STARTTLS once"; else fail "STARTTLS $c times, want 1"; fi
expect_grep "broken TLS: RCPT in clear" "$T_DIR/badtls.rec" "clear: RCPT TO:<ok@badtls.test>"
probe -d strict --json --rcpt ok@badtls.test badtls.test
expect_rc "broken TLS, verify: no clear text" 75 "$ERR"
check "broken TLS, verify: the handshake failure, nothing after it" '
a = addr(0)
want(a["tls"]["ok"] is False and "handshake" in a["error"], "error %r" % a.get("error"))
want("mail" not in a and "rcpt" not in a, "no MAIL")'
expect_no_grep "broken TLS, verify: no reconnection" "$TRACE" "continue in clear text"

# 10. The deadline (--timeout) bounds the whole probe where no step's own
# timeout (100 s here) would: one server never greets, the other answers
# every step in a second.  The probe ends at the deadline, exits 75 and
# names each address with the step it was in; timeout(1) bounds the run.
rm -f "$TRACE"
RC=0
timeout 30 "$HERALD" -c "$CONF" probe -d patient --json --timeout 2 --trace "$TRACE" \
  --rcpt ok@slow.test slow.test >"$OUT" 2>"$ERR" || RC=$?
expect_rc "deadline: the probe ends there, temporary" 75 "$ERR"
expect_grep "deadline: the silent server's step on stderr" "$ERR" \
  "herald probe: h1.probe.test[$NET_PROBE.5]:$SMTP_PORT: the probe's deadline (2 s) passed while waiting for the greeting"
expect_grep "deadline: the slow server's step on stderr" "$ERR" \
  "herald probe: h7.probe.test[$NET_PROBE.12]:$SMTP_PORT: the probe's deadline (2 s) passed while waiting for the "
check "deadline: both addresses cut short, in their step" '
want(doc["expired"] == 2 and doc["result"] == "deferred", "expired %r" % doc.get("expired"))
a = addr(0)
want(a["connect"]["ok"] is True and "greeting" not in a, "hang: connected, no greeting")
want(a["expired"] is True and "waiting for the greeting" in a["error"], "hang: %r" % a)
a = addr(1)
want(a["greeting"].startswith("220") and a["expired"] is True, "drip: %r" % a)
want("deadline (2 s) passed while waiting for the" in a["error"], "drip: " + a["error"])
want("rcpt" not in a and a["result"] == "deferred", "drip: no RCPT")'
expect_grep "deadline: traced" "$TRACE" "the probe's deadline passed while"

# 11. Usage.
probe -d email
expect_rc "no target" 64 "$ERR"
for t in 0 3601 2s -1 " 2" ""; do
  probe -d email --timeout "$t" probe.test
  expect_rc "--timeout '$t'" 64 "$ERR"
  expect_grep "--timeout '$t': why" "$ERR" "--timeout takes 1 to 3600 seconds, not \"$t\""
done
probe -d email --timeout
expect_rc "--timeout without a value" 64 "$ERR"
expect_grep "--timeout without a value: why" "$ERR" "option '--timeout' needs a value"
probe -d email --rcpt "$(printf 'a\rb@x.test')" probe.test
expect_rc "bad recipient" 65 "$ERR"

# No server was ever sent DATA, none holds a message.
for s in good bad relay; do
  expect_grep "$s saw RSET" "$T_DIR/$s.rec" "RSET"
  expect_no_grep "$s: no DATA" "$T_DIR/$s.rec" "DATA"
  if ls "$T_DIR/$s"/*.eml >/dev/null 2>&1; then fail "$s got a message"; else pass "$s: no message"; fi
done
expect_no_sanitizer "probe"

herald_test_done
