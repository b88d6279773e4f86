#!/bin/bash
# send_compose.sh - herald send --subject/--text/--html/--attach composes a
# MIME message (herald/mime.h); the capture server's copy is parsed back with
# Python's email package: the structure, the encodings, the RFC 2047 subject,
# the RFC 2231 file name and the attachments' bytes, identical.  A 12 MB
# attachment costs herald no more memory than a tiny one (it is streamed).
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 120
email_conf mx
email_start_capture mx1 "$MX1_IP"

# The inputs: UTF-8 text with trailing blanks and a long line, HTML, random
# binary bytes, a CSV with a non-ASCII name, a file with spaces in its name.
"$TEST_PYTHON" - "$T_DIR" <<'PY'
import os, sys
d = sys.argv[1]
with open(os.path.join(d, "body.txt"), "w", encoding="utf-8") as f:
    f.write("Grüße aus Köln,   \nline with = sign\n" + "x" * 300 + "\n.\nend\n")
with open(os.path.join(d, "body.html"), "w", encoding="utf-8") as f:
    f.write("<p>Grüße</p>\n")
with open(os.path.join(d, "random.bin"), "wb") as f:
    f.write(os.urandom(300000))
with open(os.path.join(d, "data.csv"), "wb") as f:
    f.write(b"a,b\r\n1,2\r\n")
with open(os.path.join(d, "big.bin"), "wb") as f:
    f.write(os.urandom(12 * 1024 * 1024))
with open(os.path.join(d, "tiny.bin"), "wb") as f:
    f.write(b"tiny")
PY

# check_message N SCRIPT - run a Python check on the capture server's N.eml
check_message() {
  local n=$1 name=$2
  shift 2
  if "$TEST_PYTHON" - "$T_DIR" "$T_DIR/mx1/$n.eml" "$@" >"$T_DIR/check.out" 2>&1; then
    pass "$name"
  else
    fail "$name"; sed 's/^/  | /' "$T_DIR/check.out" >&2
  fi
}

# 1: text + HTML + three attachments, a non-ASCII subject.
email_send -t one@demo.test -t two@demo.test --subject "Rapport für März ✓" \
  --text "$T_DIR/body.txt" --html "$T_DIR/body.html" \
  --attach "$T_DIR/random.bin" \
  --attach "$T_DIR/data.csv;text/csv;Übersicht März.csv" \
  --attach "$T_DIR/random.bin;;my report.pdf"
expect_rc "composed message delivered" 0 "$ERR"
expect_json one@demo.test status delivered
check_message 1 "parsed back: structure, encodings, names, bytes" <<'PY'
import email, email.policy, json, os, sys
d, path = sys.argv[1], sys.argv[2]
raw = open(path, "rb").read()
assert all(b < 0x80 for b in raw), "not 7-bit"
assert all(len(l) <= 998 for l in raw.split(b"\r\n")), "a line over 998"
msg = email.message_from_bytes(raw, policy=email.policy.default)
assert msg["Subject"] == "Rapport für März ✓", msg["Subject"]
assert b"=?UTF-8?B?" in raw.split(b"\r\n\r\n")[0], "subject not RFC 2047"
assert msg["From"].addresses[0].addr_spec == "a@herald.test", msg["From"]
assert [a.addr_spec for a in msg["To"].addresses] == ["one@demo.test", "two@demo.test"]
assert msg["Date"] is not None and msg["Date"].datetime is not None
assert msg["Message-ID"].endswith("@herald.test>"), msg["Message-ID"]
assert msg["MIME-Version"] == "1.0"
assert msg.get_content_type() == "multipart/mixed", msg.get_content_type()
parts = msg.get_payload()
assert len(parts) == 4, len(parts)
alt = parts[0]
assert alt.get_content_type() == "multipart/alternative"
text, html = alt.get_payload()
assert text.get_content_type() == "text/plain" and text["Content-Transfer-Encoding"] == "quoted-printable"
assert html.get_content_type() == "text/html" and html["Content-Transfer-Encoding"] == "quoted-printable"
want = open(os.path.join(d, "body.txt"), encoding="utf-8").read()
got = text.get_content().replace("\r\n", "\n")
assert got == want, (got, want)
assert html.get_content().replace("\r\n", "\n") == "<p>Grüße</p>\n"
a1, a2, a3 = parts[1:]
rnd = open(os.path.join(d, "random.bin"), "rb").read()
assert a1.get_content_type() == "application/octet-stream"
assert a1["Content-Transfer-Encoding"] == "base64"
assert a1.get_filename() == "random.bin", a1.get_filename()
assert a1.get_content_disposition() == "attachment"
assert a1.get_payload(decode=True) == rnd, "random.bin bytes differ"
assert a2.get_content_type() == "text/csv"
assert a2.get_filename() == "Übersicht März.csv", a2.get_filename()
assert "filename*" in str(a2["Content-Disposition"]) or b"filename*0*=UTF-8''" in raw
assert a2.get_payload(decode=True) == b"a,b\r\n1,2\r\n"
assert a3.get_filename() == "my report.pdf" and a3.get_content_type() == "application/pdf"
assert a3.get_payload(decode=True) == rnd
meta = json.load(open(path.replace(".eml", ".json")))
assert meta["mail_from"] == "a@herald.test" and sorted(meta["rcpt_tos"]) == ["one@demo.test", "two@demo.test"]
PY

