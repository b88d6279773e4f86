#!/bin/bash
# send_batch.sh - herald send --batch: 1,000 JSON lines with mixed outcomes
# (the capture server refuses "reject..." with 550 and "defer..." with 450;
# every seventh line is composed), one JSON outcome per line in a pipe, many
# in flight (several sessions at the server); a malformed line stops the
# batch with FILE:LINE and a per-message error does not; Ctrl-C stops
# submitting and waits for what is in flight; a terminal gets a progress line.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 121
email_conf mx
email_start_capture mx1 "$MX1_IP"

printf 'Subject: batch\r\n\r\nhello\r\n' >"$T_DIR/msg.eml"
printf 'composed text\n' >"$T_DIR/text.txt"

# The 1,000 lines.
"$TEST_PYTHON" - "$T_DIR" >"$T_DIR/batch.jsonl" <<'PY'
import json, os, sys
d = sys.argv[1]
for i in range(1, 1001):
    to = ("reject%d@demo.test" if i % 10 == 0 else
          "defer%d@demo.test" if i % 10 == 5 else "ok%d@demo.test") % i
    line = {"id": "m%d" % i, "from": "a@herald.test", "to": [to]}
    if i % 7 == 0:
        line.update(subject="composed %d" % i, text=os.path.join(d, "text.txt"))
    else:
        line["file"] = os.path.join(d, "msg.eml")
    print(json.dumps(line))
PY

RC=0
timeout 300 "$HERALD" -c "$CONF" send -d email --parallel 32 --batch "$T_DIR/batch.jsonl" \
  >"$OUT" 2>"$ERR" </dev/null || RC=$?
expect_rc "1,000 with some failed" 69 "$ERR"
if "$TEST_PYTHON" - "$OUT" "$T_DIR/mx1" >"$T_DIR/check.out" 2>&1 <<'PY'
import glob, json, os, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 1000, len(lines)
assert sorted(l["line"] for l in lines) == list(range(1, 1001)), "line numbers"
count = {"delivered": 0, "deferred": 0, "failed": 0}
for l in lines:
    i = l["line"]
    assert l["id"] == "m%d" % i, l
    (r,) = l["recipients"]
    want = "failed" if i % 10 == 0 else "deferred" if i % 10 == 5 else "delivered"
    assert r["status"] == want, (i, r)
    if want == "failed":
        assert r["reply"].startswith("550"), r
    if want == "deferred":
        assert r["reply"].startswith("450"), r
    count[want] += 1
assert count == {"delivered": 800, "deferred": 100, "failed": 100}, count
metas = [json.load(open(p)) for p in glob.glob(os.path.join(sys.argv[2], "*.json"))]
assert len(metas) == 800, "server stored %d" % len(metas)
composed = sum(1 for p in glob.glob(os.path.join(sys.argv[2], "*.eml"))
               if b"Subject: composed " in open(p, "rb").read())
assert composed == len([i for i in range(1, 1001) if i % 7 == 0 and i % 5]), composed
ports = {tuple(m["peer"]) for m in metas}
assert len(ports) > 1, "one session only: nothing was in flight together"
print("ok", len(ports), "client ports")
PY
then pass "1,000 outcomes, line by line, as the server decided"; cat "$T_DIR/check.out"
else fail "batch outcomes"; sed 's/^/  | /' "$T_DIR/check.out" >&2; fi
expect_grep "summary" "$ERR" "1000 messages"
expect_grep "summary counts" "$ERR" "800 delivered, 100 deferred, 100 failed, 0 refused"
expect_no_sanitizer "batch of 1,000"

