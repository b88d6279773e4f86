#!/bin/bash
# man_pages.sh - every man page renders without a single warning (groff -ww,
# and man -l with man-db's --warnings at three widths); herald.conf(5) names
# every option of conf/options.md; herald(1) names every command and every
# option the commands' --help prints; the libherald(3) example compiles
# against the headers.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"
herald_test_init

command -v groff >/dev/null || hard_error "groff not found (Debian package groff-base)"
command -v man >/dev/null || hard_error "man not found (Debian package man-db)"

SRC_MAN=$HERALD_SRC_DIR/docs/man
BUILT_MAN=${HERALD_BUILD_DIR:?}/docs/man
PAGES=("$SRC_MAN/herald.1" "$SRC_MAN/libherald.3" "$SRC_MAN/herald-modules.7"
  "$BUILT_MAN/herald.conf.5" "$SRC_MAN/herald-sendmail.8")

for page in "${PAGES[@]}"; do
  name=$(basename "$page")
  [ -f "$page" ] || { fail "$name: missing"; continue; }
  if groff -ww -z -man "$page" >"$T_DIR/groff.err" 2>&1 && [ ! -s "$T_DIR/groff.err" ]; then
    pass "$name: groff -ww clean"
  else
    fail "$name: groff warnings"; sed 's/^/  | /' "$T_DIR/groff.err" >&2
  fi
  for width in 60 80 132; do
    if LC_ALL=C.UTF-8 MANWIDTH=$width man --warnings -l "$page" >"$T_DIR/$name.$width.txt" \
        2>"$T_DIR/man.err" && [ ! -s "$T_DIR/man.err" ] && [ -s "$T_DIR/$name.$width.txt" ]; then
      pass "$name: man -l at $width columns clean"
    else
      fail "$name: man -l at $width columns"; sed 's/^/  | /' "$T_DIR/man.err" >&2
    fi
  done
done

# herald.conf(5) and conf/options.md: every option of every table is in the page.
"$TEST_PYTHON" - "$HERALD_SRC_DIR/conf/options.md" "$T_DIR/herald.conf.5.132.txt" \
  >"$T_DIR/opts.out" 2>&1 <<'PY' && pass "herald.conf.5 has every option of options.md" || {
import re, sys
md = open(sys.argv[1], encoding="utf-8").read()
page = re.sub(r"\s+", " ", open(sys.argv[2], encoding="utf-8").read().replace("\u2010", "-"))
names = []
for line in md.splitlines():
    m = re.match(r"^\| `([^`]+)`", line)
    if m:
        names.append(m.group(1))
assert len(names) > 40, names
missing = [n for n in names if n not in page]
assert not missing, "missing from herald.conf.5: %s" % missing
print(len(names), "options")
PY
  fail "herald.conf.5 lacks options of options.md"; sed 's/^/  | /' "$T_DIR/opts.out" >&2; }

# herald(1): every command of "herald --help", every long option of each command's --help.
page1=$(tr -s ' \n' ' ' <"$T_DIR/herald.1.132.txt" | sed 's/\xe2\x80\x90/-/g')
"$HERALD" --help >"$T_DIR/help.txt"
missing=
while read -r cmd; do
  case $page1 in *" $cmd "*|*"   $cmd"*) ;; *) missing="$missing $cmd" ;; esac
  "$HERALD" "$cmd" --help >"$T_DIR/cmd.txt" 2>&1 || true
  for opt in $(grep -oE -- '--[a-z][a-z-]+' "$T_DIR/cmd.txt" | sort -u); do
    case $page1 in *"$opt"*) ;; *) missing="$missing $cmd:$opt" ;; esac
  done
done < <(sed -n '/^Commands:/,/^$/p' "$T_DIR/help.txt" | awk 'NF > 1 { print $1 }')
if [ -z "$missing" ]; then pass "herald.1 names every command and option"
else fail "herald.1 lacks:$missing (document each in docs/man/herald.1)"; fi

# libherald(3): the example compiles against the source tree's headers.
sed -n '/^\.SH EXAMPLES/,/^\.SH/p' "$SRC_MAN/libherald.3" | sed -n '/^\.nf/,/^\.fi/p' |
  sed -e '/^\.nf/d' -e '/^\.fi/d' -e 's/\\e/\\/g' -e 's/^\\&//' >"$T_DIR/example.c"
if ${CC:-cc} -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$HERALD_SRC_DIR/core" \
    "$T_DIR/example.c" >"$T_DIR/cc.err" 2>&1; then
  pass "libherald.3 example compiles"
else
  fail "libherald.3 example does not compile"; sed 's/^/  | /' "$T_DIR/cc.err" >&2
fi

herald_test_done
