#!/bin/bash
# email_null_mx.sh - step 8: a domain with a null MX (RFC 7505) fails at once
# with 5.1.0 and no connection is attempted: a listener on the domain's own
# A address (where a client falling back to the implicit MX would go)
# records nothing, and the trace has no "connecting".
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 8

printf 'Subject: step 8\n\nhello\n' >"$T_DIR/msg"
# null.test has A $MX1_IP: listen there and record any connection.
email_start_fault mx1 "$MX1_IP" ok
rm -f "$T_DIR/mx1.rec"   # wait_for_port's probe connection is not herald's
email_start_capture sh "$SH_IP"

for strategy in mx mx-then-smarthost; do
  email_conf "$strategy"
  email_send -t b@null.test "$T_DIR/msg"
  expect_rc "null MX ($strategy)" 69 "$ERR"
  expect_json b@null.test status failed
  expect_json b@null.test dsn 5.1.0
  expect_json b@null.test peer null
  expect_no_grep "null MX ($strategy): no connection in the trace" "$TRACE" "connecting"
  expect_no_sanitizer "null MX ($strategy)"
done
if [ ! -s "$T_DIR/mx1.rec" ]; then pass "the would-be address saw no command"
else fail "the would-be address saw commands:"; sed 's/^/  | /' "$T_DIR/mx1.rec" >&2; fi
if [ ! -e "$T_DIR/sh/1.json" ]; then pass "the smart host got nothing"
else fail "the smart host got a message for a null-MX domain"; fi

herald_test_done
