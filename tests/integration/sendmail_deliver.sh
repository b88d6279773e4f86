#!/bin/bash
# sendmail_deliver.sh - herald-sendmail without a queue: delivered at once to
# a capture server on loopback (dnsmasq MX), driven the way programs call
# sendmail: cron (-FCronDaemon -i -B8BITMIME -oem ADDR), PHP's mail() (-t -i
# with To, Cc and Bcc: the Bcc recipients get it, the Bcc field is gone),
# git send-email (-i -f ADDR ADDR...).  The capture server's copy is checked:
# the fields added (Date, Message-ID, From) and only those, the body's bytes,
# a lone "." ending the message without -i and kept with -i.  Then the exit
# codes: 69 refused, 75 deferred, 65 a bad address in a field, 64 usage (an
# unknown option, no recipients, -F with a line break), 78 a device file
# whose sendmail_device names no device; the device chosen; a 20 MB message
# costs no more memory than a small one.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 157
email_conf mx
email_start_capture mx1 "$MX1_IP"

# installcheck names the installed one ($(sbindir) need not be bindir/../sbin).
if [ -n "${HERALD_SENDMAIL_BIN:-}" ]; then
  SENDMAIL=$HERALD_SENDMAIL_BIN
elif [ -n "${HERALD_BIN:-}" ]; then
  SENDMAIL=$(dirname "$HERALD_BIN")/../sbin/herald-sendmail
else
  SENDMAIL=$HERALD_BUILD_DIR/cli/herald-sendmail
fi
[ -x "$SENDMAIL" ] || hard_error "no herald-sendmail at $SENDMAIL"
ME="$(id -un)@$(hostname)"

# sm INPUT ARGS... - herald-sendmail -C $CONF ARGS < INPUT; $RC, $OUT, $ERR
sm() {
  local input=$1
  shift
  RC=0
  timeout 60 "$SENDMAIL" -C "$CONF" "$@" <"$input" >"$OUT" 2>"$ERR" || RC=$?
}

# check N NAME - a Python check (on stdin) of the capture server's N.eml / N.json
check() {
  local n=$1 name=$2
  shift 2
  if "$TEST_PYTHON" - "$T_DIR/mx1/$n.eml" "$T_DIR/mx1/$n.json" "$T_DIR" "$ME" "$@" \
      >"$T_DIR/check.out" 2>&1; then
    pass "$name"
  else
    fail "$name"; sed 's/^/  | /' "$T_DIR/check.out" >&2
  fi
}

count() { find "$T_DIR/mx1" -name '*.eml' | wc -l; }

# 1. cron: the job's output, its own From/To/Subject, 8-bit text, a "." line (-i).
printf 'From: root (Cron Daemon)\nTo: ops@demo.test\nSubject: Cron <root@h> run-parts /etc/cron.daily\nContent-Type: text/plain; charset=UTF-8\n\nGr\xc3\xbc\xc3\x9fe from cron\n.\n..two dots\n  trailing  \nlast line without a newline' \
  >"$T_DIR/cron.msg"
sm "$T_DIR/cron.msg" -FCronDaemon -i -B8BITMIME -oem ops@demo.test
expect_rc "cron" 0 "$ERR"
[ ! -s "$OUT" ] && [ ! -s "$ERR" ] && pass "cron: nothing printed" || fail "cron printed: $(cat "$OUT" "$ERR")"
check 1 "cron: envelope, Date and Message-ID added, From kept, body intact" <<'PY'
import email, email.policy, json, sys
raw = open(sys.argv[1], "rb").read()
meta = json.load(open(sys.argv[2]))
src = open(sys.argv[3] + "/cron.msg", "rb").read()
assert meta["mail_from"] == sys.argv[4], meta["mail_from"]
assert meta["rcpt_tos"] == ["ops@demo.test"], meta["rcpt_tos"]
head, body = raw.split(b"\r\n\r\n", 1)
# The body: the input's, every line end CRLF on the wire (the transport's rule).
want = src.split(b"\n\n", 1)[1].replace(b"\n", b"\r\n")
assert body.rstrip(b"\r\n") == want, (body, want)
msg = email.message_from_bytes(raw, policy=email.policy.default)
assert msg["Date"].datetime is not None
assert msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith(">")
assert len(msg.get_all("From")) == 1 and msg["From"].addresses[0].addr_spec == "root"
assert msg["Subject"] == "Cron <root@h> run-parts /etc/cron.daily"
assert [k for k in msg.keys()][:2] == ["Date", "Message-ID"], msg.keys()
PY

