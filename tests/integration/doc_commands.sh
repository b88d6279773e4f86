#!/bin/bash
# doc_commands.sh - every herald command the documentation shows exists:
# for each "herald [-c FILE] WORD" in README.md, docs/ and conf/*.md,
# "herald WORD --help" must succeed.  (A doc once named "herald modules".)
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"
herald_test_init

mapfile -t docs < <(find "$HERALD_SRC_DIR/README.md" "$HERALD_SRC_DIR/docs" "$HERALD_SRC_DIR/conf" \
                      -type f \( -name '*.md' -o -name '*.[0-9]' \) | sort)
[ "${#docs[@]}" -ge 3 ] || hard_error "found only ${#docs[@]} documents"
# "herald WORD", "herald -c FILE WORD", "herald [-c FILE] WORD", at a word start.
grep -ohE '(^|[`$ (])herald( \[-c FILE\]| -c [^ `]+)? [a-z][a-z-]+' "${docs[@]}" |
  sed -E 's/.*herald( \[-c FILE\]| -c [^ `]+)? //' | sort -u >"$T_DIR/words"
[ -s "$T_DIR/words" ] || hard_error "no herald command found in the documents"
while read -r word; do
  run_herald "$T_DIR/out" "$T_DIR/err" "$word" --help
  if [ "$RC" -eq 0 ]; then
    pass "herald $word --help"
  else
    fail "the docs show \"herald $word\", but herald $word --help exits $RC:"
    grep -lE "herald( \[-c FILE\]| -c [^ \`]+)? $word\b" "${docs[@]}" | sed 's/^/  | in /' >&2
  fi
done <"$T_DIR/words"
herald_test_done
