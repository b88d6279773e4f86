#!/usr/bin/python3
"""tls_bulk_smtpd.py - a STARTTLS server whose replies inside TLS are large.

usage: tls_bulk_smtpd.py HOST PORT CERT KEY RECORD

HOST must be a loopback address.  It offers STARTTLS; inside TLS it answers
EHLO and MAIL each with one multiline reply of about 15 KB (99 lines, within
the client's reply bounds of 100 lines and 16 KB of text), written in one go
so that it travels as a single TLS record: more plaintext than the client's
8 KB input buffer, and no ciphertext left on the socket once the record has
been read.  Every command line is appended to RECORD as "clear: LINE" or
"tls: LINE".  Prints READY once listening; stops on SIGTERM.
"""
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
import tls_listener  # noqa: E402  (beside this script)

FILLER_LINES = 97
FILLER = "x" * 140


def bulk(code, first, last):
    """One reply of 99 lines: first, the filler lines, last (about 15 KB)."""
    lines = ["%d-%s" % (code, first)]
    lines += ["%d-X-FILLER-%02d %s" % (code, i, FILLER) for i in range(FILLER_LINES)]
    lines.append("%d %s" % (code, last))
    data = ("\r\n".join(lines) + "\r\n").encode()
    assert 8192 < len(data) <= 16384, len(data)   # one record, more than the buffer
    return data


def serve(conn, ctx, record):
    mode = "clear"
    f = conn.makefile("rwb", buffering=0)

    def send(data):
        f.write(data if isinstance(data, bytes) else data.encode() + b"\r\n")

    send("220 bulk.tls.test ESMTP")
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
            r.write("%s: %s\n" % (mode, text))
        if cmd in ("EHLO", "HELO") and mode == "clear":
            send("250-bulk.tls.test\r\n250 STARTTLS")
        elif cmd in ("EHLO", "HELO"):
            send(bulk(250, "bulk.tls.test", "8BITMIME"))
        elif cmd == "STARTTLS" and mode == "clear":
            send("220 2.0.0 go ahead")
            conn = ctx.wrap_socket(conn, server_side=True)
            f = conn.makefile("rwb", buffering=0)
            mode = "tls"
        elif cmd == "MAIL" and mode == "tls":
            send(bulk(250, "2.1.0 sender ok", "2.1.0 that was long"))
        elif cmd == "DATA":
            in_data = True
            send("354 go on")
        elif cmd == "QUIT":
            send("221 bye")
            return
        else:
            send("250 2.0.0 ok")


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    host, port, cert, key, record = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6]
    tls_listener.serve_forever("tls_bulk_smtpd", host, port, cert, key,
                               lambda conn, ctx: serve(conn, ctx, record))


if __name__ == "__main__":
    main()