# 2. PHP mail(): -t -i, recipients from To, Cc and Bcc; no From in the message.
printf 'To: "Doe, Ann" <ann@demo.test>, bob@demo.test (Bob)\nCc: Team: carl@demo.test;\nBcc: hidden@demo.test,\n hidden2@demo.test\nSubject: php\nX-Mailer: PHP/8.2\n\n<p>hello</p>\n' \
  >"$T_DIR/php.msg"
sm "$T_DIR/php.msg" -t -i
expect_rc "php -t -i" 0 "$ERR"
check 2 "php: every To/Cc/Bcc recipient, Bcc gone, From added" <<'PY'
import email, email.policy, json, sys
raw = open(sys.argv[1], "rb").read()
meta = json.load(open(sys.argv[2]))
got = sorted(meta["rcpt_tos"])
assert got == ["ann@demo.test", "bob@demo.test", "carl@demo.test", "hidden2@demo.test",
               "hidden@demo.test"], got
assert b"hidden" not in raw, "a Bcc recipient is named in the message"
assert b"\nBcc" not in raw and not raw.startswith(b"Bcc"), "Bcc field left"
msg = email.message_from_bytes(raw, policy=email.policy.default)
assert msg["From"].addresses[0].addr_spec == sys.argv[4], msg["From"]
assert msg["X-Mailer"] == "PHP/8.2" and msg["Subject"] == "php"
assert msg.get_content().replace("\r\n", "\n") == "<p>hello</p>\n"
PY

# 3. git send-email: -i -f ADDR ADDR...; the message is complete, nothing is added,
# and a Cc field does not add a recipient without -t.
printf 'From: Dev <dev@herald.test>\nTo: list@demo.test\nCc: other@demo.test\nSubject: [PATCH] fix\nDate: Tue, 01 Dec 2026 10:00:00 +0000\nMessage-Id: <patch-1@herald.test>\nMIME-Version: 1.0\n\n---\n.\n a/file | 2 +-\n' \
  >"$T_DIR/git.msg"
sm "$T_DIR/git.msg" -i -f dev@herald.test list@demo.test reviewer@demo.test
expect_rc "git send-email" 0 "$ERR"
check 3 "git: the sender, the two recipients, the message unchanged" <<'PY'
import json, sys
raw = open(sys.argv[1], "rb").read()
meta = json.load(open(sys.argv[2]))
src = open(sys.argv[3] + "/git.msg", "rb").read()
assert meta["mail_from"] == "dev@herald.test", meta
assert meta["rcpt_tos"] == ["list@demo.test", "reviewer@demo.test"], meta["rcpt_tos"]
assert raw == src.replace(b"\n", b"\r\n"), (raw, src)
PY

# 4. Without -i a lone "." ends the message (LF or CRLF); lines starting with
# dots are kept as they are; what follows the "." is not sent.
printf 'Subject: dots\n\nbefore\n..kept\n.not the end\n.\nafter the end\n' >"$T_DIR/dot.msg"
sm "$T_DIR/dot.msg" -f a@herald.test dot@demo.test
expect_rc "dot ends the message" 0 "$ERR"
check 4 "dot: the message ends at the lone dot" <<'PY'
import sys
raw = open(sys.argv[1], "rb").read()
body = raw.split(b"\r\n\r\n", 1)[1]
assert body == b"before\r\n..kept\r\n.not the end\r\n", body
PY
printf 'Subject: crlf dots\r\n\r\nbefore\r\n.\r\nafter\r\n' >"$T_DIR/dotcrlf.msg"
sm "$T_DIR/dotcrlf.msg" -f a@herald.test dot@demo.test
expect_rc "dot CRLF" 0 "$ERR"
check 5 "dot CRLF: ends at the lone dot, added fields in CRLF" <<'PY'
import sys
raw = open(sys.argv[1], "rb").read()
head, body = raw.split(b"\r\n\r\n", 1)
assert body == b"before\r\n", body
assert b"\r\r" not in raw
PY

