#!/bin/sh
# make_certs.sh - a throw-away test PKI for the TLS tests
#
# usage: make_certs.sh DIR
# Writes into DIR (which must exist):
#   ca.pem ca.key             the test CA
#   server.pem server.key     mx1.tls.test (DNS SANs mx1.tls.test, smtp.tls.test), from the CA
#   expired.pem expired.key   mx1.tls.test, from the CA, valid only in 2020
#   other-ca.pem              an unrelated CA (the "wrong CA" case)
# DNS names only: mbed TLS 2.28 does not match IP-address SANs.
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
chmod 600 ./*.key
