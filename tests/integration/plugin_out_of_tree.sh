#!/bin/bash
# plugin_out_of_tree.sh - a route strategy built OUTSIDE the Herald tree,
# against the INSTALLED headers and herald.pc only, is loaded and used by the
# installed herald (issue 3).  Run by "make installcheck" (so by distcheck):
#
#   plugin_out_of_tree.sh SRCDIR PCDIR PREFIX INCLUDEDIR LIBDIR PKGLIBDIR BINDIR
#
# The example (plugins/example/Makefile, route_static.c) is built in a temp
# folder; the folder Herald loads from holds that route-static.so and copies
# of the installed email device and smtp transport (the installed folder has
# its own route-static.so, and the loader refuses a module found twice).
# Nothing is sent: "herald devices" must name the out-of-tree file, and
# "herald route" must give the plan the strategy computes.
set -euo pipefail
srcdir=$1 pcdir=$2 prefix=$3 includedir=$4 libdir=$5 pkglibdir=$6 bindir=$7
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
MAKE=${MAKE:-make}

fails=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/herald-plugin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 0700 "$tmp"
mkdir -m 0700 "$tmp/build" "$tmp/modules"

export PKG_CONFIG_PATH=$pcdir
"$PKG_CONFIG" --exists herald || { echo "ERROR: pkg-config finds no herald in $pcdir" >&2; exit 99; }
# Under DESTDIR the .pc still names the configured prefix: redirect it.
cflags=$("$PKG_CONFIG" --define-variable=prefix="$prefix" --cflags herald)
libs=$("$PKG_CONFIG" --define-variable=prefix="$prefix" --libs herald)
case $cflags in *"$includedir"*) ;; *) cflags="-I$includedir $cflags" ;; esac
case $libs in *"$libdir"*) ;; *) libs="-L$libdir $libs" ;; esac

if (cd "$tmp/build" && "$MAKE" -s -f "$srcdir/plugins/example/Makefile" \
      HERALD_CFLAGS="$cflags" HERALD_LIBS="$libs" CFLAGS='-O2 -Wall -Wextra -Werror'); then
  pass "the example builds out of tree with pkg-config herald"
else
  fail "the example does not build out of tree"
  exit 1
fi
install -m 0755 "$tmp/build/route-static.so" "$tmp/modules/"
install -m 0755 "$pkglibdir/device-email.so" "$pkglibdir/transport-smtp.so" "$tmp/modules/"
cat >"$tmp/herald.conf" <<CONF
herald: {
  plugin_dirs = [ "$tmp/modules" ];
  # Nothing here needs DNS; a server that cannot answer proves it.
  dns: { servers = [ "127.0.0.1:9" ]; timeout_ms = 200; tries = 1; };
};
devices = (
  { name = "corp"; driver = "email";
    route: { strategy = "static"; routes = [ "*.corp.test=[127.0.0.1]:2626" ]; fallback = "fail"; };
    transport: { name = "smtp"; helo_name = "herald.test"; }; }
);
CONF
chmod 0600 "$tmp/herald.conf"

run() { LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} timeout 30 "$bindir/herald" -c "$tmp/herald.conf" "$@"; }

rc=0; run devices >"$tmp/devices.out" 2>&1 || rc=$?
if [ "$rc" = 0 ] && grep -qF "$tmp/modules/route-static.so" "$tmp/devices.out"; then
  pass "herald devices loads route-static.so from the out-of-tree build"
else
  fail "herald devices (exit $rc) does not name $tmp/modules/route-static.so:"
  sed 's/^/  | /' "$tmp/devices.out" >&2
fi
rc=0; run route -d corp --json a.corp.test >"$tmp/route.out" 2>&1 || rc=$?
if [ "$rc" = 0 ] && grep -qF '"host":"127.0.0.1","port":2626' "$tmp/route.out" &&
   grep -qF '"origin":"static"' "$tmp/route.out"; then
  pass "herald route uses the out-of-tree strategy"
else
  fail "herald route (exit $rc) gave:"
  sed 's/^/  | /' "$tmp/route.out" >&2
fi
rc=0; run route -d corp --json other.test >"$tmp/route2.out" 2>&1 || rc=$?
if [ "$rc" = 69 ] && grep -qF '"class":"permanent"' "$tmp/route2.out"; then
  pass "no pattern matches: fallback fail, exit 69"
else
  fail "unmatched domain: exit $rc, want 69:"
  sed 's/^/  | /' "$tmp/route2.out" >&2
fi

echo "plugin_out_of_tree.sh: $fails failed"
[ "$fails" = 0 ]