# 5. -F: quotes and non-ASCII are encoded, never raw; no headers at all is fine.
printf 'just a body, no header section\n' >"$T_DIR/bare.msg"
sm "$T_DIR/bare.msg" -F 'Ann "Q" Bee' -f ann@herald.test bare@demo.test
expect_rc "-F with quotes" 0 "$ERR"
check 6 "-F quoted; a body without headers gets its empty line" <<'PY'
import email, email.policy, sys
raw = open(sys.argv[1], "rb").read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
assert msg["From"].addresses[0].display_name == 'Ann "Q" Bee', msg["From"]
assert msg["From"].addresses[0].addr_spec == "ann@herald.test"
assert raw.split(b"\r\n\r\n", 1)[1] == b"just a body, no header section\r\n", raw
PY
sm "$T_DIR/bare.msg" -F "J$(printf '\xc3\xbc')rgen" bare@demo.test
expect_rc "-F non-ASCII" 0 "$ERR"
check 7 "-F non-ASCII: RFC 2047" <<'PY'
import email, email.policy, sys
raw = open(sys.argv[1], "rb").read()
assert b"=?UTF-8?B?" in raw and all(b < 0x80 for b in raw)
msg = email.message_from_bytes(raw, policy=email.policy.default)
assert msg["From"].addresses[0].display_name == "J\u00fcrgen"
PY

# 6. Refusals: nothing is sent for any of them.
n0=$(count)
sm "$T_DIR/bare.msg" -F "$(printf 'x\r\nBcc: evil@demo.test')" bare@demo.test
expect_rc "-F with CR LF" 64 "$ERR"
expect_grep "-F refused" "$ERR" "herald-sendmail: -F: the name has a control character"
sm "$T_DIR/bare.msg" -X /tmp/log bare@demo.test
expect_rc "unknown option" 64 "$ERR"
expect_grep "unknown option named" "$ERR" "herald-sendmail: unknown option '-X'"
expect_grep "usage shown" "$ERR" "Usage: herald-sendmail"
sm "$T_DIR/bare.msg" -i
expect_rc "no recipients" 64 "$ERR"
expect_grep "no recipients said" "$ERR" "herald-sendmail: no recipients"
sm "$T_DIR/bare.msg" -t
expect_rc "-t without recipient fields" 64 "$ERR"
printf 'To: good@demo.test, "two words"@demo.test\n\nx\n' >"$T_DIR/badto.msg"
sm "$T_DIR/badto.msg" -t
expect_rc "bad address in To" 65 "$ERR"
expect_grep "bad address named" "$ERR" "To field: bad recipient address"
printf 'To: good@demo.test, a@b@c\n\nx\n' >"$T_DIR/badto2.msg"
sm "$T_DIR/badto2.msg" -t
expect_rc "a@b@c in To" 65 "$ERR"
sm "$T_DIR/bare.msg" -f 'bad sender@x' bare@demo.test
expect_rc "bad -f" 65 "$ERR"
[ "$(count)" -eq "$n0" ] && pass "nothing sent for the refusals" || fail "a refused message was sent"

# 7. Outcomes as exit codes: refused 69, deferred 75, each named on stderr.
sm "$T_DIR/bare.msg" reject@demo.test ok@demo.test
expect_rc "a refused recipient" 69 "$ERR"
expect_grep "refusal named" "$ERR" "herald-sendmail: reject@demo.test: failed: 550"
sm "$T_DIR/bare.msg" defer@demo.test
expect_rc "a deferred recipient" 75 "$ERR"
expect_grep "deferral named" "$ERR" "herald-sendmail: defer@demo.test: deferred: 450"

