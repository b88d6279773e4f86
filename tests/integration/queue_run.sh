#!/bin/bash
# queue_run.sh - the queue runner against real servers on loopback (dnsmasq,
# capture_smtpd.py): a message to an MX that is down is queued and deferred
# (attempts, next try and the last reply in "queue list"); the MX comes up;
# "queue run --once" delivers it, the trace says so, and it leaves the queue.
# Two recipients of one domain go in one transaction; a recipient refused
# with 550 fails at once and its sender gets an RFC 3464 report (parsed with
# python's email package) with the original headers (RET=HDRS); a message
# past its lifetime (1 s) fails with its last reply and is reported too; a
# null-sender message never produces a report; hold, release, delete; a
# corrupt queue file is set aside, named in the trace and in list, and the
# other messages are still delivered.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 60

SPOOL=$T_DIR/spool
mkdir -m 0700 "$SPOOL"
email_conf mx
# queue_conf LIFETIME [DELAY_WARNING] - herald.queue with 1-second backoffs
queue_conf() {
  sed -i '/^herald:/d' "$CONF"
  sed -i "1i herald: { dns: { servers = [ \"127.0.0.1:$DNS_PORT\" ]; timeout_ms = 1000; tries = 1; }; queue: { module = \"spool\"; path = \"$SPOOL\"; min_backoff_s = 1; max_backoff_s = 2; lifetime_s = $1; delay_warning_s = ${2:-0}; }; };" "$CONF"
}
queue_conf 3600
printf 'From: a@demo.test\r\nTo: b@demo.test\r\nSubject: queued demo\r\n\r\nthe body\r\n' \
  >"$T_DIR/msg"

q() { run_herald "$OUT" "$ERR" -c "$CONF" "$@"; }
queued_id() { sed -n 's/^queued: //p' "$OUT"; }

# 1. Both MX down: queued, then deferred by the runner.
q send --queue -f a@demo.test -t b@demo.test -t c@demo.test "$T_DIR/msg"
expect_rc "enqueue" 0 "$ERR"
id1=$(queued_id)
rm -f "$TRACE"
q queue run --once --trace "$TRACE"
expect_rc "run --once with the MX down" 0 "$ERR"
expect_grep "trace: deferred" "$TRACE" "$id1: b@demo.test: deferred: "
expect_grep "trace: will retry" "$TRACE" "(will retry)"
q queue list --json
expect_rc "list --json" 0 "$ERR"
"$TEST_PYTHON" - "$OUT" "$id1" <<'PY' && pass "list: deferred, 1 attempt, next try, reply" || fail "list: $(cat "$OUT")"
import json, sys, time
rows = [json.loads(l) for l in open(sys.argv[1])]
m = [r for r in rows if r["id"] == sys.argv[2]][0]
assert m["sender"] == "a@demo.test" and m["size"] > 0, m
for r in m["recipients"]:
    assert r["state"] == "deferred" and r["attempts"] == 1, r
    assert r["next_try"] > time.time() - 5 and r["reply"], r
PY
q queue list
expect_grep "text list names the id" "$OUT" "$id1"
expect_grep "text list shows the state" "$OUT" "b@demo.test: deferred, 1 attempt(s), next try"

