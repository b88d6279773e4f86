#!/bin/bash
# queue_segment.sh - the spool's segments (one file per group commit) against
# the aiosmtpd capture server on loopback:
#
# 1. A file of one message in the format written before segments (made by
#    hand, with a state record of an earlier attempt) beside segments: listed,
#    shown, delivered once, removed.
# 2. Partial removal: half of a segment's messages held, the others delivered
#    by one run; the file stays with the held ones (and only they are listed);
#    released, they are delivered by a second run and the file goes.
# 3. Two runners at once on one spool: every message delivered exactly once.
# 4. A damaged image inside a segment (its index intact): that message is
#    named in list and the trace, the others are delivered, then the file is
#    set aside in bad/ with its reason.
# 5. A truncated segment (no index): the whole messages before the cut are
#    delivered, the rest named, and the file set aside.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 171

ENQ=${HERALD_BUILD_DIR:?}/bench/herald_enqueue
[ -x "$ENQ" ] || hard_error "no $ENQ"
SPOOL=$T_DIR/spool
mkdir -m 0700 "$SPOOL"
email_conf smarthost "max_sessions = 8;"
sed -i "1s|^herald: {|herald: { queue: { module = \"spool\"; path = \"$SPOOL\"; min_backoff_s = 1; max_backoff_s = 1; };|" "$CONF"
email_start_capture sh "$SH_IP"

