#!/bin/bash
# email_body_bytes.sh - step 9: the message arrives byte for byte as sent,
# after the one normalisation SMTP requires.  capture_smtpd.py stores the
# DATA content it received (dot-unstuffed); its sha256 must equal that of
# the input with every line ending (CRLF, LF, bare CR) made CRLF and a final
# CRLF added when missing.  Cases: lines starting with a dot (".", "..",
# ".x"), no final newline, bare CR, LF and CRLF mixed, a 1 MB body.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 9

email_start_capture mx1 "$MX1_IP"
email_conf mx

# The inputs, made in python so every byte is exact.
"$TEST_PYTHON" - "$T_DIR" <<'PY'
import os, sys
d = sys.argv[1]
cases = {
    "dots": b"Subject: dots\n\n.\n..\n.x\nmiddle\n.\n...end\n",
    "nofinal": b"Subject: no final newline\n\nfirst line\nlast line without newline",
    "barecr": b"Subject: bare CR\r\n\r\none\rtwo\r\nthree\rfour",
    "mixed": b"Subject: mixed\r\n\nunix\ncrlf\r\n.\r\n\n\n",
}
line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-0123456789"
big = [b"Subject: 1 MB\n", b"\n"]
size = 0
i = 0
while size < 1024 * 1024:
    l = (b"." if i % 97 == 0 else b"") + b"%07d " % i + line + b"\n"
    big.append(l)
    size += len(l)
    i += 1
cases["big"] = b"".join(big)
for name, data in cases.items():
    with open(os.path.join(d, name + ".msg"), "wb") as f:
        f.write(data)
PY

n=0
for c in dots nofinal barecr mixed big; do
  n=$((n + 1))
  email_send -t "$c@demo.test" "$T_DIR/$c.msg"
  expect_rc "body $c" 0 "$ERR"
  expect_json "$c@demo.test" status delivered
  if [ ! -f "$T_DIR/mx1/$n.eml" ]; then
    fail "body $c: the server stored no message $n"
    continue
  fi
  if "$TEST_PYTHON" - "$T_DIR/$c.msg" "$T_DIR/mx1/$n.eml" <<'PY'
import hashlib, re, sys
data = open(sys.argv[1], "rb").read()
want = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
if not want.endswith(b"\r\n"):
    want += b"\r\n"
got = open(sys.argv[2], "rb").read()
hw, hg = hashlib.sha256(want).hexdigest(), hashlib.sha256(got).hexdigest()
if hw != hg:
    print("want %d octets sha256 %s, got %d octets sha256 %s" % (len(want), hw, len(got), hg))
    for i, (a, b) in enumerate(zip(want, got)):
        if a != b:
            print("first difference at octet %d: want %r got %r" % (i, want[i:i+40], got[i:i+40]))
            break
    sys.exit(1)
PY
  then pass "body $c: sha256 matches the normalised input"
  else fail "body $c: content differs"; fi
  expect_no_sanitizer "body $c"
done

herald_test_done
