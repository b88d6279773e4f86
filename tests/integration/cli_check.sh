#!/bin/bash
# cli_check.sh - "herald check" on good and broken device files: a broken
# file exits 78 and names FILE:LINE; a good one exits 0 with "FILE: OK, N devices".
# Also "herald devices", and the usage side: --help, --version, bad commands.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"
herald_test_init

OUT=$T_DIR/out
ERR=$T_DIR/err
SPOOL=$T_DIR/spool
mkdir "$SPOOL"

# bad_case NAME LINE TEXT - the device file on stdin must fail "check" with
# exit 78 and "FILE:LINE:" on stderr, mentioning TEXT
bad_case() {
  local name=$1 line=$2 text=$3 conf=$T_DIR/$1.conf
  cat >"$conf"
  run_herald "$OUT" "$ERR" -c "$conf" check
  expect_rc "check $name" 78 "$ERR"
  expect_grep "check $name" "$ERR" "$conf:$line:"
  expect_grep "check $name" "$ERR" "$text"
  if [ -s "$OUT" ]; then fail "check $name: wrote to stdout"; fi
}

# --- broken files: each error on a known line --------------------------------
bad_case unknown-option 4 'colour' <<CONF
# unknown option in a file device
devices = (
  { name = "r"; driver = "file"; path = "$SPOOL";
    colour = "blue"; }
);
CONF

bad_case wrong-type 3 'create' <<CONF
devices = (
  { name = "r"; driver = "file"; path = "$SPOOL";
    create = "yes"; }
);
CONF

bad_case wrong-type-core 2 'tries' <<CONF
herald: {
  dns: { tries = "two"; };
};
devices = ( { name = "r"; driver = "file"; path = "$SPOOL"; } );
CONF

bad_case missing-required 3 'path' <<CONF
# a file device needs its folder
devices = (
  { name = "r"; driver = "file"; create = true; }
);
CONF

bad_case missing-driver 2 'driver' <<CONF
devices = (
  { name = "r"; path = "$SPOOL"; }
);
CONF

bad_case out-of-range 3 'timeout_ms' <<CONF
herald: {
  dns: {
    timeout_ms = 10; };
};
devices = ( { name = "r"; driver = "file"; path = "$SPOOL"; } );
CONF

bad_case dns-cache-range 3 'cache_entries' <<CONF
herald: {
  dns: { servers = [ "127.0.0.1:53" ];
         cache_entries = 3; };
};
devices = ( { name = "r"; driver = "file"; path = "$SPOOL"; } );
CONF

bad_case dns-ttl-clamp 2 'dns.min_ttl_s (600) is above dns.max_ttl_s (60)' <<CONF
herald: {
  dns: { min_ttl_s = 600;
         max_ttl_s = 60; };
};
devices = ( { name = "r"; driver = "file"; path = "$SPOOL"; } );
CONF

bad_case dns-ttl-clamp-device 4 'device' <<CONF
herald: { dns: { max_ttl_s = 60; }; };
devices = (
  { name = "r"; driver = "file"; path = "$SPOOL";
    dns: { min_ttl_s = 61; }; }
);
CONF

bad_case syntax-error 3 'syntax' <<CONF
devices = (
  { name = "r"; driver = "file"; path = "$SPOOL"; }
  { name = "s" driver = "file"; path = "$SPOOL"; }
);
CONF

bad_case unknown-driver 3 'nosuch' <<CONF
devices = (
  { name = "r"; driver = "file"; path = "$SPOOL"; },
  { name = "s"; driver = "nosuch"; }
);
CONF

# A missing device file is a configuration error too.
run_herald "$OUT" "$ERR" -c "$T_DIR/absent.conf" check
expect_rc "check absent file" 78 "$ERR"
expect_grep "check absent file" "$ERR" "$T_DIR/absent.conf"

# --- a good file -------------------------------------------------------------
GOOD=$T_DIR/good.conf
cat >"$GOOD" <<CONF
# two file devices
devices = (
  { name = "reports"; driver = "file"; path = "$SPOOL"; },
  { name = "archive"; driver = "file"; path = "$SPOOL/archive"; create = true;
    mode = "0600"; }
);
CONF
run_herald "$OUT" "$ERR" -c "$GOOD" check
expect_rc "check good" 0 "$ERR"
expect_grep "check good" "$OUT" "$GOOD: OK, 2 devices"

# $HERALD_CONF is used without -c, and -c wins over it.
RC=0
HERALD_CONF=$GOOD timeout 60 "$HERALD" check >"$OUT" 2>"$ERR" || RC=$?
expect_rc "check via HERALD_CONF" 0 "$ERR"
expect_grep "check via HERALD_CONF" "$OUT" "$GOOD: OK, 2 devices"
RC=0
HERALD_CONF=$T_DIR/absent.conf timeout 60 "$HERALD" -c "$GOOD" check >"$OUT" 2>"$ERR" || RC=$?
expect_rc "-c wins over HERALD_CONF" 0 "$ERR"

# "devices": each device with its driver, module path and FILE:LINE.
run_herald "$OUT" "$ERR" -c "$GOOD" devices
expect_rc "devices" 0 "$ERR"
expect_grep "devices" "$OUT" "reports ($GOOD:3)"
expect_grep "devices" "$OUT" "archive ($GOOD:4)"
expect_grep "devices" "$OUT" "driver: file"
expect_grep "devices" "$OUT" "/device-file.so"
run_herald "$OUT" "$ERR" -c "$GOOD" devices --json
expect_rc "devices --json" 0 "$ERR"
if "$TEST_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
names = [x["name"] for x in d["devices"]]
assert names == ["reports", "archive"], names
assert d["devices"][0]["driver"] == "file"
assert d["devices"][0]["modules"][0]["path"].endswith("/device-file.so")
' <"$OUT"; then pass "devices --json parses"; else fail "devices --json: $(cat "$OUT")"; fi

# --- usage -------------------------------------------------------------------
for args in "--help" "-h" "help" "check --help" "devices --help" "send --help"; do
  # shellcheck disable=SC2086
  run_herald "$OUT" "$ERR" $args
  expect_rc "herald $args" 0 "$ERR"
  expect_grep "herald $args" "$OUT" "Usage: herald"
done
run_herald "$OUT" "$ERR" --version
expect_rc "--version" 0 "$ERR"
expect_grep "--version" "$OUT" "herald "
for args in "" "frobnicate" "--bogus check" "-c" "check extra" "check --bogus"; do
  # shellcheck disable=SC2086
  run_herald "$OUT" "$ERR" $args
  expect_rc "herald '$args' (usage)" 64 "$ERR"
done

herald_test_done
