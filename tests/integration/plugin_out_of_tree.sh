#!/bin/bash
# plugin_out_of_tree.sh - the plugin author's path, end to end: copy
# plugins/example anywhere, run "make" there with PKG_CONFIG_PATH at the
# INSTALLED herald.pc (nothing else of the source tree), and the installed
# herald loads the route-split.so it makes and routes with it.
#
#   plugin_out_of_tree.sh                      make check: installs the build
#                                              tree into a private DESTDIR first
#   plugin_out_of_tree.sh DESTDIR PCDIR BINDIR PKGLIBDIR LIBDIR
#                                              make installcheck (DESTDIR may be "")
#
# The folder Herald loads from holds that route-split.so and copies of the
# installed email device and smtp transport (the installed folder has its own
# route-split.so, and the loader refuses a module found twice).  Nothing is
# sent and no DNS server answers: internal domains need none, the others must
# come back deferred from the MX walk.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"
MAKE=${MAKE:-make}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}

if [ $# -eq 0 ]; then
  # make check: a private install of this build tree.
  T_BIN_DEFERRED=1
  tmp_dest=$(mktemp -d "${TMPDIR:-/tmp}/herald-dest.XXXXXX") || hard_error "mktemp failed"
  trap 'rm -rf "$tmp_dest"' EXIT
  if ! "$MAKE" -s -C "${HERALD_BUILD_DIR:?}" install DESTDIR="$tmp_dest" >"$tmp_dest.log" 2>&1; then
    sed 's/^/  | /' "$tmp_dest.log" >&2; rm -f "$tmp_dest.log"
    hard_error "make install DESTDIR=$tmp_dest failed"
  fi
  rm -f "$tmp_dest.log"
  destdir=$tmp_dest
  pc=$(find "$tmp_dest" -name herald.pc | head -n 1)
  bin=$(find "$tmp_dest" -name herald -type f -perm -u+x | head -n 1)
  dev=$(find "$tmp_dest" -name device-email.so | head -n 1)
  lib=$(find "$tmp_dest" -name 'libherald.so' | head -n 1)
  [ -n "$pc" ] && [ -n "$bin" ] && [ -n "$dev" ] && [ -n "$lib" ] ||
    hard_error "the private install lacks herald.pc, herald, device-email.so or libherald.so"
  pcdir=$(dirname "$pc") bindir=$(dirname "$bin") pkglibdir=$(dirname "$dev") libdir=$(dirname "$lib")
  HERALD_BIN=$bin
  export HERALD_BIN
else
  [ $# -eq 5 ] || hard_error "usage: $0 [DESTDIR PCDIR BINDIR PKGLIBDIR LIBDIR]"
  destdir=$1 pcdir=$2 bindir=$3 pkglibdir=$4 libdir=$5
  HERALD_BIN=$bindir/herald
  export HERALD_BIN
fi
herald_test_init
: "${T_BIN_DEFERRED:=0}"
if [ "$T_BIN_DEFERRED" = 1 ]; then
  # herald_test_init set its own EXIT trap: remove the private install too.
  trap 'herald_test_cleanup; rm -rf "$tmp_dest"' EXIT
fi

# The author's steps, exactly: a copy of the folder, anywhere, and make.
cp -r "$HERALD_SRC_DIR/plugins/example" "$T_DIR/myplugin"
chmod -R u+w "$T_DIR/myplugin"
rm -f "$T_DIR/myplugin/route-split.so"
if (cd "$T_DIR/myplugin" &&
    env PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$destdir" PKG_CONFIG="$PKG_CONFIG" \
      "$MAKE" -s CFLAGS='-O2 -Wall -Wextra -Werror') >"$T_DIR/make.out" 2>&1 &&
   [ -f "$T_DIR/myplugin/route-split.so" ]; then
  pass "cp -r plugins/example && make: route-split.so from the installed headers and herald.pc"
else
  fail "the copied example does not build:"
  sed 's/^/  | /' "$T_DIR/make.out" >&2
  herald_test_done
fi
# Only installed files were used: the source tree's core/ is never named.
if grep -q "$HERALD_SRC_DIR/core" "$T_DIR/make.out"; then
  fail "the build named the source tree"
fi

M=$T_DIR/modules
mkdir -m 0700 "$M"
install -m 0644 "$T_DIR/myplugin/route-split.so" "$M/"
install -m 0644 "$pkglibdir/device-email.so" "$pkglibdir/transport-smtp.so" "$M/"
cat >"$T_DIR/herald.conf" <<CONF
herald: {
  plugin_dirs = [ "$M" ];
  # No server answers on port 9: internal domains need no DNS, others defer.
  dns: { servers = [ "127.0.0.1:9" ]; timeout_ms = 200; tries = 1; };
};
devices = (
  { name = "corp"; driver = "email";
    route: { strategy = "split"; internal = [ "corp.test" ]; hosts = [ "[127.0.0.1]:2626" ]; };
    transport: { name = "smtp"; helo_name = "herald.test"; }; }
);
CONF
chmod 0600 "$T_DIR/herald.conf"
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
OUT=$T_DIR/out ERR=$T_DIR/err

run_herald "$OUT" "$ERR" -c "$T_DIR/herald.conf" devices
expect_rc "herald devices" 0 "$ERR"
expect_grep "herald devices loads the copy" "$OUT" "$M/route-split.so"

run_herald "$OUT" "$ERR" -c "$T_DIR/herald.conf" route -d corp --json a.corp.test
expect_rc "internal domain" 0 "$ERR"
expect_grep "internal domain" "$OUT" '"host":"127.0.0.1","port":2626,"preference":null,"origin":"split","addresses":["127.0.0.1"]'

run_herald "$OUT" "$ERR" -c "$T_DIR/herald.conf" route -d corp --json other.test
expect_rc "other domain: the MX walk, no DNS answer" 75 "$ERR"
expect_grep "other domain" "$OUT" '"class":"temporary"'
expect_grep "other domain" "$OUT" 'MX lookup for other.test failed temporarily'

# check() runs at load: a bad internal domain names FILE:LINE.
sed 's/internal = \[ "corp.test" \]/internal = [ "corp..test" ]/' "$T_DIR/herald.conf" >"$T_DIR/bad.conf"
chmod 0600 "$T_DIR/bad.conf"
run_herald "$OUT" "$ERR" -c "$T_DIR/bad.conf" check
expect_rc "check: bad internal domain" 78 "$ERR"
expect_grep "check: bad internal domain" "$ERR" "$T_DIR/bad.conf:8:"
expect_grep "check: bad internal domain" "$ERR" 'option "internal": entry 1'

herald_test_done
