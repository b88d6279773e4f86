#!/bin/bash
# email_smarthost_fallback.sh - steps 4 and 5: every MX down -> the smart
# host delivers (mx-then-smarthost; the plan lists it last, the trace names
# origin smarthost); every MX down and strategy mx (no smart host) ->
# deferred, exit 75, JSON status deferred.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 4

printf 'Subject: steps 4 and 5\n\nhello\n' >"$T_DIR/msg"
email_start_capture sh "$SH_IP"

# Step 4: the route plan first (herald route), then the delivery.
email_conf mx-then-smarthost
run_herald "$OUT" "$ERR" -c "$CONF" route -d email --json demo.test
expect_rc "route plan" 0 "$ERR"
if "$TEST_PYTHON" - "$OUT" "$SH_IP" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
text = json.dumps(doc)
hops = doc.get("hops") or doc.get("plan") or []
assert len(hops) == 3, hops
assert sys.argv[2] in json.dumps(hops[-1]), hops[-1]
assert "smarthost" in json.dumps(hops[-1]), hops[-1]
PY
then pass "route plan: 2 MX then the smart host last"
else fail "route plan:"; sed 's/^/  | /' "$OUT" >&2; fi

email_send -t b@demo.test "$T_DIR/msg"
expect_rc "all MX down -> smart host" 0 "$ERR"
expect_json b@demo.test status delivered
expect_json_has b@demo.test peer "$SH_IP"
expect_grep "trace: mx1 refused" "$TRACE" "$MX1_IP:$SMTP_PORT: connect: Connection refused"
expect_grep "trace: mx2 refused" "$TRACE" "$MX2_IP:$SMTP_PORT: connect: Connection refused"
expect_grep "trace: smart host hop" "$TRACE" "hop 3/3 $SH_IP (smarthost)"
expect_grep "trace: connected to the smart host" "$TRACE" "connected to $SH_IP:$SMTP_PORT"
expect_grep "smart host stored it" "$T_DIR/sh/1.json" "b@demo.test"
expect_no_sanitizer "smart host"

# Step 5: no smart host in the route.
email_conf mx
email_send -t c@demo.test "$T_DIR/msg"
expect_rc "all MX down, no smart host" 75 "$ERR"
expect_json c@demo.test status deferred
expect_json_has c@demo.test reply "Connection refused"
expect_no_grep "no smart host tried" "$TRACE" "$SH_IP"
if [ ! -e "$T_DIR/sh/2.json" ]; then pass "smart host got nothing"; else fail "smart host got a message"; fi
expect_no_sanitizer "no smart host"

herald_test_done