# A per-message error is that line's outcome; a malformed line stops the batch.
rm -rf "$T_DIR/mx1"/*
cat >"$T_DIR/bad.jsonl" <<EOF
{"from":"a@herald.test","to":["one@demo.test"],"file":"$T_DIR/msg.eml"}
{"from":"a@herald.test","to":["no-domain"],"file":"$T_DIR/msg.eml","id":"bad-address"}
{"from":"a@herald.test","to":["two@demo.test"],"file":"$T_DIR/missing.eml"}

{"from":"a@herald.test","to":["three@demo.test"],"file":"$T_DIR/msg.eml"}
{"from":"a@herald.test","to":1}
{"from":"a@herald.test","to":["never@demo.test"],"file":"$T_DIR/msg.eml"}
EOF
RC=0
timeout 60 "$HERALD" -c "$CONF" send -d email --batch - <"$T_DIR/bad.jsonl" >"$OUT" 2>"$ERR" || RC=$?
expect_rc "malformed line" 65 "$ERR"
expect_grep "FILE:LINE and the column" "$ERR" "stdin:6: column 30: the value of \"to\" must be a string or an array of strings"
if "$TEST_PYTHON" - "$OUT" >"$T_DIR/check.out" 2>&1 <<'PY'
import json, sys
lines = {l["line"]: l for l in map(json.loads, open(sys.argv[1]))}
assert sorted(lines) == [1, 2, 3, 5], sorted(lines)
assert lines[1]["recipients"][0]["status"] == "delivered"
assert lines[2]["id"] == "bad-address" and "bad \"to\" address" in lines[2]["error"], lines[2]
assert "cannot read" in lines[3]["error"], lines[3]
assert lines[5]["recipients"][0]["status"] == "delivered"
PY
then pass "errors per line, nothing after the malformed line"
else fail "errors per line"; sed 's/^/  | /' "$T_DIR/check.out" >&2; fi
if grep -qs never "$T_DIR"/mx1/*.json; then fail "line 7 was sent"
else pass "nothing after line 6 was sent"; fi

# Ctrl-C: five lines go in, their outcomes come out, SIGINT, then more lines
# that must not be submitted.
rm -rf "$T_DIR/mx1"/*
mkfifo "$T_DIR/fifo"
# No timeout(1) in between: the signal goes to herald itself; the wait below is bounded.
"$HERALD" -c "$CONF" send -d email --batch - <"$T_DIR/fifo" >"$OUT" 2>"$ERR" &
hpid=$!
exec 3>"$T_DIR/fifo"
for i in 1 2 3 4 5; do
  printf '{"from":"a@herald.test","to":["int%d@demo.test"],"file":"%s"}\n' "$i" "$T_DIR/msg.eml" >&3
done
wait_until() {   # wait_until SECONDS COMMAND...: poll every 50 ms
  local deadline=$((SECONDS + $1))
  shift
  while ! "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    "$TEST_PYTHON" -c 'import time; time.sleep(0.05)'
  done
}
five_out() { [ "$(wc -l <"$OUT")" -ge 5 ]; }
wait_until 30 five_out || fail "the first five outcomes did not come"
kill -INT "$hpid"
summary_out() { grep -q "interrupted" "$ERR"; }
wait_until 30 summary_out || fail "no summary after Ctrl-C"
# Lines after Ctrl-C: herald must not read them (it may be gone: ignore EPIPE).
( trap '' PIPE
  for i in 6 7 8; do
    printf '{"from":"a@herald.test","to":["late%d@demo.test"],"file":"%s"}\n' "$i" "$T_DIR/msg.eml"
  done >&3 ) 2>/dev/null || true
exec 3>&-
gone() { ! kill -0 "$hpid" 2>/dev/null; }
wait_until 30 gone || { kill -KILL "$hpid"; fail "herald did not exit after Ctrl-C"; }
RC=0
wait "$hpid" || RC=$?
expect_rc "interrupted batch" 75 "$ERR"
expect_grep "interrupted summary" "$ERR" "interrupted: 5 messages"
if [ "$(wc -l <"$OUT")" = 5 ] && ! grep -q late "$OUT" && ! grep -qs late "$T_DIR"/mx1/*.json
then pass "nothing submitted after Ctrl-C, everything in flight reported"
else fail "after Ctrl-C"; sed 's/^/  | /' "$OUT" >&2; fi

# On a terminal: the progress line and the summary, no JSON.
printf '{"from":"a@herald.test","to":["tty%d@demo.test"],"file":"%s"}\n' 1 "$T_DIR/msg.eml" 2 "$T_DIR/msg.eml" \
  >"$T_DIR/tty.jsonl"
if "$TEST_PYTHON" - "$HERALD" "$CONF" "$T_DIR/tty.jsonl" >"$T_DIR/tty.out" 2>&1 <<'PY'
import os, pty, select, subprocess, sys, time
master, slave = pty.openpty()
p = subprocess.Popen([sys.argv[1], "-c", sys.argv[2], "send", "-d", "email", "--batch",
                      sys.argv[3]], stdout=slave, stderr=slave, stdin=subprocess.DEVNULL)
os.close(slave)
out, deadline = b"", time.monotonic() + 60
while time.monotonic() < deadline:
    r, _, _ = select.select([master], [], [], 0.5)
    if r:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    elif p.poll() is not None:
        break
p.wait(timeout=10)
text = out.decode()
print(text)
assert p.returncode == 0, p.returncode
assert "2/2 done: 2 delivered, 0 deferred, 0 failed" in text, "no progress line"
assert "2 messages in" in text and "{" not in text
PY
then pass "progress line on a terminal"
else fail "progress line on a terminal"; sed 's/^/  | /' "$T_DIR/tty.out" >&2; fi

herald_test_done
