#!/bin/sh
# make_certs.sh - a throw-away test PKI for the TLS tests
#
# usage: make_certs.sh DIR [IPV4]
# Writes into DIR (which must exist):
#   ca.pem ca.key             the test CA
#   server.pem server.key     mx1.tls.test (DNS SANs mx1.tls.test, smtp.tls.test), from the CA
#   expired.pem expired.key   mx1.tls.test, from the CA, valid only in 2020
#   other-ca.pem              an unrelated CA (the "wrong CA" case)
# With IPV4, for IP-literal hops (Herald matches iPAddress SANs itself),
# each from the CA:
#   ip.pem ip.key             iPAddress SANs IPV4 and ::1, CN ip.tls.test
#   ipname.pem ipname.key     the IPs only as text: CN IPV4, dNSName SANs
#                             IPV4, ::1 and a wildcard *.B.C.D over IPV4
#   ipcn.pem ipcn.key         CN IPV4 and no SAN at all
set -eu
dir=$1
cd "$dir"
q() { "$@" >/dev/null 2>&1 || { echo "make_certs.sh: failed: $*" >&2; exit 1; }; }

q openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 \
    -subj "/CN=Herald Test CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
q openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 30 \
    -subj "/CN=Herald Other CA" -addext "basicConstraints=critical,CA:TRUE"

cat > ext.cnf <<'EOT'
basicConstraints=CA:FALSE
subjectAltName=DNS:mx1.tls.test,DNS:smtp.tls.test
extendedKeyUsage=serverAuth
EOT
q openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=mx1.tls.test"
q openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
    -days 30 -extfile ext.cnf

# An expired certificate: "openssl ca" takes explicit start and end dates.
mkdir -p cadb
: > cadb/index.txt
echo 1000 > cadb/serial
cat > ca.cnf <<'EOT'
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = .
database = cadb/index.txt
serial = cadb/serial
new_certs_dir = cadb
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[ any ]
commonName = supplied
[ ext ]
basicConstraints=CA:FALSE
subjectAltName=DNS:mx1.tls.test
extendedKeyUsage=serverAuth
EOT
q openssl req -newkey rsa:2048 -nodes -keyout expired.key -out expired.csr -subj "/CN=mx1.tls.test"
q openssl ca -batch -config ca.cnf -extensions ext -in expired.csr -out expired.pem \
    -startdate 20200101000000Z -enddate 20200201000000Z -notext
# leaf NAME SUBJECT [EXTENSION...] - NAME.pem/NAME.key from the CA with those extensions
leaf() {
  name=$1 subj=$2
  shift 2
  printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$name.cnf"
  for ext in "$@"; do printf '%s\n' "$ext" >> "$name.cnf"; done
  q openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subj"
  q openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
      -out "$name.pem" -days 30 -extfile "$name.cnf"
}
if [ $# -ge 2 ]; then
  ip=$2
  leaf ip "/CN=ip.tls.test" "subjectAltName=IP:$ip,IP:::1"
  leaf ipname "/CN=$ip" "subjectAltName=DNS:$ip,DNS:*.${ip#*.},DNS:::1"
  leaf ipcn "/CN=$ip"
fi
chmod 600 ./*.key
