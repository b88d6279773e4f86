#!/usr/bin/python3
"""starttls_junk_smtpd.py - an SMTP server whose STARTTLS answer carries injected junk.

usage: starttls_junk_smtpd.py HOST PORT CERT KEY RECORD [MODE]

MODE junk (the default): HOST must be a loopback address.  It answers STARTTLS with "220 go ahead"
and, in the same write, a forged "250" reply (the STARTTLS response
injection of CVE-2011-0411 and its kin), then does the TLS handshake and a
plain SMTP dialogue.  Every command line is appended to RECORD as
"clear: LINE" or "tls: LINE" (AUTH lines are not recorded).  Prints READY
once listening; stops on SIGTERM.
MODE implicit: TLS from the first octet (RFC 8314), no STARTTLS offered.
MODE auth454: like junk without the junk, offers AUTH PLAIN after TLS and
answers it "454 4.7.0 Temporary authentication failure".
MODE xoauth2: offers AUTH XOAUTH2 after TLS; accepts user "user" with the
bearer token "tok-123", else a 334 error challenge, then 535.
MODE badtls: answers STARTTLS with 220, then garbage instead of a TLS
handshake, and closes.
"""
import base64
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
import tls_listener  # noqa: E402  (beside this script)


def serve(conn, ctx, record, kind):
    mode = "clear"
    if kind == "implicit":
        conn = ctx.wrap_socket(conn, server_side=True)
        mode = "tls"
    f = conn.makefile("rwb", buffering=0)

    def send(text):
        f.write(text.encode() + b"\r\n")

    send("220 junk.tls.test ESMTP")
    in_data = False
    for _ in range(1000):                    # bounded dialogue
        line = f.readline(4096)
        if not line:
            return
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if in_data:
            if text == ".":
                in_data = False
                send("250 2.0.0 queued")
            continue
        cmd = text.split(" ")[0].upper()
        with open(record, "a") as r:
            r.write("%s: %s\n" % (mode, "AUTH (not recorded)" if cmd == "AUTH" else text))
        if cmd in ("EHLO", "HELO"):
            if mode == "clear":
                send("250-junk.tls.test\r\n250-PIPELINING\r\n250 STARTTLS")
            elif kind == "auth454":
                send("250-junk.tls.test\r\n250 AUTH PLAIN LOGIN")
            elif kind == "xoauth2":
                send("250-junk.tls.test\r\n250 AUTH XOAUTH2")
            else:
                send("250-junk.tls.test\r\n250 8BITMIME")
        elif cmd == "AUTH" and kind == "xoauth2":
            parts = text.split(" ")
            try:
                got = base64.b64decode(parts[2]) if len(parts) == 3 else b""
            except ValueError:
                got = b""
            if got == b"user=user\x01auth=Bearer tok-123\x01\x01":
                send("235 2.7.0 Accepted")
            else:
                send("334 " + base64.b64encode(b'{"status":"401"}').decode())
                f.readline(4096)             # the client's empty line
                send("535 5.7.8 Username and Password not accepted")
        elif cmd == "AUTH":
            send("454 4.7.0 Temporary authentication failure")
        elif cmd == "STARTTLS" and kind == "badtls":
            f.write(b"220 2.0.0 go ahead\r\n")
            conn.recv(4096)                  # the ClientHello
            f.write(b"this is not TLS\r\n" * 4)
            return
        elif cmd == "STARTTLS" and mode == "clear":
            f.write(b"220 2.0.0 go ahead\r\n250 2.0.0 injected reply\r\n" if kind == "junk"
                    else b"220 2.0.0 go ahead\r\n")
            conn = ctx.wrap_socket(conn, server_side=True)
            f = conn.makefile("rwb", buffering=0)
            mode = "tls"
        elif cmd == "DATA":
            in_data = True
            send("354 go on")
        elif cmd == "QUIT":
            send("221 bye")
            return
        else:
            send("250 2.0.0 ok")


def main():
    if len(sys.argv) not in (6, 7):
        sys.exit(__doc__)
    host, port, cert, key, record = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6]
    kind = sys.argv[6] if len(sys.argv) == 7 else "junk"
    if kind not in ("junk", "implicit", "auth454", "xoauth2", "badtls"):
        sys.exit(__doc__)
    tls_listener.serve_forever("starttls_junk_smtpd", host, port, cert, key,
                               lambda conn, ctx: serve(conn, ctx, record, kind))


if __name__ == "__main__":
    main()
