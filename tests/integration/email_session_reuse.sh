#!/bin/bash
# email_session_reuse.sh - step 12: two recipients in two domains (demo.test,
# twin.test) whose MX is the same host, session_cache on.  Herald delivers
# the two domains of one message concurrently, so each gets its own session
# (a cached session only serves a later message, which one CLI run cannot
# send): checked here are both delivered, two transactions at the server,
# and no more than one connection per domain.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 12

email_start_fault mx1 "$MX1_IP" ok
rm -f "$T_DIR/mx1.rec"
email_conf mx "session_cache = true;"
printf 'Subject: step 12\n\nhello\n' >"$T_DIR/msg"

email_send -t a@demo.test -t b@twin.test "$T_DIR/msg"
expect_rc "two domains, one MX host" 0 "$ERR"
expect_json a@demo.test status delivered
expect_json b@twin.test status delivered
c=$(grep -c "smtp: connecting to $MX1_IP" "$TRACE" || true)
if [ "$c" -ge 1 ] && [ "$c" -le 2 ]; then pass "$c connection(s) in the trace"
else fail "$c connections in the trace, want 1 or 2"; fi
c=$(grep -c '^EHLO' "$T_DIR/mx1.rec" || true)
if [ "$c" -ge 1 ] && [ "$c" -le 2 ]; then pass "the server saw $c EHLO"
else fail "the server saw $c EHLO, want 1 or 2"; fi
c=$(grep -c '^MAIL FROM' "$T_DIR/mx1.rec" || true)
if [ "$c" = 2 ]; then pass "the server saw two transactions"
else fail "the server saw $c MAIL, want 2"; fi
expect_no_sanitizer "session reuse"

herald_test_done
