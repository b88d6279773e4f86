#!/bin/bash
# email_fd_limit.sh - running out of file descriptors is Herald's own limit,
# never a verdict on a message (issue 11 item 1, descriptors).  smtp-sink on
# $MX1_IP (a deep listen queue), reached as a smart host by address; driven
# through the library (herald_submit, bench/herald_blast -p).
#   ulimit -n 256 (soft and hard), two devices with max_sessions = 3000
#     each, 2,000 messages with 1,000 in flight: each device cuts its
#     max_sessions to what the limit allows (a warning in the trace), the two
#     together still run out of descriptors at run time, and the messages
#     that found none wait for one: all delivered, none deferred
#   ulimit -S -n 256 (soft only): the device raises the soft limit to the
#     hard one (traced) and keeps max_sessions
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 42

BLAST=$HERALD_BUILD_DIR/bench/herald_blast
[ -x "$BLAST" ] || hard_error "no $BLAST (built by make check)"
[ -x "$SMTP_SINK" ] || hard_error "smtp-sink not found at $SMTP_SINK"
start_bg "$SMTP_SINK" -u nobody "$MX1_IP:$SMTP_PORT" 1024 >/dev/null 2>&1 </dev/null
wait_for_port "$MX1_IP" "$SMTP_PORT" 15 || hard_error "smtp-sink did not start on $MX1_IP"

# device NAME - one device to the sink, max_sessions = 3000
device() {
  cat <<DEV
  { name = "$1"; driver = "email";
    route: { strategy = "smarthost"; smarthost = [ "[$MX1_IP]:$SMTP_PORT" ]; };
    transport: { name = "smtp"; helo_name = "herald.test"; tls = "none";
                 connect_timeout_ms = 10000; greeting_timeout_ms = 10000;
                 max_sessions = 3000; max_sessions_per_host = 1000;
                 initial_sessions_per_host = 1000; }; }
DEV
}
cat >"$CONF" <<CONF
herald: { trace: { file = "$TRACE"; level = "info"; }; };
devices = (
$(device one),
$(device two)
);
CONF

# blast ULIMIT_ARGS N PARALLEL DEVICES - herald_blast under ulimit (bounded: 120 s)
blast() {
  rm -f "$TRACE"
  RC=0
  (ulimit $1 256 && exec timeout 120 "$BLAST" -c "$CONF" -d "$4" -n "$2" -p "$3" -l 300 \
    -f a@herald.test -t b@demo.test) >"$OUT" 2>"$ERR" || RC=$?
}
field() { sed -n "s/.*[ ^]$1=\([0-9]*\).*/\1/p" "$OUT"; }
expect_eq() {
  if [ "$2" = "$3" ]; then pass "$1: $2"; else fail "$1: $2, want $3"; cat "$OUT" "$ERR" >&2; fi
}

blast -n 2000 1000 one,two
expect_rc "2,000 messages, 1,000 in flight, 256 descriptors, max_sessions 3000 twice" 0 "$ERR"
expect_eq "delivered" "$(field delivered)" 2000
expect_eq "deferred" "$(field deferred)" 0
expect_grep "max_sessions cut to the limit" "$TRACE" \
  "max_sessions = 3000 needs about 3048 file descriptors, the open-file limit (RLIMIT_NOFILE) is 256 (hard limit 256)"
expect_grep "out of descriptors at run time: the message waits" "$TRACE" \
  "no file descriptor for a socket to $MX1_IP port $SMTP_PORT"
expect_no_grep "never a failure" "$TRACE" "Too many open files"
expect_no_sanitizer "256 descriptors"

blast -Sn 300 100 one
expect_rc "soft limit 256" 0 "$ERR"
expect_eq "delivered" "$(field delivered)" 300
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=3048     # then just what is needed
expect_grep "the soft limit raised to the hard one" "$TRACE" \
  "raised the open-file limit (RLIMIT_NOFILE) from 256 to $hard"
expect_no_grep "not cut" "$TRACE" "sessions at once"
expect_no_sanitizer "soft limit 256"

herald_test_done
