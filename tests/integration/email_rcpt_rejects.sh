#!/bin/bash
# email_rcpt_rejects.sh - steps 6 and 7: a 5xx to RCPT fails the recipient
# (exit 69, the server's text in the JSON reply); mixed recipients (250, 550,
# 450 from fault_smtpd rcpt-mixed) get one outcome each and exit 69, since
# cli/cmd_send.c documents "69 any failed (failed wins)".
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 6

printf 'Subject: steps 6 and 7\n\nhello\n' >"$T_DIR/msg"
email_conf mx

# Step 6: capture_smtpd answers RCPT TO:<reject...> with 550 5.1.1.
email_start_capture mx1 "$MX1_IP"
email_send -t reject-me@demo.test "$T_DIR/msg"
expect_rc "5xx to RCPT" 69 "$ERR"
expect_json reject-me@demo.test status failed
expect_json_has reject-me@demo.test reply "550 5.1.1 No such user"
expect_json reject-me@demo.test dsn 5.1.1
expect_grep "trace: the 550" "$TRACE" "S: 550 5.1.1 No such user"
expect_no_grep "no mx2 for a permanent failure" "$TRACE" "hop 2/2"
if [ ! -e "$T_DIR/mx1/1.json" ]; then pass "nothing stored"; else fail "a message was stored"; fi
expect_no_sanitizer "5xx to RCPT"

# Step 7: one accepted, one 550, one 450 in the same transaction.
kill "${T_PIDS[-1]}"; wait "${T_PIDS[-1]}" 2>/dev/null || true
email_start_fault mx1 "$MX1_IP" rcpt-mixed
email_send -t ok@demo.test -t bad@demo.test -t tmp@demo.test "$T_DIR/msg"
expect_rc "mixed recipients: failed wins" 69 "$ERR"
if "$TEST_PYTHON" -c '
import json, sys
doc = json.load(open(sys.argv[1]))
addrs = [r["address"] for r in doc["recipients"]]
assert sorted(addrs) == ["bad@demo.test", "ok@demo.test", "tmp@demo.test"], addrs' "$OUT"
then pass "mixed recipients: one outcome each"
else fail "mixed recipients: not one outcome each"; sed 's/^/  | /' "$OUT" >&2; fi
expect_json ok@demo.test status delivered
expect_json bad@demo.test status failed
expect_json_has bad@demo.test reply "550 5.1.1 No such user"
expect_json tmp@demo.test status deferred
expect_json_has tmp@demo.test reply "450 4.2.0 Mailbox busy"
expect_grep "server got the message" "$T_DIR/mx1.rec" "(body "
if [ "$(grep -c '^DATA' "$T_DIR/mx1.rec")" = 1 ]; then pass "one DATA for the accepted one"
else fail "not exactly one DATA"; sed 's/^/  | /' "$T_DIR/mx1.rec" >&2; fi
expect_no_sanitizer "mixed recipients"

herald_test_done
