#!/bin/bash
# email_tls_ip.sh - IP-literal hops and TLS names (issue 8 item 4).
#
# A smart host "[IP]" is checked against the certificate's iPAddress SANs,
# compared as binary addresses, never against dNSName SANs, a wildcard or the
# CN (those are host names), and its ClientHello carries no SNI (RFC 6066 3).
# capture_smtpd.py with STARTTLS, certificates from tests/lib/make_certs.sh,
# tls = "verify" with the test CA:
#   [$IP]   ip.pem (iPAddress SANs $IP and ::1)        delivered, no SNI
#   [::1]   ip.pem                                     delivered, no SNI
#   [$IP]   ipname.pem (dNSName SANs $IP, ::1 and a wildcard over $IP, CN $IP)
#                                                      refused, nothing sent
#   [$IP]   ipcn.pem (CN $IP, no SAN)                  refused, nothing sent
# (one server per certificate, each on its own port), and a named hop,
# mx1.tls.test through dnsmasq, to server.pem: delivered and its name sent as
# SNI, so the recorder does see a name when there is one.
# Needs IPv6 on loopback; a machine without ::1 is a hard error, not a skip.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "${HERALD_SRC_DIR:?HERALD_SRC_DIR is not set: run through make check}/tests/lib/common.sh"
herald_test_init

NET=127.77.41
IP=$NET.2 IP_NAMED=$NET.5
OUT=$T_DIR/out ERR=$T_DIR/err CONF=$T_DIR/herald.conf
PORT6=$(free_port ::1 tcp) || hard_error "no IPv6 loopback (::1) on this machine"
PKI=$T_DIR/pki
mkdir "$PKI"
sh "$HERALD_SRC_DIR/tests/lib/make_certs.sh" "$PKI" "$IP" || hard_error "make_certs.sh failed"

start_dnsmasq mx1.tls.test 1 --log-facility=/dev/null --local=/test/ \
  --host-record=mx1.tls.test,"$IP_NAMED"

# capture NAME IP CERT - capture_smtpd.py with STARTTLS and CERT on a free port
# of IP (PORT_NAME), messages in $T_DIR/NAME/
capture() {
  local name=$1 ip=$2 cert=$3 port
  port=$(free_port "$ip" tcp) || hard_error "no free TCP port on $ip"
  [ "$ip" = ::1 ] && port=$PORT6
  mkdir -p "$T_DIR/$name"
  start_bg "$TEST_PYTHON" "$HERALD_SRC_DIR/tests/servers/capture_smtpd.py" "$ip" "$port" \
    "$T_DIR/$name" "$PKI/$cert.pem" "$PKI/$cert.key" >/dev/null 2>"$T_DIR/$name.err" </dev/null
  wait_for_port "$ip" "$port" 15 || hard_error "capture_smtpd.py did not start on $ip"
  eval "PORT_$name=$port"
}
capture ok "$IP" ip
capture v6 ::1 ip
capture dns "$IP" ipname
capture cn "$IP" ipcn
capture named "$IP_NAMED" server

# device NAME SMARTHOST - one device with tls = verify against the test CA
device() {
  cat <<DEV
  { name = "$1"; driver = "email";
    route: { strategy = "smarthost"; smarthost = [ "$2" ]; };
    transport: { name = "smtp"; helo_name = "client.herald.test"; tls = "verify";
                 ca_file = "$PKI/ca.pem"; connect_timeout_ms = 3000;
                 greeting_timeout_ms = 5000; }; }
DEV
}
{
  echo "herald: { dns: { servers = [ \"127.0.0.1:$DNS_PORT\" ]; timeout_ms = 1000; tries = 1; }; };"
  echo "devices = ("
  device ok "[$IP]:$PORT_ok"; echo ","
  device v6 "[::1]:$PORT_v6"; echo ","
  device dns "[$IP]:$PORT_dns"; echo ","
  device cn "[$IP]:$PORT_cn"; echo ","
  device named "mx1.tls.test:$PORT_named"
  echo ");"
} >"$CONF"
printf 'Subject: ip hop\n\nto an IP literal over TLS\n' >"$T_DIR/msg"

# send DEVICE - herald send through DEVICE, trace in $T_DIR/DEVICE.trace
send() {
  run_herald "$OUT" "$ERR" -c "$CONF" send -d "$1" --trace "$T_DIR/$1.trace" \
    -f a@herald.test -t b@herald.test "$T_DIR/msg"
}

# An iPAddress SAN that holds the hop's address: verified, and no SNI sent.
for dev in ok v6; do
  host=$IP; [ "$dev" = v6 ] && host=::1
  send "$dev"
  expect_rc "[$dev] iPAddress SAN" 0 "$ERR"
  expect_grep "[$dev] iPAddress SAN" "$OUT" "b@herald.test: delivered"
  expect_grep "[$dev] delivered over TLS" "$T_DIR/$dev/1.json" '"tls": true'
  expect_grep "[$dev] trace" "$T_DIR/$dev.trace" "certificate verification for $host: ok"
  expect_grep "[$dev] ClientHello without SNI" "$T_DIR/$dev/sni.log" "sni -"
  if grep -v -x -F "sni -" "$T_DIR/$dev/sni.log" >/dev/null; then
    fail "[$dev] an IP hop sent a server name: $(cat "$T_DIR/$dev/sni.log")"
  else
    pass "[$dev] no server name sent"
  fi
done

# The address only as text (dNSName, wildcard, CN) or only in the CN: refused.
for dev in dns cn; do
  send "$dev"
  expect_rc "[$dev] no iPAddress SAN" 75 "$ERR"
  expect_grep "[$dev] no iPAddress SAN" "$OUT" "deferred"
  expect_grep "[$dev] reason" "$OUT" "IP address mismatch (no such iPAddress SAN)"
  expect_grep "[$dev] reason in the trace" "$T_DIR/$dev.trace" "IP address mismatch"
  if grep -q "C: MAIL" "$T_DIR/$dev.trace" || [ -e "$T_DIR/$dev/1.json" ]; then
    fail "[$dev] a message was sent to a hop whose certificate does not hold its address"
  else
    pass "[$dev] nothing sent"
  fi
  expect_grep "[$dev] ClientHello without SNI" "$T_DIR/$dev/sni.log" "sni -"
done

# A named hop: the name is matched as before and sent as SNI.
send named
expect_rc "named hop" 0 "$ERR"
expect_grep "named hop" "$OUT" "b@herald.test: delivered"
expect_grep "named hop: SNI" "$T_DIR/named/sni.log" "sni mx1.tls.test"

herald_test_done