# 2. The MX comes up; run --once delivers (flush makes it due without waiting).
email_start_capture mx2 "$MX2_IP"
q queue flush "$id1"
expect_rc "flush ID" 0 "$ERR"
rm -f "$TRACE"
q queue run --once --trace "$TRACE"
expect_rc "run --once with mx2 up" 0 "$ERR"
expect_grep "trace: delivered" "$TRACE" "$id1: b@demo.test: delivered: 250"
expect_grep "trace: removed" "$TRACE" "$id1: every recipient is final: removed from the queue"
[ ! -e "$SPOOL/q/$id1" ] && pass "the delivered message left q/" || fail "$id1 still queued"
n=$(ls "$T_DIR/mx2"/*.json 2>/dev/null | wc -l)
[ "$n" -eq 1 ] && pass "one transaction at mx2" || fail "$n transactions at mx2"
expect_grep "both recipients in the one transaction" "$T_DIR/mx2/1.json" "c@demo.test"
expect_grep "the body arrived" "$T_DIR/mx2/1.eml" "the body"

# 3. A 550 recipient fails at once: a report to the sender, headers only.
q send --queue -f a@demo.test -t reject-x@demo.test -R hdrs -V env-7 "$T_DIR/msg"
id2=$(queued_id)
rm -f "$TRACE"
q queue run --once --trace "$TRACE"
expect_grep "trace: failed" "$TRACE" "$id2: reject-x@demo.test: failed: 550"
expect_grep "trace: report queued" "$TRACE" "$id2: failure notification to <a@demo.test> queued as"
# The report is itself queued: a second pass delivers it to a@demo.test.
q queue run --once --trace "$TRACE"
dsn=$(grep -l '"mail_from": "<>"' "$T_DIR/mx2"/*.json | head -1 || true)
if [ -n "$dsn" ]; then pass "a null-sender report reached mx2"; else fail "no report"; fi
"$TEST_PYTHON" - "${dsn%.json}.eml" "$id2" <<'PY' && pass "report: multipart/report per RFC 3464" || fail "report malformed"
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.compat32)
assert m.get_content_type() == "multipart/report", m.get_content_type()
assert m.get_param("report-type") == "delivery-status"
parts = m.get_payload()
assert parts[0].get_content_type() == "text/plain"
assert parts[1].get_content_type() == "message/delivery-status"
blocks = parts[1].get_payload()
assert blocks[0]["Original-Envelope-Id"] == "env-7", blocks[0].items()
r = blocks[1]
assert r["Action"] == "failed" and r["Status"].startswith("5."), r.items()
assert r["Final-Recipient"] == "rfc822; reject-x@demo.test", r.items()
assert r["Diagnostic-Code"].startswith("smtp; 550"), r.items()
assert parts[2].get_content_type() == "text/rfc822-headers"
text = parts[2].get_payload()
assert "Subject: queued demo" in text and "the body" not in text, text
PY

# 4. Lifetime: 1 s.  The message fails with its last reply, and is reported.
queue_conf 1
q send --queue -f a@demo.test -t x@twin.test "$T_DIR/msg"
id3=$(queued_id)
rm -f "$TRACE"
# Deferred (mx1 is down) until the lifetime ends; bounded: 40 runs 100 ms apart.
for _ in $(seq 40); do
  q queue run --once --trace "$TRACE"
  [ -e "$SPOOL/q/$id3" ] || break
  q queue flush "$id3"
  sleep 0.1
done
expect_grep "trace: deferred first" "$TRACE" "$id3: x@twin.test: deferred: "
expect_grep "trace: expired with the last reply" "$TRACE" \
  "Connection refused (expired after 1 s in the queue)"
[ ! -e "$SPOOL/q/$id3" ] && pass "the expired message left q/" || fail "$id3 still queued"
expect_grep "trace: expiry reported" "$TRACE" "$id3: failure notification to <a@demo.test>"
queue_conf 3600

# 4b. delay_warning_s = 1 and -N delay: one "still trying" report, Action: delayed.
queue_conf 3600 1
q send --queue -f a@demo.test -t slow@twin.test -N delay,failure "$T_DIR/msg"
id8=$(queued_id)
rm -f "$TRACE"
for _ in $(seq 40); do   # bounded: 40 runs 100 ms apart, until the warning is due
  q queue run --once --trace "$TRACE"
  grep -q "$id8: delay notification" "$TRACE" && break
  q queue flush "$id8"
  sleep 0.1
done
expect_grep "trace: delay warning queued" "$TRACE" "$id8: delay notification to <a@demo.test> queued as"
n_warn=$(grep -c "$id8: delay notification" "$TRACE" || true)
q queue flush "$id8"
q queue run --once --trace "$TRACE"
[ "$(grep -c "$id8: delay notification" "$TRACE")" -eq "$n_warn" ] && pass "the delay warning is sent once" || \
  fail "more than one delay warning"
[ -e "$SPOOL/q/$id8" ] && pass "the delayed message stays queued" || fail "$id8 left the queue"
warn=$(grep -l "Action: delayed" "$T_DIR/mx2"/*.eml | head -1 || true)
if [ -n "$warn" ]; then pass "the delay report reached mx2"; else fail "no delay report at mx2"; fi
"$TEST_PYTHON" - "$warn" <<'PY' && pass "delay report parses: Action delayed, Status 4.x.x" || fail "delay report malformed"
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
assert m.get_content_type() == "multipart/report"
r = m.get_payload()[1].get_payload()[1]
assert r["Action"] == "delayed" and r["Status"].startswith("4."), r.items()
assert r["Final-Recipient"] == "rfc822; slow@twin.test"
PY
q queue delete "$id8"
queue_conf 3600

# 5. A null-sender message that fails produces no report.
q send --queue -f "" -t reject-y@demo.test "$T_DIR/msg"
id4=$(queued_id)
rm -f "$TRACE"
q queue run --once --trace "$TRACE"
expect_grep "null sender: failed" "$TRACE" "$id4: reject-y@demo.test: failed"
expect_no_grep "null sender: no report" "$TRACE" "$id4: failure notification"

# 6. hold / release / delete.
q send --queue -f a@demo.test -t held@demo.test "$T_DIR/msg"
id5=$(queued_id)
q queue hold "$id5"
expect_rc "hold" 0 "$ERR"
q queue run --once
[ -e "$SPOOL/q/$id5" ] && pass "a held message stays" || fail "held message delivered"
q queue list --json
expect_grep "list shows held" "$OUT" '"held":true'
q queue release "$id5"
q queue run --once
[ ! -e "$SPOOL/q/$id5" ] && pass "released, then delivered" || fail "$id5 still queued"
q send --queue -f a@demo.test -t gone@demo.test "$T_DIR/msg"
id6=$(queued_id)
q queue hold "$id6"
rm -f "$TRACE"
q queue delete --trace "$TRACE" "$id6"
expect_rc "--trace is for run only" 64 "$ERR"
q queue delete "$id6"
expect_rc "delete" 0 "$ERR"
[ ! -e "$SPOOL/q/$id6" ] && pass "deleted" || fail "$id6 still queued"
q queue show "$id6"
expect_rc "show a deleted id" 66 "$ERR"
q queue delete "../../etc/passwd"
expect_rc "a path is not an id" 66 "$ERR"

# 7. A corrupt queue file is set aside and never blocks the others.
q send --queue -f a@demo.test -t after-corrupt@demo.test "$T_DIR/msg"
id7=$(queued_id)
printf 'HERALD-QUEUE 1\nid 0BADF00D\ngarbage\n' >"$SPOOL/q/0BADF00D"
head -c 100 "$SPOOL/q/$id7" >"$SPOOL/q/0TRUNCATED"
q queue list
expect_grep "list names the corrupt file" "$OUT" "0BADF00D  QUARANTINED"
rm -f "$TRACE"
q queue run --once --trace "$TRACE"
expect_rc "run with corrupt files" 0 "$ERR"
expect_grep "trace names the corrupt file" "$TRACE" "0BADF00D: corrupt queue file set aside"
expect_grep "trace names the truncated file" "$TRACE" "0TRUNCATED: corrupt queue file set aside"
expect_grep "the others are delivered" "$TRACE" "$id7: after-corrupt@demo.test: delivered"
[ -e "$SPOOL/bad/0BADF00D" ] && pass "moved to bad/" || fail "not in bad/"
q queue list --json
expect_grep "list --json names the quarantined file" "$OUT" '"id":"0TRUNCATED","quarantined":true'
expect_no_sanitizer "queue commands"

herald_test_done