# 8. Which device: the first email device, or herald.sendmail_device.
cat >"$T_DIR/two.conf" <<CONF
herald: { dns: { servers = [ "127.0.0.1:$DNS_PORT" ]; timeout_ms = 1000; tries = 1; }; };
devices = (
  { name = "files"; driver = "file"; path = "$T_DIR/files"; create = true; },
  { name = "mail"; driver = "email"; route: { strategy = "mx"; port = $SMTP_PORT; };
    transport: { name = "smtp"; helo_name = "herald.test"; }; }
);
CONF
n0=$(count)
RC=0; timeout 60 "$SENDMAIL" -C "$T_DIR/two.conf" pick@demo.test <"$T_DIR/bare.msg" \
  >"$OUT" 2>"$ERR" || RC=$?
expect_rc "first email device" 0 "$ERR"
[ "$(count)" -eq $((n0 + 1)) ] && [ ! -d "$T_DIR/files" ] && pass "the email device took it" || \
  fail "not through the email device"
sed -i '1s/^herald: {/herald: { sendmail_device = "files";/' "$T_DIR/two.conf"
RC=0; timeout 60 "$SENDMAIL" -C "$T_DIR/two.conf" pick@demo.test <"$T_DIR/bare.msg" \
  >"$OUT" 2>"$ERR" || RC=$?
expect_rc "sendmail_device = files" 0 "$ERR"
[ "$(ls "$T_DIR/files" | wc -l)" -eq 1 ] && pass "sendmail_device chose the file device" || \
  fail "the file device got nothing"
sed -i '1s/sendmail_device = "files"/sendmail_device = "nosuch"/' "$T_DIR/two.conf"
RC=0; timeout 60 "$SENDMAIL" -C "$T_DIR/two.conf" pick@demo.test <"$T_DIR/bare.msg" \
  >"$OUT" 2>"$ERR" || RC=$?
expect_rc "sendmail_device names no device" 78 "$ERR"
expect_grep "FILE:LINE" "$ERR" "herald-sendmail: $T_DIR/two.conf:1: herald: option \"sendmail_device\": no device is named \"nosuch\""

# 9. Standard input is streamed: 20 MB costs no more memory than 20 octets.
"$TEST_PYTHON" - "$T_DIR/big.msg" <<'PY'
import os, sys
with open(sys.argv[1], "wb") as f:
    f.write(b"Subject: big\n\n")
    for i in range(23 * 1024):   # 900-octet lines: under the 998 of RFC 5322
        f.write(os.urandom(450).hex().encode() + b"\n")
PY
peak() {
  "$TEST_PYTHON" - "$@" <<'PY'
import resource, subprocess, sys
with open(sys.argv[1], "rb") as f, open(sys.argv[1] + ".err", "wb") as e:
    rc = subprocess.call(sys.argv[2:], stdin=f, stdout=subprocess.DEVNULL, stderr=e,
                         timeout=120)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}
read -r rc_small kb_small < <(peak "$T_DIR/bare.msg" "$SENDMAIL" -C "$CONF" small@demo.test)
read -r rc_big kb_big < <(peak "$T_DIR/big.msg" "$SENDMAIL" -C "$CONF" big@demo.test)
if [ "$rc_small" = 0 ] && [ "$rc_big" = 0 ] && [ $((kb_big - kb_small)) -lt 6144 ]; then
  pass "20 MB message streamed: peak $kb_big KB vs $kb_small KB"
else
  fail "20 MB message: exit $rc_big, peak $kb_big KB vs $kb_small KB (exit $rc_small)"
  sed 's/^/  stderr: /' "$T_DIR/big.msg.err" >&2
fi
last=$(count)
check "$last" "the 20 MB message arrived intact" <<'PY'
import sys
raw = open(sys.argv[1], "rb").read()
src = open(sys.argv[3] + "/big.msg", "rb").read()
assert raw.split(b"\r\n\r\n", 1)[1] == src.split(b"\n\n", 1)[1].replace(b"\n", b"\r\n")
PY
expect_no_sanitizer "herald-sendmail"

herald_test_done
