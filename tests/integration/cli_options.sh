#!/bin/bash
# cli_options.sh - "herald options": a module's options read from the module
# itself.  smtp: tls with its four words and default opportunistic,
# connect_timeout_ms 100..3600000 default 30000, auth.password secret,
# auth.user required; route mx: port default 25; the example strategy
# "split" is found without KIND; email: the module members; --json parses
# and says the same; exit 69 for an unknown name (naming the folders
# searched), 64 for a bad KIND or no NAME, 78 for a broken device file.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"
herald_test_init

OUT=$T_DIR/out
ERR=$T_DIR/err
CONF=$T_DIR/herald.conf
# Nothing is sent: the DNS server is never asked.
cat >"$CONF" <<CONF
herald: { dns: { servers = [ "127.0.0.1:1" ]; }; };
devices = (
  { name = "mail"; driver = "email";
    route = { strategy = "mx"; };
    transport = { name = "smtp"; tls = "none"; }; }
);
CONF

# option_line FILE NAME - the text line of option NAME (exact name, first column)
option_line() {
  awk -v n="$2" '$1 == n && /^  / { print; exit }' "$1"
}

# expect_option NAME FILE OPTION PATTERN... - OPTION's line holds every fixed PATTERN
expect_option() {
  local name=$1 file=$2 opt=$3 line p
  shift 3
  line=$(option_line "$file" "$opt")
  if [ -z "$line" ]; then
    fail "$name: no line for option $opt in:"
    sed 's/^/  | /' "$file" >&2
    return
  fi
  for p in "$@"; do
    case $line in
      *"$p"*) pass "$name: $opt has '$p'" ;;
      *) fail "$name: $opt line '$line' has no '$p'" ;;
    esac
  done
}

# expect_no_grep NAME FILE PATTERN - FILE has no line with the fixed string PATTERN
expect_no_grep() {
  if grep -qF -- "$3" "$2"; then
    fail "$1: unexpected '$3' in:"
    sed 's/^/  | /' "$2" >&2
  else
    pass "$1: no '$3'"
  fi
}

# Where the loader finds the modules, as "herald devices" reports them: the
# build tree keeps devices and strategies in two folders, an install in one.
run_herald "$OUT" "$ERR" -c "$CONF" devices --json
expect_rc "devices" 0 "$ERR"
PATHS=$("$TEST_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
m = {(x["kind"], x["name"]): x["path"] for x in d["devices"][0]["modules"]}
print(m[("device", "email")], m[("route", "mx")], m[("transport", "smtp")], sep="\n")
' <"$OUT") || hard_error "cannot read the module paths from: $(cat "$OUT")"
{ read -r EMAIL_PATH; read -r MX_PATH; read -r SMTP_PATH; } <<<"$PATHS"
DEVICE_DIR=$(dirname "$EMAIL_PATH")
ROUTE_DIR=$(dirname "$MX_PATH")
[ -f "$SMTP_PATH" ] || hard_error "no transport-smtp.so at '$SMTP_PATH'"

# --- herald options smtp (no KIND: only the transport has that name) -----------
run_herald "$OUT" "$ERR" -c "$CONF" options smtp
expect_rc "options smtp" 0 "$ERR"
expect_grep "options smtp" "$OUT" "transport smtp ($SMTP_PATH): "
if [ "$(grep -c '^[a-z]' "$OUT")" -eq 1 ]; then pass "options smtp: one module"
else fail "options smtp: want one header line in: $(cat "$OUT")"; fi
expect_option "options smtp" "$OUT" tls "none|opportunistic|required|verify" \
  "default opportunistic"
expect_option "options smtp" "$OUT" connect_timeout_ms "ms 100..3600000" "default 30000" \
  "TCP connect"
expect_option "options smtp" "$OUT" auth.password "secret"
expect_option "options smtp" "$OUT" auth.user "required"
expect_option "options smtp" "$OUT" session_cache "bool" "default true"
expect_option "options smtp" "$OUT" auth "group"
# The password is secret, not required; the user is required, not secret.
case $(option_line "$OUT" auth.password) in
  *required*) fail "options smtp: auth.password marked required" ;;
  *) pass "options smtp: auth.password not required" ;;
