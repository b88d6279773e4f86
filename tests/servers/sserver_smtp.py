#!/usr/bin/python3
"""sserver_smtp.py - the SMTP half of an "openssl s_server" smart host.

usage: sserver_smtp.py --events FIFO --record FILE [--log FILE]
                       [--message FILE] [--user NAME --password-file FILE]
                       [--max-seconds N]

openssl s_server does the TLS; this script does the SMTP, line by line:
  stdin      s_server's stdout: what the client sent, decrypted
             (run s_server with -quiet so nothing else is written there)
  stdout     s_server's stdin: our replies, encrypted by s_server
  --events   s_server's stderr (a FIFO).  With -brief, s_server writes
             "Protocol version: ..." there once a handshake is complete;
             only then is the 220 greeting sent.  A connection that never
             finishes a handshake (a readiness probe, a client that rejects
             the certificate) gets no greeting, and no greeting is left in
             s_server's input for the next connection.
Every event line goes to --log.  Every command line the client sends
(CR LF stripped; AUTH continuation lines too) is appended to --record, so an
empty record means the client sent no SMTP command.  The message body (the
lines between DATA's 354 and the final dot, dot-unstuffed) goes to --message.

EHLO offers AUTH PLAIN LOGIN and 8BITMIME, never STARTTLS (STARTTLS gets
502).  AUTH succeeds (235) only for --user and the password in
--password-file (one trailing newline ignored); anything else gets 535.

Ends when stdin ends (s_server exited) or after --max-seconds.
"""
import argparse
import base64
import binascii
import os
import selectors
import sys
import time

LINE_MAX = 64 * 1024
HOSTNAME = "mx1.tls.test"


class Responder:
    def __init__(self, args):
        self.args = args
        self.user = args.user.encode() if args.user else None
        self.password = None
        if args.password_file:
            with open(args.password_file, "rb") as f:
                pw = f.read()
            self.password = pw[:-1] if pw.endswith(b"\n") else pw
        self.state = "idle"          # idle (no handshake yet), cmd, data, auth-plain,
        self.login_user = None       # auth-login-user, auth-login-pass
        self.message = []

    def log(self, text):
        if self.args.log:
            with open(self.args.log, "ab") as f:
                f.write(text + b"\n")

    def record(self, line):
        with open(self.args.record, "ab") as f:
            f.write(line + b"\n")

    def send(self, *lines):
        out = b"".join(l.encode() + b"\r\n" for l in lines)
        os.write(1, out)

    def check(self, user, password):
        return self.user is not None and user == self.user and password == self.password

    def auth_plain(self, payload):
        try:
            parts = base64.b64decode(payload, validate=True).split(b"\0")
        except (binascii.Error, ValueError):
            return self.send("501 5.5.2 bad base64")
        if len(parts) == 3 and self.check(parts[1], parts[2]):
            return self.send("235 2.7.0 Authentication successful")
        return self.send("535 5.7.8 Authentication credentials invalid")

    def event(self, line):
        self.log(line)
        if line.startswith(b"Protocol version:"):
            self.state = "cmd"
            self.login_user = None
            self.send("220 %s ESMTP s_server responder" % HOSTNAME)

    def client(self, line):
        st = self.state
        if st != "data":
            self.record(line)
        if st == "idle":
            return                   # data before any handshake: cannot happen
        if st == "data":
            if line == b".":
                self.state = "cmd"
                self.record(b".")
                if self.args.message:
                    with open(self.args.message, "ab") as f:
                        f.write(b"".join(l + b"\n" for l in self.message))
                self.message = []
                return self.send("250 2.0.0 queued")
            self.message.append(line[1:] if line.startswith(b".") else line)
            return
        if st == "auth-plain":
            self.state = "cmd"
            if line == b"*":
                return self.send("501 5.0.0 AUTH aborted")
            return self.auth_plain(line)
        if st in ("auth-login-user", "auth-login-pass"):
            if line == b"*":
                self.state = "cmd"
                return self.send("501 5.0.0 AUTH aborted")
            try:
                value = base64.b64decode(line, validate=True)
            except (binascii.Error, ValueError):
                self.state = "cmd"
                return self.send("501 5.5.2 bad base64")
            if st == "auth-login-user":
                self.login_user = value
                self.state = "auth-login-pass"
                return self.send("334 UGFzc3dvcmQ6")
            self.state = "cmd"
            if self.check(self.login_user, value):
                return self.send("235 2.7.0 Authentication successful")
            return self.send("535 5.7.8 Authentication credentials invalid")
        words = line.split(b" ")
        verb = words[0].upper()
        if verb == b"EHLO":
            return self.send("250-%s hello" % HOSTNAME, "250-AUTH PLAIN LOGIN",
                             "250 8BITMIME")
        if verb == b"HELO":
            return self.send("250 %s" % HOSTNAME)
        if verb == b"STARTTLS":
            return self.send("502 5.5.1 STARTTLS not offered")
        if verb == b"AUTH" and len(words) >= 2:
            mech = words[1].upper()
            if mech == b"PLAIN":
                if len(words) >= 3:
                    return self.auth_plain(words[2])
                self.state = "auth-plain"
                return self.send("334 ")
            if mech == b"LOGIN":
                if len(words) >= 3:
                    try:
                        self.login_user = base64.b64decode(words[2], validate=True)
                    except (binascii.Error, ValueError):
                        return self.send("501 5.5.2 bad base64")
                    self.state = "auth-login-pass"
                    return self.send("334 UGFzc3dvcmQ6")
                self.state = "auth-login-user"
                return self.send("334 VXNlcm5hbWU6")
            return self.send("504 5.5.4 mechanism not supported")
        if verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            return self.send("250 2.0.0 ok")
        if verb == b"DATA":
            self.state = "data"
            self.message = []
            return self.send("354 end with <CRLF>.<CRLF>")
        if verb == b"QUIT":
            self.state = "idle"
            return self.send("221 2.0.0 bye")
        return self.send("500 5.5.1 unknown command")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--log")
    ap.add_argument("--message")
    ap.add_argument("--user")
    ap.add_argument("--password-file")
    ap.add_argument("--max-seconds", type=float, default=120)
    args = ap.parse_args()

    r = Responder(args)
    for path in (args.record, args.log, args.message):
        if path:
            open(path, "ab").close()         # exists, even if nothing comes
    events = os.open(args.events, os.O_RDONLY)
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ, "client")
    sel.register(events, selectors.EVENT_READ, "events")
    bufs = {"client": b"", "events": b""}
    deadline = time.monotonic() + args.max_seconds
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                r.log(b"sserver_smtp.py: --max-seconds reached")
                return 1
            ready = sel.select(left)
            for key, _ in ready:
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    if key.data == "client":
                        return 0             # s_server is gone
                    sel.unregister(key.fd)
                    continue
                buf = bufs[key.data] + chunk
                *lines, buf = buf.split(b"\n")
                if len(buf) > LINE_MAX:
                    r.log(b"sserver_smtp.py: line too long")
                    return 1
                bufs[key.data] = buf
                for line in lines:
                    line = line.rstrip(b"\r")
                    if key.data == "client":
                        r.client(line)
                    else:
                        r.event(line)
    except BrokenPipeError:
        return 0                             # s_server ended while we answered


if __name__ == "__main__":
    sys.exit(main())
