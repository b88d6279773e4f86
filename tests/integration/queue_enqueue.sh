#!/bin/bash
# queue_enqueue.sh - herald send --queue and the batch API (bench/herald_enqueue):
# the id printed is a whole file in q/; the file holds the envelope, the DSN
# parameters and the body byte for byte; a batch of 200 commits all of them;
# a missing, foreign-owned or group-writable spool, a bad range in
# herald.queue, a message too large and a bad address are clear errors that
# leave nothing behind; a full disk (a 256 KiB tmpfs) fails the enqueue with
# exit 75 and leaves no file in tmp/ or q/, and the files queued before stay;
# herald options spool (and options queue spool --json) lists the store's options.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"
herald_test_init

ENQ=${HERALD_BUILD_DIR:?}/bench/herald_enqueue
[ -x "$ENQ" ] || hard_error "no $ENQ"
SPOOL=$T_DIR/spool
mkdir -m 0700 "$SPOOL"
CONF=$T_DIR/herald.conf
OUT=$T_DIR/out
ERR=$T_DIR/err

# conf SPOOL [EXTRA] - a file device and herald.queue on SPOOL
conf() {
  cat >"$CONF" <<CONF
herald: {
  queue: { module = "spool"; path = "$1"; min_backoff_s = 1; max_backoff_s = 2; lifetime_s = 5;
           ${2:-} };
};
devices = ( { name = "out"; driver = "file"; path = "$T_DIR/delivered"; create = true; } );
CONF
}
conf "$SPOOL"

printf 'Subject: queued\r\n\r\nline one\r\n.dot line\r\n' >"$T_DIR/msg"
run_herald "$OUT" "$ERR" -c "$CONF" send --queue -f a@herald.test -t b@demo.test \
  -t c@demo.test -N failure,delay -R hdrs -V env-42 "$T_DIR/msg"
expect_rc "send --queue" 0 "$ERR"
id=$(sed -n 's/^queued: \([0-9A-Za-z]*\)$/\1/p' "$OUT")
if [ -n "$id" ] && [ -f "$SPOOL/q/$id" ]; then pass "queued: $id is in q/"; else
  fail "no id or no file: $(cat "$OUT")"; fi
f=$SPOOL/q/$id
expect_grep "envelope sender" "$f" "sender a@herald.test"
expect_grep "first recipient" "$f" "rcpt b@demo.test"
expect_grep "second recipient" "$f" "rcpt c@demo.test"
expect_grep "NOTIFY failure,delay" "$f" "notify 12"
expect_grep "RET=HDRS" "$f" "ret 2"
expect_grep "ENVID" "$f" "envid env-42"
expect_grep "device" "$f" "device out"
# The body follows "body N" byte for byte, then the end mark.
"$TEST_PYTHON" - "$f" "$T_DIR/msg" <<'PY' && pass "body stored byte for byte" || fail "body differs"
import sys
data = open(sys.argv[1], "rb").read()
body = open(sys.argv[2], "rb").read()
head, rest = data.split(b"\nbody %d\n" % len(body), 1)
assert rest[:len(body)] == body, rest[:len(body)]
assert rest[len(body):len(body) + 5] == b"\nend\n"
PY
if [ -z "$(ls -A "$SPOOL/tmp")" ]; then pass "tmp/ is empty"; else fail "tmp/ holds $(ls "$SPOOL/tmp")"; fi
# A body over 1 MiB is copied from its reader rather than held whole in
# memory (queue_spool.c's SPOOL_IMAGE_MAX): the same file, byte for byte.
head -c 1500000 /dev/urandom | base64 -w 76 | sed 's/$/\r/' >"$T_DIR/large.msg"
run_herald "$OUT" "$ERR" -c "$CONF" send --queue -f a@herald.test -t b@demo.test "$T_DIR/large.msg"
expect_rc "send --queue, 2 MB" 0 "$ERR"
large=$SPOOL/q/$(sed -n 's/^queued: \([0-9A-Za-z]*\)$/\1/p' "$OUT")
"$TEST_PYTHON" - "$large" "$T_DIR/large.msg" <<'PY' && pass "2 MB body stored byte for byte" || fail "2 MB body differs"
import sys
data = open(sys.argv[1], "rb").read()
body = open(sys.argv[2], "rb").read()
assert len(body) > 1 << 20
head, rest = data.split(b"\nbody %d\n" % len(body), 1)
assert rest == body + b"\nend\n"
PY
mode=$(stat -c %a "$f")
[ "$mode" = 600 ] && pass "queue file mode 600" || fail "queue file mode $mode"