esac
case $(option_line "$OUT" auth.user) in
  *secret*) fail "options smtp: auth.user marked secret" ;;
  *) pass "options smtp: auth.user not secret" ;;
esac
# Table order: tls before auth.user before connect_timeout_ms.
if awk '$1 == "tls" { t = NR } $1 == "auth.user" { u = NR }
        $1 == "connect_timeout_ms" { c = NR }
        END { exit !(t && u && c && t < u && u < c) }' "$OUT"; then
  pass "options smtp: table order"
else
  fail "options smtp: not in table order: $(cat "$OUT")"
fi
# The same with the KIND given, and --json after NAME.
run_herald "$OUT" "$ERR" -c "$CONF" options transport smtp
expect_rc "options transport smtp" 0 "$ERR"
expect_option "options transport smtp" "$OUT" tls "default opportunistic"

run_herald "$OUT" "$ERR" -c "$CONF" options smtp --json
expect_rc "options smtp --json" 0 "$ERR"
cat >"$T_DIR/smtp.py" <<'PY'
import json, sys
smtp_path = sys.argv[1]
d = json.load(sys.stdin)
mods = d["modules"]
assert len(mods) == 1, mods
m = mods[0]
assert m["kind"] == "transport" and m["name"] == "smtp", m
assert m["path"] == smtp_path, m["path"]
assert m["summary"], m
opts = {o["name"]: o for o in m["options"]}
names = [o["name"] for o in m["options"]]
assert names.index("tls") < names.index("auth.user") < names.index("connect_timeout_ms"), names
for o in m["options"]:
    assert set(o) >= {"name", "type", "required", "secret", "default", "min", "max",
                      "choices", "help"}, o
tls = opts["tls"]
assert tls["type"] == "enum", tls
assert tls["choices"] == ["none", "opportunistic", "required", "verify"], tls
assert tls["default"] == "opportunistic", tls
c = opts["connect_timeout_ms"]
assert c["type"] == "ms" and c["default"] == 30000, c
assert c["min"] == 100 and c["max"] == 3600000, c
assert opts["auth.password"]["secret"] is True, opts["auth.password"]
assert opts["auth.password"]["required"] is False, opts["auth.password"]
assert opts["auth.user"]["required"] is True, opts["auth.user"]
assert opts["auth.user"]["secret"] is False, opts["auth.user"]
assert opts["auth.user"]["default"] is None, opts["auth.user"]
assert opts["session_cache"]["default"] is True, opts["session_cache"]
assert opts["helo_name"]["default"] is None, opts["helo_name"]
assert opts["auth"]["type"] == "group", opts["auth"]
PY
if "$TEST_PYTHON" "$T_DIR/smtp.py" "$SMTP_PATH" <"$OUT"; then
  pass "options smtp --json: the same facts"
else
  fail "options smtp --json: $(cat "$OUT")"
fi

# --- herald options route mx ---------------------------------------------------
run_herald "$OUT" "$ERR" -c "$CONF" options route mx
expect_rc "options route mx" 0 "$ERR"
expect_grep "options route mx" "$OUT" "route mx ($MX_PATH): "
expect_option "options route mx" "$OUT" port "int 1..65535" "default 25"
expect_option "options route mx" "$OUT" family "any|ipv4|ipv6" "default any"
run_herald "$OUT" "$ERR" -c "$CONF" options --json route mx
expect_rc "options --json route mx" 0 "$ERR"
if "$TEST_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
m, = d["modules"]
assert (m["kind"], m["name"]) == ("route", "mx"), m
port = [o for o in m["options"] if o["name"] == "port"][0]
assert port["default"] == 25 and port["type"] == "int", port
assert port["min"] == 1 and port["max"] == 65535, port
' <"$OUT"; then pass "options route mx --json: port 25"; else fail "options route mx --json: $(cat "$OUT")"; fi
# The KIND narrows the search: there is no device or transport "mx".
run_herald "$OUT" "$ERR" -c "$CONF" options transport mx
expect_rc "options transport mx" 69 "$ERR"
expect_grep "options transport mx" "$ERR" "transport-mx.so not found in"
expect_grep "options transport mx" "$ERR" "$DEVICE_DIR"
expect_grep "options transport mx" "$ERR" "$ROUTE_DIR"

