#!/bin/bash
# email_session_cache.sh - RSET and reuse of an open session for the next
# message to the same hop (issue 4), driven through the library by
# bench/herald_blast: five messages, one after the other, to b@demo.test,
# whose first MX runs fault_smtpd.py (ok mode, recording every command).
#
# With session_cache on: one connection (one EHLO), five transactions, RSET
# before each of the last four, QUIT once when the device closes; every
# message's dialogue is traced under that message's own trace id (a reused
# session must not keep writing to the previous delivery's trace, which is
# freed by then: the sanitizer build catches that).  With it off: five
# connections, five QUITs, no RSET.
set -euo pipefail
# shellcheck source=tests/lib/email_env.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/email_env.sh"
email_env_init 13

BLAST=$HERALD_BUILD_DIR/bench/herald_blast
[ -x "$BLAST" ] || hard_error "no $BLAST (built by make check)"
email_start_fault mx1 "$MX1_IP" ok

# blast_conf CACHE - $CONF: the device "email", trace to $TRACE at info
blast_conf() {
  cat >"$CONF" <<CONF
herald: {
  dns: { servers = [ "127.0.0.1:$DNS_PORT" ]; timeout_ms = 1000; tries = 1; };
  trace: { file = "$TRACE"; format = "text"; level = "info"; };
};
devices = (
  { name = "email"; driver = "email";
    route: { strategy = "mx"; port = $SMTP_PORT; };
    transport: { name = "smtp"; helo_name = "herald.test"; tls = "none";
                 connect_timeout_ms = 2000; greeting_timeout_ms = 2000;
                 session_cache = $1; session_idle_ms = 30000; }; }
);
CONF
}

# blast N - N messages through herald_blast (bounded: 60 s); $RC, $OUT, $ERR
blast() {
  rm -f "$TRACE" "$T_DIR/mx1.rec"
  RC=0
  timeout 60 "$BLAST" -c "$CONF" -d email -n "$1" -l 600 -f a@herald.test -t b@demo.test \
    >"$OUT" 2>"$ERR" || RC=$?
}

# count WHAT FILE PATTERN WANT - lines of FILE matching the ERE PATTERN
count() {
  local got
  got=$(grep -cE -- "$3" "$2" || true)
  if [ "$got" = "$4" ]; then pass "$1: $got"
  else fail "$1: $got, want $4"; sed 's/^/  | /' "$2" >&2; fi
}

blast_conf true
blast 5
expect_rc "five messages, session cache on" 0 "$ERR"
expect_grep "all delivered" "$OUT" "delivered=5"
count "EHLO at the server" "$T_DIR/mx1.rec" '^EHLO ' 1
count "MAIL at the server" "$T_DIR/mx1.rec" '^MAIL FROM:' 5
count "RSET at the server" "$T_DIR/mx1.rec" '^RSET$' 4
count "QUIT at the server" "$T_DIR/mx1.rec" '^QUIT$' 1
count "sessions reused (trace)" "$TRACE" 'reusing the open session' 4
# Each "C: MAIL FROM" line carries its message's trace id; five messages,
# five distinct ids, and each id also owns the 250 to its own final dot.
ids=$(grep -F 'C: MAIL FROM:' "$TRACE" | awk '{ print $2 }' | sort -u | wc -l)
if [ "$ids" = 5 ]; then pass "five trace ids on MAIL FROM"
else fail "$ids distinct trace ids on MAIL FROM, want 5"; sed 's/^/  | /' "$TRACE" >&2; fi
bad=0
for id in $(grep -F 'C: MAIL FROM:' "$TRACE" | awk '{ print $2 }'); do
  grep -E "^[^ ]+ $id .*C: \.$|^[^ ]+ $id .*S: 250 .*queued|^[^ ]+ $id .*C: RSET" "$TRACE" \
    >/dev/null || bad=$((bad + 1))
done
[ "$bad" = 0 ] && pass "each trace id holds its own transaction" ||
  fail "$bad trace ids lack their transaction's lines"
expect_no_sanitizer "session cache on"

blast_conf false
blast 5
expect_rc "five messages, session cache off" 0 "$ERR"
count "EHLO at the server, no cache" "$T_DIR/mx1.rec" '^EHLO ' 5
count "RSET at the server, no cache" "$T_DIR/mx1.rec" '^RSET$' 0
count "QUIT at the server, no cache" "$T_DIR/mx1.rec" '^QUIT$' 5
expect_no_sanitizer "session cache off"

herald_test_done