q() { run_herald "$OUT" "$ERR" -c "$CONF" "$@"; }
listed() { "$HERALD" -c "$CONF" queue list --json | sed -n 's/^{"id":"\([0-9A-Za-z]*\)".*/\1/p'; }
# seqs FILE - the X-Seq of every message the capture server holds, one a line
seqs() { cat "$T_DIR"/sh/*.eml 2>/dev/null | sed -n 's/^X-Seq: \([0-9]*\).*/\1/p' | sort >"$1"; }
# delivered_once FIRST COUNT - X-Seq FIRST..FIRST+COUNT-1 each arrived exactly once
delivered_once() {
  seqs "$T_DIR/seen"
  local want got
  want=$(seq "$1" $(($1 + $2 - 1)) | sort)
  got=$(grep -x -F -f <(echo "$want") "$T_DIR/seen" || true)
  [ "$got" = "$want" ]
}
segments() { ls "$SPOOL/q" | grep -c '^[0-9A-F]\{24\}s$' || true; }

# 1. A file in the format of the previous release, beside segments.
"$ENQ" -c "$CONF" -n 20 -o 100 -b 20 -s 500 -f a@herald.test -t b@demo.test >"$T_DIR/ids1" \
  2>"$ERR" || fail "enqueue: $(cat "$ERR")"
old=0000000AB00000000ABCD0001
body=$(printf 'X-Seq: 900\r\nSubject: old format\r\n\r\nwritten by the previous release\r\n')
{
  printf 'HERALD-QUEUE 1\nid %s\narrival %s\ndevice email\nsender a@herald.test\n' "$old" "$(date +%s)"
  printf 'notify 0\nret 0\n8bit 0\nrcpt old@demo.test\nbody %d\n' "${#body}"
  printf '%s' "$body"
  printf '\nend\nr 0 d 1 0 0 0 4.4.1 451%%20try%%20later\n'
} >"$SPOOL/q/$old"
chmod 600 "$SPOOL/q/$old"
[ "$(segments)" -eq 1 ] && pass "20 messages in one segment file" || fail "segments: $(ls "$SPOOL/q")"
q queue show "$old"
expect_rc "show the old-format file" 0 "$ERR"
expect_grep "its recorded attempt" "$OUT" "451 try later"
[ "$(listed | wc -l)" -eq 21 ] && pass "list: 20 segment messages and the old file" || \
  fail "list: $(listed | wc -l)"
q queue run --once --trace "$TRACE"
expect_rc "run --once" 0 "$ERR"
expect_grep "old-format message delivered" "$TRACE" "$old: old@demo.test: delivered"
delivered_once 100 20 && pass "the segment's 20 delivered once" || fail "X-Seq 100..119: $(cat "$T_DIR/seen" | tr '\n' ' ')"
delivered_once 900 1 && pass "the old-format message delivered once" || fail "X-Seq 900 missing"
[ -z "$(ls -A "$SPOOL/q")" ] && pass "q/ is empty" || fail "q/: $(ls "$SPOOL/q")"

# 2. Partial removal: a segment's messages delivered over two runs.
"$ENQ" -c "$CONF" -n 30 -o 200 -b 30 -s 500 -f a@herald.test -t b@demo.test >"$T_DIR/ids2" \
  2>"$ERR" || fail "enqueue: $(cat "$ERR")"
seg=$(ls "$SPOOL/q")
awk 'NR % 2 == 0 { print $1 }' "$T_DIR/ids2" >"$T_DIR/held"
while read -r id; do q queue hold "$id" || fail "hold $id: $(cat "$ERR")"; done <"$T_DIR/held"
q queue run --once
expect_rc "run with half held" 0 "$ERR"
delivered_once 200 30 && fail "held messages were delivered" || true
n=0; for s in $(seq 200 2 228); do grep -qx "$s" "$T_DIR/seen" && n=$((n + 1)); done
[ "$n" -eq 15 ] && pass "the 15 not held delivered" || fail "$n of 15 delivered"
[ "$(ls "$SPOOL/q")" = "$seg" ] && pass "the segment file stays for its held messages" || \
  fail "q/: $(ls "$SPOOL/q")"
grep -a -c ' x$' "$SPOOL/q/$seg" >"$T_DIR/x" || true
[ "$(cat "$T_DIR/x")" -eq 15 ] && pass "15 removal records appended" || fail "$(cat "$T_DIR/x") removal records"
[ "$(listed | sort)" = "$(sort "$T_DIR/held")" ] && pass "list: only the held ones" || \
  fail "list: $(listed | wc -l) entries"
while read -r id; do q queue release "$id" || fail "release $id"; done <"$T_DIR/held"
q queue run --once
expect_rc "second run" 0 "$ERR"
delivered_once 200 30 && pass "all 30 delivered, each once" || fail "X-Seq 200..229 not each once"
[ -z "$(ls -A "$SPOOL/q")" ] && pass "the segment left q/ with its last message" || fail "q/: $(ls "$SPOOL/q")"

# 3. Two runners on one spool.
"$ENQ" -c "$CONF" -n 1000 -o 1000 -b 100 -s 500 -f a@herald.test -t b@demo.test >/dev/null \
  2>"$ERR" || fail "enqueue: $(cat "$ERR")"
[ "$(segments)" -eq 10 ] && pass "1000 messages in 10 segments" || fail "q/: $(ls "$SPOOL/q" | wc -l) files"
"$HERALD" -c "$CONF" queue run --once --trace "$T_DIR/r1.trace" >/dev/null 2>"$T_DIR/r1.err" &
r1=$!
"$HERALD" -c "$CONF" queue run --once --trace "$T_DIR/r2.trace" >/dev/null 2>"$T_DIR/r2.err" &
r2=$!
wait "$r1" && pass "runner 1 exit 0" || fail "runner 1: $(cat "$T_DIR/r1.err")"
wait "$r2" && pass "runner 2 exit 0" || fail "runner 2: $(cat "$T_DIR/r2.err")"
for _ in 1 2 3; do   # what a runner skipped while the other held its segment
  [ -z "$(ls -A "$SPOOL/q")" ] && break
  q queue run --once
done
delivered_once 1000 1000 && pass "1000 delivered, none twice" || \
  fail "$(seqs "$T_DIR/s"; sort "$T_DIR/s" | uniq -d | wc -l) duplicates or losses in 1000..1999"
echo "runner 1 delivered $(grep -c 's[0-9A-F]\{4\}: b@demo.test: delivered' "$T_DIR/r1.trace" || true)," \
  "runner 2 $(grep -c 's[0-9A-F]\{4\}: b@demo.test: delivered' "$T_DIR/r2.trace" || true)"
[ -z "$(ls -A "$SPOOL/q")" ] && pass "q/ is empty after both" || fail "q/: $(ls "$SPOOL/q")"

# 4. One damaged image in a segment whose index is intact.
"$ENQ" -c "$CONF" -n 10 -o 3000 -b 10 -s 500 -f a@herald.test -t b@demo.test >"$T_DIR/ids4" \
  2>"$ERR" || fail "enqueue: $(cat "$ERR")"
seg=$(ls "$SPOOL/q")
bad_id=$(sed -n '4s/ .*//p' "$T_DIR/ids4")
"$TEST_PYTHON" - "$SPOOL/q/$seg" "$bad_id" <<'PY' || fail "cannot damage the segment"
import sys
p, bad = sys.argv[1], sys.argv[2].encode()
data = bytearray(open(p, "rb").read())
at = data.index(b"id " + bad + b"\n")
r = data.index(b"\nrcpt ", at)
data[r + 1:r + 5] = b"rcqt"          # same length: the other offsets hold
open(p, "wb").write(data)
PY
q queue list
expect_grep "list names the damaged message" "$OUT" "$bad_id  QUARANTINED"
q queue run --once --trace "$TRACE"
expect_rc "run with a damaged message" 0 "$ERR"
expect_grep "trace names the damage" "$TRACE" "$seg: damaged: message 3: bad header line"
n=0; for s in 3000 3001 3002 3004 3005 3006 3007 3008 3009; do
  grep -qx "$s" <(seqs /dev/stdout) && n=$((n + 1)); done
[ "$n" -eq 9 ] && pass "the 9 intact messages delivered" || fail "$n of 9 delivered"
expect_grep "then set aside" "$TRACE" "$seg: corrupt queue file set aside"
[ -e "$SPOOL/bad/$seg" ] && [ -e "$SPOOL/bad/$seg.why" ] && pass "the file is in bad/ with its reason" || \
  fail "bad/: $(ls "$SPOOL/bad")"
[ -z "$(ls -A "$SPOOL/q")" ] && pass "q/ is empty" || fail "q/: $(ls "$SPOOL/q")"
q queue list
expect_grep "list names the set-aside segment" "$OUT" "$seg  QUARANTINED"

# 5. A truncated segment: cut in the middle of its 7th message.
"$ENQ" -c "$CONF" -n 10 -o 4000 -b 10 -s 500 -f a@herald.test -t b@demo.test >"$T_DIR/ids5" \
  2>"$ERR" || fail "enqueue: $(cat "$ERR")"
seg=$(ls "$SPOOL/q")
"$TEST_PYTHON" - "$SPOOL/q/$seg" <<'PY' || fail "cannot truncate the segment"
import sys
p = sys.argv[1]
data = open(p, "rb").read()
starts = [i for i in range(len(data)) if data.startswith(b"HERALD-QUEUE 1\n", i)]
open(p, "wb").write(data[:starts[6] + 100])
PY
q queue list
expect_grep "list names a message past the cut" "$OUT" "$(sed -n '8s/ .*//p' "$T_DIR/ids5")  QUARANTINED"
q queue run --once --trace "$TRACE"
expect_rc "run with a truncated segment" 0 "$ERR"
n=0; for s in $(seq 4000 4005); do grep -qx "$s" <(seqs /dev/stdout) && n=$((n + 1)); done
[ "$n" -eq 6 ] && pass "the 6 whole messages before the cut delivered" || fail "$n of 6 delivered"
expect_grep "trace: set aside" "$TRACE" "$seg: corrupt queue file set aside as"
expect_grep "trace: truncated" "$TRACE" "truncated segment (no index)"
[ -e "$SPOOL/bad/$seg" ] && pass "the truncated segment is in bad/" || fail "bad/: $(ls "$SPOOL/bad")"
[ -z "$(ls -A "$SPOOL/q")" ] && pass "q/ is empty" || fail "q/: $(ls "$SPOOL/q")"
[ -z "$(ls -A "$SPOOL/tmp")" ] && pass "tmp/ is empty" || fail "tmp/: $(ls "$SPOOL/tmp")"
expect_no_sanitizer "queue run"

herald_test_done
