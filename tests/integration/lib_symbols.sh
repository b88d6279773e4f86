#!/bin/bash
# lib_symbols.sh - libherald exports only herald_* symbols, and links no
# library it does not use (mbed TLS belongs to the smtp transport).
#
#   lib_symbols.sh [LIBHERALD.so]
#
# Without an argument: the build tree's core/.libs/libherald.so (make check).
# "make installcheck" passes the installed one.  A plugin that defines its own
# registry_count() must get its own, never the core's: every defined dynamic
# symbol other than the linker's bookkeeping must start with herald_.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"
herald_test_init

lib=${1:-${HERALD_BUILD_DIR:?}/core/.libs/libherald.so}
[ -f "$lib" ] || hard_error "no library at $lib"
NM=${NM:-nm}                 # libtool's $(NM) may carry options ("nm -B")
READELF=${READELF:-readelf}
command -v "${NM%% *}" >/dev/null || hard_error "no $NM"
command -v "$READELF" >/dev/null || hard_error "no $READELF"

# Defined dynamic symbols (any type but U/w/v undefined), without versions.
# shellcheck disable=SC2086
$NM -D --defined-only "$lib" >"$T_DIR/nm.out" || hard_error "$NM -D $lib failed"
awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }' "$T_DIR/nm.out" | sort -u >"$T_DIR/defined"

# The linker's own markers are not ours to hide.
grep -vxE '_edata|_end|__bss_start|_init|_fini' "$T_DIR/defined" |
  grep -v '^herald_' >"$T_DIR/foreign" || true
if [ -s "$T_DIR/foreign" ]; then
  fail "$(wc -l <"$T_DIR/foreign") exported symbol(s) without the herald_ prefix:"
  sed 's/^/  | /' "$T_DIR/foreign" >&2
else
  pass "every exported symbol starts with herald_"
fi

# The public API is still there (the filter did not hide everything).
for sym in herald_open herald_route herald_route_mx herald_hostport_parse herald_module_kind_name herald_dns_resolve \
           herald_strerror herald_text_printable herald_job_hop_failed herald_delivery_hop \
           herald_outcome_hop_count herald_outcome_hop_failed herald_message_add_try_last \
           herald_message_try_last; do
  if grep -qx "$sym" "$T_DIR/defined"; then
    pass "exports $sym"
  else
    fail "does not export $sym"
  fi
done

# Internals the issue found exported: they must be gone.
for sym in registry_count arena_new config_load context_open trace_sink_open text_printable outcome_hop; do
  if grep -qx "$sym" "$T_DIR/defined"; then
    fail "exports the internal $sym"
  else
    pass "hides $sym"
  fi
done

"$READELF" -d "$lib" >"$T_DIR/dyn" || hard_error "$READELF -d $lib failed"
if grep -q 'NEEDED.*mbed' "$T_DIR/dyn"; then
  fail "libherald links mbed TLS, which the core does not use:"
  grep NEEDED "$T_DIR/dyn" | sed 's/^/  | /' >&2
else
  pass "libherald links no mbed TLS"
fi

herald_test_done
