#!/bin/bash
# cli_send_file.sh - "herald send" through a file device: the file written is
# byte-identical to the input (stdin and MSGFILE, a body without a final
# newline, a leading-dot line), --json parses and says delivered, exit codes
# 0 / 75 (folder missing, no create) / 65 (bad address) / 64 (usage).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"
herald_test_init

OUT=$T_DIR/out
ERR=$T_DIR/err
CONF=$T_DIR/herald.conf
mkdir "$T_DIR/in"
cat >"$CONF" <<CONF
devices = (
  { name = "reports"; driver = "file"; path = "$T_DIR/reports"; create = true; },
  { name = "nocreate"; driver = "file"; path = "$T_DIR/missing/folder"; }
);
CONF

# The inputs: an ordinary message, one without a final newline, one whose body
# has lines starting with a dot (a file device must not dot-stuff), CRLF, and
# bytes that are not text.
printf 'From: a@example.test\nTo: b@example.test\nSubject: one\n\nHello.\n' >"$T_DIR/in/plain"
printf 'Subject: two\n\nno final newline' >"$T_DIR/in/nofinal"
printf 'Subject: dots\n\n.leading dot\n..two dots\n.\nafter a lone dot\n' >"$T_DIR/in/dots"
printf 'Subject: crlf\r\n\r\nline\r\nbare\rcr\n' >"$T_DIR/in/crlf"
"$TEST_PYTHON" -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 300)' >"$T_DIR/in/binary"

# only_file - the one file in the reports folder (fails the check otherwise)
only_file() {
  local files
  files=$(find "$T_DIR/reports" -type f ! -name '.*' | sort)
  if [ "$(printf '%s\n' "$files" | grep -c .)" -ne 1 ]; then
    echo "want exactly one file in $T_DIR/reports, have: $files" >&2
    return 1
  fi
  printf '%s\n' "$files"
}

# send_case NAME MODE INPUT - send INPUT (MODE: stdin, dash or file) and compare
send_case() {
  local name=$1 mode=$2 input=$3 got
  rm -rf "$T_DIR/reports"
  case $mode in
    stdin) RC=0
           timeout 60 "$HERALD" -c "$CONF" send -f a@example.test -t b@example.test \
             <"$input" >"$OUT" 2>"$ERR" || RC=$? ;;
    dash)  RC=0
           timeout 60 "$HERALD" -c "$CONF" send -f a@example.test -t b@example.test - \
             <"$input" >"$OUT" 2>"$ERR" || RC=$? ;;
    file)  run_herald "$OUT" "$ERR" -c "$CONF" send -d reports -f a@example.test \
             -t b@example.test "$input" </dev/null ;;
  esac
  expect_rc "send $name ($mode)" 0 "$ERR"
  expect_grep "send $name ($mode)" "$OUT" "b@example.test: delivered: "
  if got=$(only_file) && cmp "$input" "$got"; then
    pass "send $name ($mode): file is byte-identical"
  else
    fail "send $name ($mode): file differs from the input"
  fi
}

for input in plain nofinal dots crlf binary; do
  send_case "$input" stdin "$T_DIR/in/$input"
  send_case "$input" file "$T_DIR/in/$input"
done
send_case plain dash "$T_DIR/in/plain"

# An empty body is a message too.
: >"$T_DIR/in/empty"
send_case empty file "$T_DIR/in/empty"

# --json: parses, one recipient per -t, all delivered, exit 0.
rm -rf "$T_DIR/reports"
run_herald "$OUT" "$ERR" -c "$CONF" send --json -f a@example.test \
  -t b@example.test -t c@example.test "$T_DIR/in/plain"
expect_rc "send --json" 0 "$ERR"
if "$TEST_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
r = d["recipients"]
assert [x["address"] for x in r] == ["b@example.test", "c@example.test"], r
for x in r:
    assert x["status"] == "delivered", x
    assert isinstance(x["reply"], str) and x["reply"], x
    assert "host" in x and "peer" in x, x
' <"$OUT"; then pass "send --json parses, delivered"; else fail "send --json: $(cat "$OUT")"; fi

# --trace - writes the trace to stderr, and stdout keeps only the results.
rm -rf "$T_DIR/reports"
run_herald "$OUT" "$ERR" -c "$CONF" send --trace - -f a@example.test -t b@example.test \
  "$T_DIR/in/plain"
