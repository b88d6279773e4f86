# shellcheck shell=bash
# postfix.sh - a real Postfix MTA on loopback for Herald's tests (sourced
# after common.sh; needs herald_test_init's $T_DIR)
#
#   postfix_start IP PORT DOMAIN [MAIN_CF_LINES]
#
# A private Postfix instance: its own main.cf and master.cf in
# $T_DIR/postfix/conf, its own queue, one smtpd on IP:PORT, and mail for
# DOMAIN delivered by virtual(8) into the Maildir $PF_MAILDIR (owned by
# nobody).  Postfix's log goes to $PF_LOG (maillog_file, Postfix 3.4 and
# later, written through master's standard output), so a test can read what
# the server saw.  master(8) runs in the
# foreground ("-s", as "postfix start-fg" does) and is stopped with the
# test's other servers.  Recipients named reject-*@DOMAIN are refused at
# RCPT with 550 5.1.1; MAIN_CF_LINES adds or overrides main.cf settings.
#
# Postfix's master starts as root and gives each daemon the postfix user:
# the test needs root (CI runs as root) and the users that Debian's postfix
# package creates.  Anything missing is a hard error, never a skip.

PF_MASTER=${PF_MASTER:-/usr/lib/postfix/sbin/master}
PF_POSTCAT=${PF_POSTCAT:-/usr/sbin/postcat}

postfix_start() {
  local ip=$1 port=$2 domain=$3 extra=${4:-} dir q d
  [ -x "$PF_MASTER" ] || hard_error "Postfix's master not found at $PF_MASTER (Debian package postfix)"
  [ "$(id -u)" -eq 0 ] || hard_error "a real Postfix needs root: its master starts as root"
  id postfix >/dev/null 2>&1 || hard_error "no user postfix (install Debian's postfix package)"
  getent group postdrop >/dev/null || hard_error "no group postdrop (install Debian's postfix package)"

  dir=$T_DIR/postfix
  PF_CONF=$dir/conf   # for postcat -c and the like
  q=$dir/queue
  PF_MAILDIR=$dir/mail/inbox
  PF_LOG=$dir/maillog
  # Postfix's daemons run as postfix and nobody: they must reach their folders.
  chmod 0711 "$T_DIR"
  mkdir -m 0755 "$dir" "$dir/conf" "$q" "$q/pid"
  mkdir -m 0755 "$dir/mail"
  chown nobody "$dir/mail"
  for d in active bounce corrupt defer deferred flush hold incoming private saved trace; do
    mkdir -m 0700 "$q/$d"
    chown postfix "$q/$d"
  done
  mkdir -m 0730 "$q/maildrop"
  mkdir -m 0710 "$q/public"
  chown postfix:postdrop "$q/maildrop" "$q/public"
  mkdir -m 0700 "$dir/data"
  chown postfix "$dir/data"
  : >"$PF_LOG"

  cat >"$dir/conf/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $q
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = /dev/stdout
inet_interfaces = all
inet_protocols = ipv4
myhostname = mx.$domain
mydomain = $domain
# Nothing from the machine's own resolver: a CI machine may have none.
smtpd_peername_lookup = no
mydestination =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtputf8_enable = yes
virtual_mailbox_domains = $domain
virtual_mailbox_base = $dir/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
virtual_minimum_uid = 1
smtpd_recipient_restrictions =
  check_recipient_access regexp:$dir/conf/reject.regexp,
  permit_mynetworks, reject_unauth_destination
$extra
CF
  printf '/^reject-.*@/ 550 5.1.1 no such user here\n' >"$dir/conf/reject.regexp"
  # chroot "n" everywhere: a chroot jail would need copies of system files.
  cat >"$dir/conf/master.cf" <<CF
$ip:$port inet n - n - - smtpd
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
virtual   unix - n n - - virtual
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
tlsmgr    unix - - n 1000? 1 tlsmgr
postlog   unix-dgram n - n - 1 postlogd
CF
  # The log on master's standard output (maillog_file = /dev/stdout, which
  # postlogd inherits): no syslog needed, and the file is the test's to read.
  start_bg "$PF_MASTER" -c "$dir/conf" -s </dev/null >"$PF_LOG" 2>&1
  if ! wait_for_port "$ip" "$port" 20; then
    cat "$PF_LOG" >&2
    hard_error "Postfix did not start on $ip:$port"
  fi
}

# postfix_wait_mail COUNT - wait (at most 20 s) until the Maildir holds COUNT
# messages; 1 on timeout
postfix_wait_mail() {
  "$TEST_PYTHON" - "$PF_MAILDIR/new" "$1" <<'PY'
import os, sys, time
folder, want = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    try:
        if len(os.listdir(folder)) >= want:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.05)
sys.exit(1)
PY
}
