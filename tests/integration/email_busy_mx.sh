#!/bin/bash
# email_busy_mx.sh - destination concurrency that adapts (issue 11 item 5).
# The first of two smart hosts runs tests/servers/busy_smtpd.py, which serves
# N sessions at once and turns the rest away; the second has no server, so a
# message that gave up on the first one would be deferred.  (Smart hosts
# given as addresses: this is about sessions, not DNS.)  Driven through the
# library (herald_submit, bench/herald_blast -p).
#   5 at once, 421 to the rest: 2,000 messages, 100 in flight, default
#     limits: all delivered, none deferred; never more than 5 open; the
#     probes for a sixth were refused and traced as a wait, not a verdict
#   3 at once, the rest closed without a word, 20 sessions opened at first
#     (initial_sessions_per_host = 20): all delivered, the window came down
#   0 at once (every session refused): the destination is dead, every
#     message deferred with the server's 421, none waits for ever
#   3 messages per session, then 421 to the next RSET: the message tries a
#     new session (all delivered), also with one session at a time
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 41

BLAST=$HERALD_BUILD_DIR/bench/herald_blast
[ -x "$BLAST" ] || hard_error "no $BLAST (built by make check)"
LOG=$T_DIR/busy.log
BUSY_PID=

# busy LIMIT OVER [ARGS...] - (re)start busy_smtpd.py on $MX1_IP with a fresh $LOG
busy() {
  if [ -n "$BUSY_PID" ]; then
    kill "$BUSY_PID" 2>/dev/null || true
    wait "$BUSY_PID" 2>/dev/null || true
  fi
  rm -f "$LOG"
  start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/busy_smtpd.py" "$MX1_IP" "$SMTP_PORT" \
    --limit "$1" --over "$2" "${@:3}" --log "$LOG" >/dev/null </dev/null
  BUSY_PID=$!
  wait_for_port "$MX1_IP" "$SMTP_PORT" 15 || hard_error "busy_smtpd.py did not start"
  # wait_for_port's own probe connection is in the log: start counting after it
  : >"$LOG"
}

# conf TRANSPORT_SETTINGS - $CONF, device "email" to $MX1_IP then $MX2_IP, trace to $TRACE
conf() {
  cat >"$CONF" <<CONF
herald: {
  dns: { servers = [ "127.0.0.1:$DNS_PORT" ]; timeout_ms = 1000; tries = 1; };
  trace: { file = "$TRACE"; level = "info"; };
};
devices = (
  { name = "email"; driver = "email";
    route: { strategy = "smarthost";
             smarthost = [ "[$MX1_IP]:$SMTP_PORT", "[$MX2_IP]:$SMTP_PORT" ]; };
    transport: { name = "smtp"; helo_name = "herald.test"; tls = "none";
                 connect_timeout_ms = 5000; greeting_timeout_ms = 5000; $1 }; }
);
CONF
}

# blast N PARALLEL - herald_blast -n N -p PARALLEL (bounded: 120 s under sanitizers)
blast() {
  rm -f "$TRACE"
  RC=0
  timeout 120 "$BLAST" -c "$CONF" -d email -n "$1" -p "$2" -l 300 -f a@herald.test \
    -t b@demo.test >"$OUT" 2>"$ERR" || RC=$?
}

# field NAME - NAME=VALUE from herald_blast's summary line
field() { sed -n "s/.*[ ^]$1=\([0-9]*\).*/\1/p" "$OUT"; }
events() { grep -c "^$1" "$LOG" || true; }
max_open() { awk '$1 == "open" && $2 > m { m = $2 } END { print m + 0 }' "$LOG"; }

# expect_eq NAME GOT WANT
expect_eq() {
  if [ "$2" = "$3" ]; then pass "$1: $2"; else fail "$1: $2, want $3"; cat "$OUT" "$ERR" >&2; fi
}
# expect_range NAME GOT LOW HIGH
expect_range() {
  if [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then pass "$1: $2"; else fail "$1: $2, want $3..$4"; fi
}

busy 5 421
conf ""
blast 2000 100
expect_rc "2,000 messages, 100 in flight, 5 sessions at once" 0 "$ERR"
expect_eq "delivered" "$(field delivered)" 2000
expect_eq "deferred" "$(field deferred)" 0
expect_eq "messages the server received" "$(events message)" 2000
expect_range "sessions at once" "$(max_open)" 1 5
expect_range "sessions turned away (probes for one more)" "$(events busy)" 1 200
expect_grep "a refusal while others work is a wait" "$TRACE" "refused a session while"
expect_no_grep "no message deferred" "$TRACE" "deferred 421"
expect_no_sanitizer "5 at once"

busy 3 close
conf "initial_sessions_per_host = 20;"
blast 400 50
expect_rc "400 messages, 50 in flight, 3 at once, the rest closed" 0 "$ERR"
expect_eq "delivered" "$(field delivered)" 400
expect_eq "messages the server received" "$(events message)" 400
expect_range "sessions at once" "$(max_open)" 1 3
expect_range "sessions closed at once (17 of the first 20, then probes)" "$(events busy)" 17 100
expect_grep "the window came down" "$TRACE" "(sessions to it: at most 3,"
expect_no_sanitizer "3 at once"

busy 0 421
conf ""
blast 60 20
expect_rc "60 messages to a server that takes none" 1 "$ERR"
expect_eq "deferred" "$(field deferred)" 60
expect_eq "delivered" "$(field delivered)" 0
expect_grep "deferred, on to the next hop (nothing there either)" "$ERR" "deferred (cannot connect to $MX2_IP"
expect_grep "the first hop's refusal" "$TRACE" "S: 421 4.7.0 busy.test too many concurrent connections"
expect_grep "dead: the refusal stands" "$TRACE" "no other session to $MX1_IP:$SMTP_PORT is open"
expect_range "sessions tried for 60 messages" "$(events busy)" 1 60
expect_no_sanitizer "dead"

busy 10 421 --per-session 3
conf "max_sessions_per_host = 1;"
blast 30 10
expect_rc "30 messages, 3 per session, one session at a time" 0 "$ERR"
expect_eq "delivered" "$(field delivered)" 30
expect_eq "messages the server received" "$(events message)" 30
expect_range "sessions ended by the server" "$(events ended)" 9 10
expect_grep "a dropped reused session is tried again" "$TRACE" "ended a reused session before the message"
expect_no_sanitizer "3 per session"

herald_test_done
