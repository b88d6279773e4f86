#!/bin/bash
# plugin_out_of_tree.sh - the plugin author's path, end to end: copy
# plugins/example anywhere, run "make" there with PKG_CONFIG_PATH at the
# INSTALLED herald.pc (nothing else of the source tree), and the installed
# herald loads the route-split.so it makes and routes with it.
#
#   plugin_out_of_tree.sh                      make check: a private prefix of
#                                              the build tree's headers, library, .pc
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
  herald_test_init
  # make check: a private prefix made of the build tree's public headers,
  # libherald.so and herald.pc (not "make install": libtool relinks modules
  # in place while installing, under the feet of the tests running beside).
  B=${HERALD_BUILD_DIR:?}
  prefix=$T_DIR/prefix
  mkdir -p "$prefix/include/herald" "$prefix/lib/pkgconfig"
  cp "$HERALD_SRC_DIR"/core/herald/*.h "$prefix/include/herald/"
  cp -P "$B"/core/.libs/libherald.so* "$prefix/lib/" || hard_error "no libherald.so in $B/core/.libs"
  sed -e "s|^prefix=.*|prefix=$prefix|" -e 's|^exec_prefix=.*|exec_prefix=${prefix}|' \
      -e 's|^libdir=.*|libdir=${prefix}/lib|' -e 's|^includedir=.*|includedir=${prefix}/include|' \
      "$B/herald.pc" >"$prefix/lib/pkgconfig/herald.pc" || hard_error "no $B/herald.pc"
  destdir= pcdir=$prefix/lib/pkgconfig pkglibdir=$B/devices/.libs libdir=$prefix/lib
else
  [ $# -eq 5 ] || hard_error "usage: $0 [DESTDIR PCDIR BINDIR PKGLIBDIR LIBDIR]"
  destdir=$1 pcdir=$2 pkglibdir=$4 libdir=$5
  HERALD_BIN=$3/herald
  export HERALD_BIN
  herald_test_init
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