expect_rc "send --trace -" 0 "$ERR"
if [ -s "$ERR" ]; then pass "send --trace -: trace on stderr"; else fail "send --trace -: no trace"; fi
if [ "$(wc -l <"$OUT")" -eq 1 ]; then pass "send --trace -: one result line"; else
  fail "send --trace -: stdout is not one line"; fi
# --trace FILE
run_herald "$OUT" "$ERR" -c "$CONF" send --trace "$T_DIR/trace.log" -f a@example.test \
  -t b@example.test "$T_DIR/in/plain"
expect_rc "send --trace FILE" 0 "$ERR"
if [ -s "$T_DIR/trace.log" ]; then pass "send --trace FILE: written"; else
  fail "send --trace FILE: empty or missing"; fi

# A folder that is missing and may not be created: deferred, exit 75.
run_herald "$OUT" "$ERR" -c "$CONF" send -d nocreate -f a@example.test -t b@example.test \
  "$T_DIR/in/plain"
expect_rc "send to a missing folder" 75 "$ERR"
expect_grep "send to a missing folder" "$OUT" "b@example.test: deferred: "
run_herald "$OUT" "$ERR" -c "$CONF" send --json -d nocreate -f a@example.test \
  -t b@example.test "$T_DIR/in/plain"
expect_rc "send --json to a missing folder" 75 "$ERR"
if "$TEST_PYTHON" -c '
import json, sys
assert json.load(sys.stdin)["recipients"][0]["status"] == "deferred"
' <"$OUT"; then pass "send --json: deferred"; else fail "send --json deferred: $(cat "$OUT")"; fi
if [ ! -e "$T_DIR/missing" ]; then pass "nocreate: nothing created"; else
  fail "nocreate: the folder was created"; fi

# Bad addresses are refused before anything is written: exit 65.
rm -rf "$T_DIR/reports"
run_herald "$OUT" "$ERR" -c "$CONF" send -f a@example.test -t $'a\r\nb@x' "$T_DIR/in/plain"
expect_rc "send to a CRLF address" 65 "$ERR"
if grep -q $'\r' "$ERR"; then fail "bad address: raw CR echoed on stderr"; else
  pass "bad address: stderr escaped"; fi
run_herald "$OUT" "$ERR" -c "$CONF" send -f a@example.test -t nodomain "$T_DIR/in/plain"
expect_rc "send to an address without domain" 65 "$ERR"
run_herald "$OUT" "$ERR" -c "$CONF" send -f $'a\nb@x' -t b@example.test "$T_DIR/in/plain"
expect_rc "send from an LF address" 65 "$ERR"
if [ ! -e "$T_DIR/reports" ] || [ -z "$(ls -A "$T_DIR/reports")" ]; then
  pass "bad addresses: nothing written"; else fail "bad addresses: a file was written"; fi

# The null sender is allowed (bounces).
run_herald "$OUT" "$ERR" -c "$CONF" send -f '' -t b@example.test "$T_DIR/in/plain"
expect_rc "send from the null sender" 0 "$ERR"

# Usage errors: exit 64.  Unreadable MSGFILE: 66.  Unknown device: 78.
run_herald "$OUT" "$ERR" -c "$CONF" send -t b@example.test "$T_DIR/in/plain"
expect_rc "send without -f" 64 "$ERR"
run_herald "$OUT" "$ERR" -c "$CONF" send -f a@example.test "$T_DIR/in/plain"
expect_rc "send without -t" 64 "$ERR"
run_herald "$OUT" "$ERR" -c "$CONF" send -f a@example.test -t b@example.test one two
expect_rc "send with two MSGFILEs" 64 "$ERR"
run_herald "$OUT" "$ERR" -c "$CONF" send -f a@example.test -t b@example.test "$T_DIR/in/absent"
expect_rc "send an absent MSGFILE" 66 "$ERR"
run_herald "$OUT" "$ERR" -c "$CONF" send -d nosuch -f a@example.test -t b@example.test \
  "$T_DIR/in/plain"
expect_rc "send through an unknown device" 78 "$ERR"
run_herald "$OUT" "$ERR" -c "$T_DIR/absent.conf" send -f a@example.test -t b@example.test \
  "$T_DIR/in/plain"
expect_rc "send with an absent device file" 78 "$ERR"

herald_test_done
