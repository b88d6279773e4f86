#!/bin/bash
# module_abi.sh - the operations-table rule, as "herald check" and "herald
# send" see it (docs/MODULE-ABI.md): a table too small for a required member,
# or with a required member unset, is refused when the module loads, and the
# error names the module file, the reason and the device file's FILE:LINE; a
# device built for an older minor (shorter table, no close()) loads, delivers,
# and is closed without the core touching the member it does not have; a
# device built for 2.3 still reads each recipient's word from the deprecated
# arrays of struct herald_job_result, and rcpts[] (2.4) carries the same words.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"
herald_test_init

mods=${HERALD_TEST_MODULES:?HERALD_TEST_MODULES is not set: run through make check}
M=$T_DIR/modules
mkdir -m 0700 "$M"
for f in "$mods/device-shortops.so" "$mods/device-oldminor.so" "$mods/route-noplan.so" \
         "$mods/device-oldjob.so" "$mods/device-newjob.so" "$mods/transport-words.so" \
         "$HERALD_BUILD_DIR/devices/.libs/device-email.so" \
         "$HERALD_BUILD_DIR/devices/.libs/transport-smtp.so"; do
  [ -f "$f" ] || hard_error "no module $f"
  install -m 0644 "$f" "$M/"
done
OUT=$T_DIR/out ERR=$T_DIR/err

cat >"$T_DIR/short.conf" <<CONF
herald: { plugin_dirs = [ "$M" ]; };
devices = (
  { name = "s";
    driver = "shortops"; }
);
CONF
run_herald "$OUT" "$ERR" -c "$T_DIR/short.conf" check
expect_rc "check: device table too small" 69 "$ERR"
expect_grep "check: device table too small" "$ERR" "$M/device-shortops.so: device operations table of \"shortops\" is too small"
expect_grep "check: device table too small" "$ERR" "required member deliver()"
expect_grep "check: device table too small" "$ERR" "$T_DIR/short.conf:4"

cat >"$T_DIR/noplan.conf" <<CONF
herald: { plugin_dirs = [ "$M" ]; };
devices = (
  { name = "e"; driver = "email";
    route: { strategy = "noplan"; };
    transport: { name = "smtp"; helo_name = "herald.test"; }; }
);
CONF
run_herald "$OUT" "$ERR" -c "$T_DIR/noplan.conf" check
expect_rc "check: strategy without plan()" 69 "$ERR"
expect_grep "check: strategy without plan()" "$ERR" "route-noplan.so: route operations table of \"noplan\" has no plan() (required)"
expect_grep "check: strategy without plan()" "$ERR" "$T_DIR/noplan.conf:4"

cat >"$T_DIR/old.conf" <<CONF
herald: { plugin_dirs = [ "$M" ]; };
devices = ( { name = "old"; driver = "oldminor"; } );
CONF
run_herald "$OUT" "$ERR" -c "$T_DIR/old.conf" check
expect_rc "check: older minor" 0 "$ERR"
printf 'Subject: abi\n\nolder minor\n' >"$T_DIR/msg"
# The module's table is followed by a close() that traps: reading it would kill herald.
run_herald "$OUT" "$ERR" -c "$T_DIR/old.conf" send -d old -f a@b.test -t c@d.test "$T_DIR/msg"
expect_rc "send through an older-minor device" 0 "$ERR"
expect_grep "send through an older-minor device" "$OUT" "c@d.test: delivered: 250 kept by oldminor"

