#!/bin/bash
# route_guard.sh - whatever a module does, every request and every recipient
# ends (issue 9 item 2), with the test modules of tests/unit/registry.mk:
#   silent  never answers: route.timeout_ms defers it, 4.4.7, naming it;
#           "herald send" prints a line and a JSON entry per recipient;
#   twice   answers at once and again later: the first answer is the plan,
#           the second is traced as the strategy's error and ignored;
#   empty   answers with no hop: deferred 4.4.4 "no usable hop";
#   stuck   a device that never ends a delivery: each recipient deferred.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"
herald_test_init

mods=${HERALD_TEST_MODULES:?HERALD_TEST_MODULES is not set: run through make check}
M=$T_DIR/modules
mkdir -m 0700 "$M"
for f in "$mods/route-silent.so" "$mods/route-twice.so" "$mods/route-empty.so" \
         "$mods/device-stuck.so" \
         "$HERALD_BUILD_DIR/devices/.libs/device-email.so" \
         "$HERALD_BUILD_DIR/devices/.libs/transport-smtp.so"; do
  [ -f "$f" ] || hard_error "no module $f"
  install -m 0644 "$f" "$M/"
done
cat >"$T_DIR/h.conf" <<CONF
herald: { plugin_dirs = [ "$M" ]; trace: { file = "$T_DIR/trace.log"; level = "debug"; }; };
devices = (
  { name = "silent"; driver = "email";
    route: { strategy = "silent"; timeout_ms = 300; };
    transport: { name = "smtp"; helo_name = "herald.test"; }; },
  { name = "twice"; driver = "email";
    route: { strategy = "twice"; };
    transport: { name = "smtp"; helo_name = "herald.test"; }; },
  { name = "empty"; driver = "email";
    route: { strategy = "empty"; };
    transport: { name = "smtp"; helo_name = "herald.test"; }; },
  { name = "stuck"; driver = "stuck"; }
);
CONF
OUT=$T_DIR/out ERR=$T_DIR/err
printf 'Subject: guard\n\nbody\n' >"$T_DIR/msg"

# --- a strategy that never answers -------------------------------------------------
start=$(date +%s%N)
run_herald "$OUT" "$ERR" -c "$T_DIR/h.conf" route -d silent --json a.test
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_rc "silent: route" 75 "$ERR"
expect_grep "silent: route" "$OUT" '"class":"temporary"'
expect_grep "silent: route" "$OUT" 'route strategy \"silent\" did not answer within 300 ms'
expect_grep "silent: route" "$OUT" '"dsn":"4.4.7"'
if [ "$elapsed_ms" -lt 20000 ]; then pass "silent: bounded by timeout_ms ($elapsed_ms ms)"; else fail "silent: took $elapsed_ms ms"; fi
run_herald "$OUT" "$ERR" -c "$T_DIR/h.conf" send -d silent -f a@herald.test -t x@a.test -t y@b.test "$T_DIR/msg"
expect_rc "silent: send" 75 "$ERR"
expect_grep "silent: send" "$OUT" 'x@a.test: deferred'
expect_grep "silent: send" "$OUT" 'y@b.test: deferred'
expect_grep "silent: send" "$OUT" 'did not answer within 300 ms'
run_herald "$OUT" "$ERR" -c "$T_DIR/h.conf" send -d silent --json -f a@herald.test -t x@a.test -t y@b.test "$T_DIR/msg"
expect_rc "silent: send --json" 75 "$ERR"
if "$TEST_PYTHON" -c '
import json, sys
r = json.load(sys.stdin)["recipients"]
assert [x["address"] for x in r] == ["x@a.test", "y@b.test"], r
assert all(x["status"] == "deferred" for x in r), r
' <"$OUT"; then pass "silent: a JSON entry per recipient"; else fail "silent: JSON: $(cat "$OUT")"; fi

# --- a strategy that answers twice ---------------------------------------------------
run_herald "$OUT" "$ERR" -c "$T_DIR/h.conf" route -d twice --json b.test
expect_rc "twice: route" 0 "$ERR"
expect_grep "twice: the first answer is the plan" "$OUT" '"host":"twice.test","port":2525'
expect_grep "twice: second answer traced" "$T_DIR/trace.log" 'route strategy "twice" answered again (done) after its first answer: ignored'
# The later one comes from the loop after the plan was handed over; send runs
# the loop on, through the (refused) delivery, so it is seen there.
run_herald "$OUT" "$ERR" -c "$T_DIR/h.conf" send -d twice -f a@herald.test -t z@b.test "$T_DIR/msg"
expect_rc "twice: send" 75 "$ERR"
expect_grep "twice: send" "$OUT" 'z@b.test: deferred'
expect_grep "twice: late answer traced" "$T_DIR/trace.log" 'route strategy "twice" answered again (fail) after its first answer: ignored'

# --- a strategy that answers with nothing ------------------------------------------
run_herald "$OUT" "$ERR" -c "$T_DIR/h.conf" send -d empty -f a@herald.test -t w@c.test "$T_DIR/msg"
expect_rc "empty: send" 75 "$ERR"
expect_grep "empty: send" "$OUT" 'w@c.test: deferred: no usable hop'

# --- a device that never ends its delivery -----------------------------------------
run_herald "$OUT" "$ERR" -c "$T_DIR/h.conf" send -d stuck -f a@herald.test -t v@d.test -t u@d.test "$T_DIR/msg"
expect_rc "stuck: send" 75 "$ERR"
expect_grep "stuck: send" "$OUT" 'v@d.test: deferred: device driver "stuck" did not finish the delivery'
expect_grep "stuck: send" "$OUT" 'u@d.test: deferred'

herald_test_done
