#!/bin/bash
# email_parallel.sh - many messages in flight through the library
# (herald_submit / herald_run, driven by bench/herald_blast -p), within the
# smtp transport's concurrency limits, with waiting messages taking over the
# open sessions.  fault_smtpd.py on mx1 logs how many connections are open
# after each open and close (--conn-log) and records every command.
#   max_sessions_per_host = 3, cache on:  60 messages, 20 in flight: all
#     delivered, never more than 3 connections, at most 3 EHLO (the waiting
#     messages take the open sessions: RSET, no new connection)
#   the default (20 per host): more than 3 connections at once - the limit
#     above is what held them back
#   max_sessions = 2, cache off: all delivered, never more than 2 at once,
#     one session per message, each ending with QUIT
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 19

BLAST=$HERALD_BUILD_DIR/bench/herald_blast
[ -x "$BLAST" ] || hard_error "no $BLAST (built by make check)"
start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/fault_smtpd.py" "$MX1_IP" "$SMTP_PORT" \
  --mode ok --record "$T_DIR/mx1.rec" --conn-log "$T_DIR/conns.log" >/dev/null </dev/null
wait_for_port "$MX1_IP" "$SMTP_PORT" 15 || hard_error "fault_smtpd.py did not start"

# conf TRANSPORT_SETTINGS - $CONF, device "email", trace to $TRACE
conf() {
  cat >"$CONF" <<CONF
herald: {
  dns: { servers = [ "127.0.0.1:$DNS_PORT" ]; timeout_ms = 1000; tries = 1; };
  trace: { file = "$TRACE"; level = "info"; };
};
devices = (
  { name = "email"; driver = "email";
    route: { strategy = "mx"; port = $SMTP_PORT; };
    transport: { name = "smtp"; helo_name = "herald.test"; tls = "none";
                 connect_timeout_ms = 5000; greeting_timeout_ms = 5000; $1 }; }
);
CONF
}

# blast N PARALLEL - herald_blast -n N -p PARALLEL (bounded: 60 s)
blast() {
  rm -f "$TRACE" "$T_DIR/mx1.rec" "$T_DIR/conns.log"
  RC=0
  timeout 60 "$BLAST" -c "$CONF" -d email -n "$1" -p "$2" -l 500 -f a@herald.test \
    -t b@demo.test >"$OUT" 2>"$ERR" || RC=$?
}

max_open() { awk '$1 == "open" && $2 > m { m = $2 } END { print m + 0 }' "$T_DIR/conns.log"; }
count() { grep -c -- "$2" "$1" || true; }

conf "max_sessions_per_host = 3; session_cache = true;"
blast 60 20
expect_rc "60 messages, 20 in flight, 3 per host" 0 "$ERR"
expect_grep "all delivered" "$OUT" "delivered=60"
m=$(max_open)
if [ "$m" -ge 1 ] && [ "$m" -le 3 ]; then pass "at most 3 connections at once ($m)"
else fail "$m connections at once, want 1..3"; fi
c=$(count "$T_DIR/mx1.rec" '^EHLO ')
if [ "$c" -ge 1 ] && [ "$c" -le 3 ]; then pass "$c EHLO for 60 messages"
else fail "$c EHLO, want 1..3"; fi
c=$(count "$T_DIR/mx1.rec" '^MAIL FROM')
if [ "$c" = 60 ]; then pass "60 transactions"; else fail "$c transactions, want 60"; fi
expect_grep "messages waited their turn" "$TRACE" "waiting for a session to $MX1_IP port $SMTP_PORT"
expect_grep "a waiting message took an open session" "$TRACE" "(it was waiting for it)"
expect_no_sanitizer "3 per host"

conf "session_cache = true;"
blast 60 20
expect_rc "60 messages, 20 in flight, default limits" 0 "$ERR"
m=$(max_open)
if [ "$m" -gt 3 ] && [ "$m" -le 20 ]; then pass "default limits: $m connections at once"
else fail "default limits: $m connections at once, want 4..20"; fi
expect_no_sanitizer "default limits"

conf "max_sessions = 2; session_cache = false;"
blast 30 10
expect_rc "30 messages, 10 in flight, 2 sessions in all, no cache" 0 "$ERR"
expect_grep "all delivered, no cache" "$OUT" "delivered=30"
m=$(max_open)
if [ "$m" -ge 1 ] && [ "$m" -le 2 ]; then pass "at most 2 connections at once ($m)"
else fail "$m connections at once, want 1..2"; fi
c=$(count "$T_DIR/mx1.rec" '^EHLO ')
if [ "$c" = 30 ]; then pass "one session per message without the cache"; else fail "$c EHLO, want 30"; fi
c=$(count "$T_DIR/mx1.rec" '^QUIT')
if [ "$c" = 30 ]; then pass "every session ended with QUIT"; else fail "$c QUIT, want 30"; fi
expect_no_sanitizer "no cache"

herald_test_done