# struct herald_job_result (ABI 2.4): a device built for 2.3 reads each
# recipient's word from the parallel arrays, through its own copy of the 2.3
# layout; one built for 2.4 reads rcpts[] and fails a recipient whose word
# there differs from the arrays.  Both must show the words transport-words gave.
cat >"$T_DIR/words.conf" <<CONF
herald: { plugin_dirs = [ "$M" ]; };
devices = (
  { name = "old"; driver = "oldjob"; transport: { name = "words"; }; },
  { name = "new"; driver = "newjob"; transport: { name = "words"; }; }
);
CONF
# words_field DEV ADDRESS FIELD - one recipient's JSON field from "send -d DEV --json"
words_field() {
  "$TEST_PYTHON" -c '
import json, sys
for r in json.load(open(sys.argv[1]))["recipients"]:
    if r["address"] == sys.argv[2]:
        v = r.get(sys.argv[3])
        print("null" if v is None else v)
        sys.exit(0)
print("(no such recipient)")' "$T_DIR/words-$1.json" "$2" "$3"
}
for dev in old new; do
  run_herald "$T_DIR/words-$dev.json" "$ERR" -c "$T_DIR/words.conf" send -d "$dev" -f a@b.test \
    -t ok@w.test -t no@w.test -t maybe@w.test -t ctl@w.test -t quiet@w.test --json "$T_DIR/msg"
  expect_rc "job words through $dev (one failed)" 69 "$ERR"
  while IFS='|' read -r addr field want; do
    got=$(words_field "$dev" "$addr" "$field")
    if [ "$got" = "$want" ]; then
      pass "$dev: $addr $field = $want"
    else
      fail "$dev: $addr $field = '$got', want '$want'"
      sed 's/^/  | /' "$T_DIR/words-$dev.json" >&2
    fi
  done <<'ROWS'
ok@w.test|status|delivered
ok@w.test|reply|250 2.0.0 taken by words
ok@w.test|dsn|2.0.0
ok@w.test|peer|127.0.0.1:25
ok@w.test|possibly_delivered|False
no@w.test|status|failed
no@w.test|reply|550 5.1.1 no such user
no@w.test|dsn|5.1.1
maybe@w.test|status|deferred
maybe@w.test|reply|451 4.4.2 lost after the dot
maybe@w.test|dsn|4.4.2
maybe@w.test|possibly_delivered|True
ctl@w.test|status|delivered
ctl@w.test|reply|250 a?[31mb??c
quiet@w.test|status|deferred
quiet@w.test|reply|421 4.3.2 words closes
quiet@w.test|dsn|null
quiet@w.test|possibly_delivered|False
ROWS
done

# The smtp transport's cross-option rules run in its check(): herald check
# names the transport group's FILE:LINE, and never shows a secret.
cat >"$T_DIR/tls.conf" <<CONF
herald: { plugin_dirs = [ "$M" ]; };
devices = (
  { name = "e"; driver = "email"; route: { strategy = "mx"; };
    transport: { name = "smtp"; tls = "none";
                 implicit_tls = true; }; }
);
CONF
install -m 0644 "$HERALD_BUILD_DIR/plugins/.libs/route-mx.so" "$M/"
run_herald "$OUT" "$ERR" -c "$T_DIR/tls.conf" check
expect_rc "check: implicit_tls with tls = none" 78 "$ERR"
expect_grep "check: implicit_tls with tls = none" "$ERR" "$T_DIR/tls.conf:4:"
expect_grep "check: implicit_tls with tls = none" "$ERR" "implicit_tls needs tls = opportunistic, required or verify"
cat >"$T_DIR/auth.conf" <<CONF
herald: { plugin_dirs = [ "$M" ]; };
devices = (
  { name = "e"; driver = "email"; route: { strategy = "mx"; };
    transport: { name = "smtp"; tls = "required";
                 auth: { user = "u"; password = "Sekr1t-Pw"; token_file = "/nonexistent/t"; }; }; }
);
CONF
chmod 0600 "$T_DIR/auth.conf"
run_herald "$OUT" "$ERR" -c "$T_DIR/auth.conf" check
expect_rc "check: two auth secrets" 78 "$ERR"
expect_grep "check: two auth secrets" "$ERR" "$T_DIR/auth.conf:4:"
expect_grep "check: two auth secrets" "$ERR" "auth needs exactly one of password, password_file, token_file"
if grep -q 'Sekr1t' "$ERR" "$OUT"; then fail "check: the password reached the output"; else pass "check: no secret in the output"; fi

herald_test_done