# --- the example strategy, which the device file does not name -------------------
run_herald "$OUT" "$ERR" -c "$CONF" options split
expect_rc "options split" 0 "$ERR"
expect_grep "options split" "$OUT" "route split ($ROUTE_DIR/route-split.so): "
expect_option "options split" "$OUT" internal "string list" "required"
expect_option "options split" "$OUT" port "int 1..65535" "default 25"
run_herald "$OUT" "$ERR" -c "$CONF" options --json split
expect_rc "options split --json" 0 "$ERR"
if "$TEST_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
m, = d["modules"]
assert (m["kind"], m["name"]) == ("route", "split"), m
o = {x["name"]: x for x in m["options"]}
assert o["hosts"]["type"] == "strlist" and o["hosts"]["default"] == [], o["hosts"]
assert o["port"]["default"] == 25, o["port"]
' <"$OUT"; then pass "options split --json"; else fail "options split --json: $(cat "$OUT")"; fi

# --- a device with module members, and one with a file mode ---------------------
run_herald "$OUT" "$ERR" -c "$CONF" options device email
expect_rc "options device email" 0 "$ERR"
expect_option "options device email" "$OUT" route.strategy "route module name" "required" \
  "the module's own options follow its name"
expect_option "options device email" "$OUT" transport.name "transport module name"
expect_option "options device email" "$OUT" parallel_domains "default 16"
run_herald "$OUT" "$ERR" -c "$CONF" options file
expect_rc "options file" 0 "$ERR"
expect_option "options file" "$OUT" mode "default 0640"
expect_option "options file" "$OUT" path "required"

# --- errors ------------------------------------------------------------------
run_herald "$OUT" "$ERR" -c "$CONF" options nosuch
expect_rc "options nosuch" 69 "$ERR"
expect_grep "options nosuch" "$ERR" "route-nosuch.so not found in"
expect_grep "options nosuch" "$ERR" "transport-nosuch.so not found in"
expect_grep "options nosuch" "$ERR" "$DEVICE_DIR"
expect_grep "options nosuch" "$ERR" "$ROUTE_DIR"
if [ -s "$OUT" ]; then fail "options nosuch: wrote to stdout"; else pass "options nosuch: no stdout"; fi
run_herald "$OUT" "$ERR" -c "$CONF" options --json nosuch
expect_rc "options --json nosuch" 69 "$ERR"
# A name that could climb out of the folder is never looked up.
run_herald "$OUT" "$ERR" -c "$CONF" options ../smtp
expect_rc "options ../smtp" 69 "$ERR"
expect_no_grep "options ../smtp" "$OUT" "smtp"

for args in "options" "options bogus smtp" "options route" "options --bogus smtp" \
    "options route mx extra"; do
  # shellcheck disable=SC2086
  run_herald "$OUT" "$ERR" -c "$CONF" $args
  expect_rc "herald $args (usage)" 64 "$ERR"
  expect_grep "herald $args (usage)" "$ERR" "herald options"
done
run_herald "$OUT" "$ERR" -c "$CONF" options ""
expect_rc "options '' (usage)" 64 "$ERR"

# A broken device file is a configuration error, whatever the command.
printf 'devices = ( { name = "r"; driver = "file"; } );\n' >"$T_DIR/bad.conf"
run_herald "$OUT" "$ERR" -c "$T_DIR/bad.conf" options smtp
expect_rc "options with a broken file" 78 "$ERR"
expect_grep "options with a broken file" "$ERR" "$T_DIR/bad.conf:1:"

# --- help ----------------------------------------------------------------------
run_herald "$OUT" "$ERR" options --help
expect_rc "options --help" 0 "$ERR"
expect_grep "options --help" "$OUT" "Usage: herald [-c FILE] options [--json] [KIND] NAME"
run_herald "$OUT" "$ERR" --help
expect_rc "--help" 0 "$ERR"
expect_grep "--help" "$OUT" "  options "

herald_test_done
