#!/bin/bash
# sendmail_queue.sh - herald-sendmail with herald.queue in the device file:
# the message is queued (nothing printed, exit 0, even with the MX down),
# "herald queue list" and "herald-sendmail -bp" show it with its sender and
# recipients, "herald-sendmail -q" delivers it once the MX is up (capture
# server on loopback) with the headers added and the Bcc field gone, and the
# queue is empty after.  -q with an interval and -bp with an address are
# usage errors; a spool that is missing is a configuration error (78).
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 158

# installcheck names the installed one ($(sbindir) need not be bindir/../sbin).
if [ -n "${HERALD_SENDMAIL_BIN:-}" ]; then
  SENDMAIL=$HERALD_SENDMAIL_BIN
elif [ -n "${HERALD_BIN:-}" ]; then
  SENDMAIL=$(dirname "$HERALD_BIN")/../sbin/herald-sendmail
else
  SENDMAIL=$HERALD_BUILD_DIR/cli/herald-sendmail
fi
[ -x "$SENDMAIL" ] || hard_error "no herald-sendmail at $SENDMAIL"

SPOOL=$T_DIR/spool
mkdir -m 0700 "$SPOOL"
email_conf mx
sed -i '/^herald:/d' "$CONF"
sed -i "1i herald: { dns: { servers = [ \"127.0.0.1:$DNS_PORT\" ]; timeout_ms = 1000; tries = 1; }; queue: { module = \"spool\"; path = \"$SPOOL\"; min_backoff_s = 1; max_backoff_s = 2; }; };" "$CONF"

# sm INPUT ARGS... - herald-sendmail -C $CONF ARGS < INPUT; $RC, $OUT, $ERR
sm() {
  local input=$1
  shift
  RC=0
  timeout 60 "$SENDMAIL" -C "$CONF" "$@" <"$input" >"$OUT" 2>"$ERR" || RC=$?
}

# 1. PHP-style, with no server up: queued at once, silently.
printf 'To: a@demo.test\nCc: b@demo.test\nBcc: c@demo.test\nSubject: queued\n\nqueued body\n.\nstill body (-i)\n' \
  >"$T_DIR/msg"
sm "$T_DIR/msg" -t -i -f sender@herald.test
expect_rc "queued" 0 "$ERR"
[ ! -s "$OUT" ] && [ ! -s "$ERR" ] && pass "queued: nothing printed" || \
  fail "queued printed: $(cat "$OUT" "$ERR")"
[ "$(ls "$SPOOL/q" | wc -l)" -eq 1 ] && pass "one file in q/" || fail "q/: $(ls "$SPOOL/q")"
id=$(ls "$SPOOL/q")

run_herald "$OUT" "$ERR" -c "$CONF" queue list
expect_rc "herald queue list" 0 "$ERR"
expect_grep "list: the id and sender" "$OUT" "$id"
expect_grep "list: sender" "$OUT" "from <sender@herald.test>"
for r in a b c; do expect_grep "list: $r" "$OUT" "    $r@demo.test: deferred"; done
cp "$OUT" "$T_DIR/list.herald"
sm /dev/null -bp
expect_rc "-bp" 0 "$ERR"
if diff "$T_DIR/list.herald" "$OUT" >/dev/null; then pass "-bp prints what herald queue list prints"
else fail "-bp differs:"; diff "$T_DIR/list.herald" "$OUT" >&2 || true; fi

# 2. A cron-style message too, then the MX comes up and -q delivers both.
printf 'Subject: cron\n\ncron output\n' >"$T_DIR/cron.msg"
sm "$T_DIR/cron.msg" -FCronDaemon -i -B8BITMIME -oem ops@demo.test
expect_rc "cron queued" 0 "$ERR"
email_start_capture mx1 "$MX1_IP"
sm /dev/null -q
expect_rc "-q" 0 "$ERR"
n=$(find "$T_DIR/mx1" -name '*.eml' | wc -l)
[ "$n" -eq 2 ] && pass "-q delivered both messages" || fail "-q delivered $n messages"
if "$TEST_PYTHON" - "$T_DIR/mx1" "$(id -un)@$(hostname)" >"$T_DIR/check.out" 2>&1 <<'PY'; then
import email, email.policy, glob, json, sys
d, me = sys.argv[1], sys.argv[2]
seen = {}
for path in glob.glob(d + "/*.eml"):
    raw = open(path, "rb").read()
    meta = json.load(open(path[:-4] + ".json"))
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    seen[msg["Subject"]] = (raw, meta, msg)
raw, meta, msg = seen["queued"]
assert meta["mail_from"] == "sender@herald.test", meta
assert sorted(meta["rcpt_tos"]) == ["a@demo.test", "b@demo.test", "c@demo.test"], meta
assert b"Bcc" not in raw and b"c@demo.test" not in raw
assert msg["From"].addresses[0].addr_spec == "sender@herald.test"
assert msg["Date"] is not None and msg["Message-ID"] is not None
assert raw.split(b"\r\n\r\n", 1)[1] == b"queued body\r\n.\r\nstill body (-i)\r\n"
raw, meta, msg = seen["cron"]
assert meta["mail_from"] == me and meta["rcpt_tos"] == ["ops@demo.test"], meta
assert msg["From"].addresses[0].display_name == "CronDaemon", msg["From"]
PY
  pass "the queued messages as sent: envelope, fields, body"
else
  fail "the queued messages"; sed 's/^/  | /' "$T_DIR/check.out" >&2
fi
sm /dev/null -bp
expect_rc "-bp on an empty queue" 0 "$ERR"
[ ! -s "$OUT" ] && pass "-bp: the queue is empty" || fail "-bp still lists: $(cat "$OUT")"

# 3. Usage and configuration errors.
sm /dev/null -q30m
expect_rc "-q30m" 64 "$ERR"
expect_grep "-q30m said" "$ERR" "a queue interval is not supported"
sm /dev/null -bp a@demo.test
expect_rc "-bp ADDR" 64 "$ERR"
sed -i "s|path = \"$SPOOL\"|path = \"$T_DIR/nospool\"|" "$CONF"
sm "$T_DIR/cron.msg" ops@demo.test
expect_rc "missing spool" 78 "$ERR"
expect_grep "missing spool named" "$ERR" "$T_DIR/nospool"
expect_no_sanitizer "herald-sendmail"

herald_test_done