run_herald "$OUT" "$ERR" -c "$CONF" send --queue --json -f "" -t b@demo.test "$T_DIR/msg"
expect_rc "send --queue --json, null sender" 0 "$ERR"
"$TEST_PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert list(d)==["queued"] and d["queued"]' \
  "$OUT" && pass "json {\"queued\":ID}" || fail "json: $(cat "$OUT")"

# The batch API: 200 messages in batches of 50, every id printed is queued,
# each commit in one file of q/ (a segment: queue_spool.c).
listed() { "$HERALD" -c "$CONF" queue list --json | sed -n 's/^{"id":"\([0-9A-Za-z]*\)".*/\1/p'; }
before=$(listed | wc -l)
files_before=$(ls "$SPOOL/q" | wc -l)
if "$ENQ" -c "$CONF" -n 200 -b 50 -s 1000 -f a@herald.test -t b@demo.test >"$OUT" 2>"$ERR"; then
  pass "herald_enqueue 200"; else fail "herald_enqueue: $(cat "$ERR")"; fi
n=$(wc -l <"$OUT")
[ "$n" -eq 200 ] && pass "200 ids acknowledged" || fail "$n ids acknowledged"
listed | sort >"$T_DIR/listed"
missing=$(cut -d' ' -f1 "$OUT" | sort | comm -23 - "$T_DIR/listed" | wc -l)
[ "$missing" -eq 0 ] && pass "every acknowledged id is queued (queue list)" || fail "$missing ids missing"
after=$(wc -l <"$T_DIR/listed")
[ "$after" -eq $((before + 200)) ] && pass "the queue grew by 200" || fail "the queue has $after, was $before"
files_after=$(ls "$SPOOL/q" | wc -l)
[ "$files_after" -eq $((files_before + 4)) ] && pass "4 commits, 4 files in q/" || \
  fail "q/ grew by $((files_after - files_before)) files for 4 commits"
[ "$(sort -u <(cut -d' ' -f1 "$OUT") | wc -l)" -eq 200 ] && pass "200 distinct ids" || fail "ids repeat"

# Errors: each clear, each leaves q/ and tmp/ as they were.
count_q() { ls "$SPOOL/q" | wc -l; }
q0=$(count_q)
run_herald "$OUT" "$ERR" -c "$CONF" send --queue -f a@herald.test -t 'bad address@' "$T_DIR/msg"
expect_rc "bad recipient" 65 "$ERR"
conf "$SPOOL" "max_message_size = 10;"
run_herald "$OUT" "$ERR" -c "$CONF" send --queue -f a@herald.test -t b@demo.test "$T_DIR/msg"
expect_rc "message too large" 65 "$ERR"
expect_grep "too large names the limit" "$ERR" "max_message_size"
expect_grep "too large names the config line" "$ERR" "$CONF:2"
[ "$(count_q)" -eq "$q0" ] && pass "refusals queued nothing" || fail "q/ changed"
[ -z "$(ls -A "$SPOOL/tmp")" ] && pass "refusals left nothing in tmp/" || fail "tmp/ not empty"

cat >"$CONF" <<CONF
herald: { queue: { module = "spool"; path = "$SPOOL";
                   min_backoff_s = 0; }; };
devices = ( { name = "out"; driver = "file"; path = "$T_DIR/delivered"; create = true; } );
CONF
run_herald "$OUT" "$ERR" -c "$CONF" send --queue -f a@herald.test -t b@demo.test "$T_DIR/msg"
expect_rc "min_backoff_s = 0" 78 "$ERR"
expect_grep "range error at FILE:LINE" "$ERR" "$CONF:2: herald: option \"queue.min_backoff_s\""
cat >"$CONF" <<CONF
herald: { queue: { module = "spool"; path = "$SPOOL"; min_backoff_s = 9; max_backoff_s = 2; }; };
devices = ( { name = "out"; driver = "file"; path = "$T_DIR/delivered"; create = true; } );
CONF
run_herald "$OUT" "$ERR" -c "$CONF" send --queue -f a@herald.test -t b@demo.test "$T_DIR/msg"
expect_rc "min > max backoff" 78 "$ERR"
expect_grep "min > max at FILE:LINE" "$ERR" "$CONF:1:"
cat >"$CONF" <<CONF
herald: { queue: { module = "nosuch"; }; };
devices = ( { name = "out"; driver = "file"; path = "$T_DIR/delivered"; create = true; } );
CONF
run_herald "$OUT" "$ERR" -c "$CONF" send --queue -f a@herald.test -t b@demo.test "$T_DIR/msg"
expect_rc "unknown queue module" 78 "$ERR"
expect_grep "unknown module named" "$ERR" "queue-nosuch.so not found"

conf "$T_DIR/nospool"
run_herald "$OUT" "$ERR" -c "$CONF" send --queue -f a@herald.test -t b@demo.test "$T_DIR/msg"
expect_rc "missing spool" 78 "$ERR"
expect_grep "missing spool named" "$ERR" "$T_DIR/nospool: spool folder: No such file or directory"
mkdir -m 0770 "$T_DIR/groupspool"
conf "$T_DIR/groupspool"
run_herald "$OUT" "$ERR" -c "$CONF" send --queue -f a@herald.test -t b@demo.test "$T_DIR/msg"
expect_rc "group-writable spool" 78 "$ERR"
expect_grep "group-writable named" "$ERR" "writable by group or others"
mkdir -m 0700 "$T_DIR/foreign"
chown 65534 "$T_DIR/foreign"
conf "$T_DIR/foreign"
run_herald "$OUT" "$ERR" -c "$CONF" send --queue -f a@herald.test -t b@demo.test "$T_DIR/msg"
expect_rc "foreign-owned spool" 78 "$ERR"
expect_grep "foreign owner named" "$ERR" "owned by uid 65534"

# A full disk: a 256 KiB tmpfs.  Mounting needs root, which CI has: a mount
# that fails is a failure of this test, never a skip.
SMALL=$T_DIR/small
mkdir -m 0700 "$SMALL"
if mount -t tmpfs -o size=256k,mode=0700 tmpfs "$SMALL"; then
  pass "tmpfs mounted"
  trap 'umount "$SMALL" 2>/dev/null || true; herald_test_cleanup' EXIT
else
  fail "cannot mount a tmpfs (the full-disk test needs root)"
  herald_test_done
fi
conf "$SMALL"
printf 'Subject: small\r\n\r\nsmall\r\n' >"$T_DIR/small.msg"
run_herald "$OUT" "$ERR" -c "$CONF" send --queue -f a@herald.test -t b@demo.test "$T_DIR/small.msg"
expect_rc "small message on the tmpfs" 0 "$ERR"
small_id=$(sed -n 's/^queued: //p' "$OUT")
head -c 400000 /dev/urandom >"$T_DIR/big.msg"
run_herald "$OUT" "$ERR" -c "$CONF" send --queue -f a@herald.test -t b@demo.test "$T_DIR/big.msg"
expect_rc "full disk" 75 "$ERR"
expect_grep "full disk said" "$ERR" "the spool's disk is full"
[ -z "$(ls -A "$SMALL/tmp")" ] && pass "full disk: nothing in tmp/" || fail "tmp/: $(ls "$SMALL/tmp")"
[ "$(ls "$SMALL/q")" = "$small_id" ] && pass "full disk: only the earlier message in q/" || \
  fail "q/: $(ls "$SMALL/q")"
run_herald "$OUT" "$ERR" -c "$CONF" send --queue -f a@herald.test -t b@demo.test "$T_DIR/large.msg"
expect_rc "full disk, 2 MB (copied from its reader)" 75 "$ERR"
expect_grep "full disk said, 2 MB" "$ERR" "the spool's disk is full"
[ -z "$(ls -A "$SMALL/tmp")" ] && pass "full disk, 2 MB: nothing in tmp/" || fail "tmp/: $(ls "$SMALL/tmp")"
# A batch that fills the disk midway: none of the batch is queued.
"$ENQ" -c "$CONF" -n 100 -b 100 -s 4000 -f a@herald.test -t b@demo.test >"$OUT" 2>"$ERR" && \
  fail "a batch larger than the disk was acknowledged" || pass "a batch larger than the disk fails"
[ ! -s "$OUT" ] && pass "no id of the failed batch acknowledged" || fail "ids printed: $(head -3 "$OUT")"
[ "$(ls "$SMALL/q")" = "$small_id" ] && pass "failed batch: nothing of it in q/" || \
  fail "q/: $(ls "$SMALL/q" | head)"
[ -z "$(ls -A "$SMALL/tmp")" ] && pass "failed batch: nothing in tmp/" || fail "tmp/ not empty"
umount "$SMALL"

# herald options lists the store's options, read from the module (kind "queue").
conf "$SPOOL"
run_herald "$OUT" "$ERR" -c "$CONF" options spool
expect_rc "options spool" 0 "$ERR"
expect_grep "options spool" "$OUT" "queue spool ("
for o in path min_backoff_s max_backoff_s lifetime_s delay_warning_s max_message_size; do
  if awk -v n="$o" '$1 == n { f = 1 } END { exit !f }' "$OUT"; then pass "options spool: $o"
  else fail "options spool: no $o in: $(cat "$OUT")"; fi
done
expect_grep "options spool: min_backoff_s default" "$OUT" "1..86400, default 300"
run_herald "$OUT" "$ERR" -c "$CONF" options queue spool --json
expect_rc "options queue spool --json" 0 "$ERR"
if "$TEST_PYTHON" -c '
import json, sys
m, = json.load(sys.stdin)["modules"]
assert (m["kind"], m["name"]) == ("queue", "spool"), m
o = {x["name"]: x for x in m["options"]}
assert o["lifetime_s"]["default"] == 432000 and o["lifetime_s"]["min"] == 1, o["lifetime_s"]
' <"$OUT"; then pass "options queue spool --json: lifetime_s"; else fail "options --json: $(cat "$OUT")"; fi
run_herald "$OUT" "$ERR" -c "$CONF" options queue smtp
expect_rc "options queue smtp (no such queue module)" 69 "$ERR"

herald_test_done
