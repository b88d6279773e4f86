#!/usr/bin/python3
"""rst_smtpd.py - an SMTP server that resets the connection in the body.

usage: rst_smtpd.py HOST PORT [--read N] [--record FILE]

HOST must be a loopback address.  Prints READY (flushed) once listening.
A plain ESMTP dialogue up to the 354; then it waits until the client has
stopped sending (its window is full, or it sent all), reads N octets of the
body (default 4096), no more (fewer when the final dot comes first), and
closes with a reset (SO_LINGER 0), never sending a final reply.  Every command
line goes to --record, and the body as one line: "(reset after N body
octets)".

The point is to know how much of the body the client's kernel could take.
The listening socket gets a small receive buffer and a small MSS before
listen(), so every accepted socket inherits them from the SYN on: the
receive window stays small, and the client's send buffer (Linux sizes it
from the peer's MSS) stays small too.  The server uses blocking sockets and
reads only what it is told, so nothing is drained into user space behind
the client's back (asyncio would read ahead into its own buffer).  A body
larger than both buffers is then still partly in the client's own queue
when the reset comes; a small body is all in the kernel by then.
"""
import argparse
import array
import fcntl
import ipaddress
import socket
import struct
import sys
import termios
import time

RCVBUF = 4096       # the kernel doubles it; its floor is about 2 KB
MSS = 536           # RFC 879's default: a small segment, a small send buffer
LINE_MAX = 4096     # a command longer than this ends the session
SESSION_S = 30      # every read is bounded: no session outlives a silent client
SESSIONS_MAX = 100  # and the server itself is bounded
STALL_CHECKS = 5    # the receive queue unchanged this many times in a row ...
STALL_EVERY_S = 0.02  # ... this far apart: the client's window is full
STALL_MAX_S = 5     # waiting for that is bounded too


class Session:
    def __init__(self, conn, record):
        self.conn, self.record, self.buf = conn, record, b""

    def rec(self, line):
        if self.record:
            with open(self.record, "ab") as f:
                f.write(line + b"\n")

    def send(self, text):
        self.conn.sendall(text.encode() + b"\r\n")

    def line(self):
        while b"\n" not in self.buf:
            if len(self.buf) > LINE_MAX:
                raise ConnectionError("line too long")
            got = self.conn.recv(LINE_MAX)
            if not got:
                raise ConnectionError("closed")
            self.buf += got
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def queued(self):
        """Octets in the socket's receive queue (SIOCINQ), not yet read."""
        n = array.array("i", [0])
        fcntl.ioctl(self.conn.fileno(), termios.FIONREAD, n, True)
        return n[0]

    def wait_stall(self):
        """Wait until the client has stopped sending: the receive queue holds
        something and has not grown for a while.  The client is then blocked
        on a full window (or has sent all it had), so the reset reaches it
        waiting for room, not in the middle of one of its writes."""
        last, same = -1, 0
        deadline = time.monotonic() + STALL_MAX_S
        while same < STALL_CHECKS and time.monotonic() < deadline:
            n = self.queued() + len(self.buf)
            same = same + 1 if n == last and n > 0 else 0
            last = n
            time.sleep(STALL_EVERY_S)

    def body(self, want):
        """Read `want` body octets, or fewer when the final dot comes first."""
        tail, got = self.buf[-5:], len(self.buf)
        while got < want and not (b"\r\n" + tail).endswith(b"\r\n.\r\n"):
            chunk = self.conn.recv(min(want - got, 4096))
            if not chunk:
                raise ConnectionError("closed")
            got += len(chunk)
            tail = (tail + chunk)[-5:]
        return got

    def reset(self):
        self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.conn.close()

    def run(self, read):
        self.send("220 rst.test ESMTP rst_smtpd")
        for _ in range(100):
            line = self.line()
            self.rec(line)
            verb = line.split(b" ", 1)[0].split(b":", 1)[0].upper()
            if verb == b"EHLO":
                self.send("250-rst.test\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES")
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.send("250 2.0.0 Ok")
            elif verb == b"QUIT":
                self.send("221 2.0.0 Bye")
                return
            elif verb == b"DATA":
                self.send("354 End data with <CR><LF>.<CR><LF>")
                self.wait_stall()
                n = self.body(read)
                self.rec(b"(reset after %d body octets)" % n)
                self.reset()
                return
            else:
                self.send("502 5.5.2 Error: command not recognized")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--read", type=int, default=4096)
    ap.add_argument("--record")
    a = ap.parse_args()
    if not ipaddress.ip_address(a.host).is_loopback:
        sys.exit("rst_smtpd: refusing to listen on a non-loopback address")
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Before listen(): the window scale and the MSS go out in the SYN-ACK.
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, MSS)
    ls.bind((a.host, a.port))
    ls.listen(8)
    print("READY", flush=True)
    for _ in range(SESSIONS_MAX):
        conn, _peer = ls.accept()
        conn.settimeout(SESSION_S)
        s = Session(conn, a.record)
        try:
            s.run(a.read)
        except (OSError, ConnectionError):
            pass
        finally:
            conn.close()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