# 2: text alone, from standard input: a single text/plain part, no multipart.
rm -f "$TRACE"
RC=0
printf 'from stdin \xe2\x82\xac\n' | timeout 60 "$HERALD" -c "$CONF" send -d email --json \
  -f a@herald.test -t one@demo.test --subject "plain ascii" --text - >"$OUT" 2>"$ERR" || RC=$?
expect_rc "text from standard input" 0 "$ERR"
check_message 2 "single part from standard input" <<'PY'
import email, email.policy, sys
msg = email.message_from_bytes(open(sys.argv[2], "rb").read(), policy=email.policy.default)
assert msg["Subject"] == "plain ascii"
assert b"Subject: plain ascii\r\n" in open(sys.argv[2], "rb").read()
assert msg.get_content_type() == "text/plain" and not msg.is_multipart()
assert msg.get_content().replace("\r\n", "\n") == "from stdin €\n", repr(msg.get_content())
PY

# 3: memory does not grow with the attachment: 12 MB against 4 octets.
peak() {
  "$TEST_PYTHON" - "$@" <<'PY'
import resource, subprocess, sys
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}
read -r rc_small kb_small < <(peak "$HERALD" -c "$CONF" send -d email -f a@herald.test \
  -t one@demo.test --subject small --attach "$T_DIR/tiny.bin")
read -r rc_big kb_big < <(peak "$HERALD" -c "$CONF" send -d email -f a@herald.test \
  -t one@demo.test --subject big --attach "$T_DIR/big.bin")
if [ "$rc_small" = 0 ] && [ "$rc_big" = 0 ] && [ $((kb_big - kb_small)) -lt 6144 ]; then
  pass "12 MB attachment streamed: peak $kb_big KB vs $kb_small KB"
else
  fail "12 MB attachment: exit $rc_big, peak $kb_big KB vs $kb_small KB (exit $rc_small)"
fi
check_message 4 "the 12 MB attachment arrived intact" <<'PY'
import email, email.policy, os, sys
msg = email.message_from_bytes(open(sys.argv[2], "rb").read(), policy=email.policy.default)
att = [p for p in msg.iter_attachments()]
assert len(att) == 1 and att[0].get_filename() == "big.bin"
assert att[0].get_payload(decode=True) == open(os.path.join(sys.argv[1], "big.bin"), "rb").read()
PY

# Usage and input errors, before anything is sent.
email_send -t one@demo.test --text "$T_DIR/body.txt"
expect_rc "--text without --subject" 64 "$ERR"
email_send -t one@demo.test --subject s --attach "$T_DIR/missing.pdf"
expect_rc "missing attachment" 66 "$ERR"
expect_grep "missing attachment named" "$ERR" "missing.pdf"
email_send -t one@demo.test --subject s --attach "$T_DIR/data.csv;not a type"
expect_rc "bad content type" 64 "$ERR"
email_send -t one@demo.test --subject s "$T_DIR/body.txt"
expect_rc "--subject with a MSGFILE" 64 "$ERR"
if [ ! -e "$T_DIR/mx1/5.eml" ]; then pass "nothing sent for the errors"
else fail "a message was sent for an error"; fi
expect_no_sanitizer "compose"

herald_test_done
