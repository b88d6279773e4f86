#!/usr/bin/python3
"""fault_smtpd.py - an SMTP server that misbehaves on purpose, for client tests.

usage: fault_smtpd.py HOST PORT --mode MODE [--record FILE] [--conn-log FILE]

HOST must be a loopback address.  Prints READY (flushed) once listening.
Every command line received is appended to --record (one per line, as
received, CR LF stripped), so tests can check what the client sent.
--conn-log FILE gets "open N" / "close N" per connection, N the number of
connections open right after, so tests can check a client's concurrency.

Modes:
  ok             a plain, correct ESMTP server (PIPELINING, SIZE 1000000;
                 the other modes advertise SIZE 100000000)
  refuse-ehlo    500 to EHLO, 250 to HELO
  refuse-both    500 to EHLO and 501 to HELO
  greet-421      421 greeting, then close
  greet-554      554 greeting, then 503 to everything but QUIT
  hang           accept, never greet
  drop-mid-data  close after reading some DATA bytes
  huge-reply     a 10,000-line EHLO reply
  long-line      a 100 KB line as the EHLO reply
  garbage        random bytes instead of a greeting
  slow-dot       never answer the final dot
  pipelined-junk answer every command with two replies (the second unasked)
  rcpt-mixed     RCPT to addresses starting "bad" get 550, "tmp" get 450
  dot-450        450 after the final dot
  drip           every reply (the greeting too) DRIP_S late: each step well
                 within any timeout, the session as a whole slow
"""
import argparse
import asyncio
import ipaddress
import os
import random
import socket
import sys

MODES = ("ok", "refuse-ehlo", "refuse-both", "greet-421", "greet-554", "hang",
         "drop-mid-data", "huge-reply", "long-line", "garbage", "slow-dot",
         "pipelined-junk", "rcpt-mixed", "dot-450", "drip")
LINE_MAX = 64 * 1024     # a hostile client cannot grow our buffers either
SESSION_MAX_S = 120      # no session outlives this, whatever the client does
DRIP_S = 1               # mode drip: how late each reply comes


class Session:
    def __init__(self, mode, record, reader, writer):
        self.mode, self.record = mode, record
        self.reader, self.writer = reader, writer

    def rec(self, line):
        if self.record:
            with open(self.record, "ab") as f:
                f.write(line + b"\n")

    async def send(self, text):
        self.writer.write(text.encode() if isinstance(text, str) else text)
        await self.writer.drain()

    async def reply(self, text):
        if self.mode == "drip":
            await asyncio.sleep(DRIP_S)
        await self.send(text + "\r\n")
        if self.mode == "pipelined-junk":
            await self.send("250 2.0.0 nobody asked for this\r\n")

    async def read_line(self):
        line = await self.reader.readuntil(b"\n")
        if len(line) > LINE_MAX:
            raise ConnectionError("line too long")
        return line.rstrip(b"\r\n")

    async def greet(self):
        m = self.mode
        if m == "hang":
            await asyncio.sleep(SESSION_MAX_S)
            return False
        if m == "garbage":
            rnd = random.Random(1234)
            await self.send(bytes(rnd.randrange(256) for _ in range(4096)))
            await asyncio.sleep(SESSION_MAX_S)
            return False
        if m == "greet-421":
            await self.send("421 4.3.2 fault.test closing, try later\r\n")
            return False
        if m == "greet-554":
            await self.send("554 5.3.2 fault.test no service for you\r\n")
            return True
        if m == "drip":
            await asyncio.sleep(DRIP_S)
        await self.send("220 fault.test ESMTP fault_smtpd\r\n")
        return True

    async def ehlo(self, arg):
        m = self.mode
        if m in ("refuse-ehlo", "refuse-both"):
            return await self.reply("500 5.5.1 Error: unknown command")
        if m == "huge-reply":
            lines = ["250-fault.test"] + ["250-X-FILLER-%d" % i for i in range(10000)]
            return await self.send("\r\n".join(lines) + "\r\n250 OK\r\n")
        if m == "long-line":
            return await self.send("250 " + "x" * (100 * 1024) + "\r\n")
        # Mode ok has a small SIZE limit to test the client's refusal.
        size = 1000000 if m == "ok" else 100000000
        await self.reply("250-fault.test hello %s\r\n250-PIPELINING\r\n250-SIZE %d\r\n"
                         "250-8BITMIME\r\n250 ENHANCEDSTATUSCODES" % (arg, size))

    async def data(self):
        if self.mode == "drop-mid-data":
            await self.reply("354 End data with <CR><LF>.<CR><LF>")
            await self.reader.read(10)
            self.rec(b"(dropped mid-data)")
            return False
        await self.reply("354 End data with <CR><LF>.<CR><LF>")
        size = 0
        while True:
            line = await self.reader.readuntil(b"\n")
            size += len(line)
            if line == b".\r\n" or line == b".\n":
                break
        self.rec(b"(body %d octets)" % size)
        if self.mode == "slow-dot":
            await asyncio.sleep(SESSION_MAX_S)
            return False
        if self.mode == "dot-450":
            await self.reply("450 4.3.0 try again later")
        else:
            await self.reply("250 2.0.0 Ok: queued as FAULT1")
        return True

    async def run(self):
        if not await self.greet():
            return
        refused = self.mode == "greet-554"
        for _ in range(1000):            # commands per session: bounded
            line = await self.read_line()
            self.rec(line)
            verb = line.split(b" ", 1)[0].split(b":", 1)[0].upper()
            arg = line[len(verb):].strip().decode("latin-1")
            if verb == b"QUIT":
                await self.reply("221 2.0.0 Bye")
                return
            if refused:
                await self.reply("503 5.5.1 no service")
            elif verb == b"EHLO":
                await self.ehlo(arg)
            elif verb == b"HELO":
                if self.mode == "refuse-both":
                    await self.reply("501 5.5.2 HELO refused too")
                else:
                    await self.reply("250 fault.test")
            elif verb == b"MAIL":
                await self.reply("250 2.1.0 Ok")
            elif verb == b"RCPT":
                addr = arg.split("<", 1)[-1]
                if self.mode == "rcpt-mixed" and addr.startswith("bad"):
                    await self.reply("550 5.1.1 No such user")
                elif self.mode == "rcpt-mixed" and addr.startswith("tmp"):
                    await self.reply("450 4.2.0 Mailbox busy")
                else:
                    await self.reply("250 2.1.5 Ok")
            elif verb == b"DATA":
                if not await self.data():
                    return
            elif verb in (b"RSET", b"NOOP"):
                await self.reply("250 2.0.0 Ok")
            else:
                await self.reply("502 5.5.2 Error: command not recognized")


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--mode", choices=MODES, default="ok")
    ap.add_argument("--record")
    ap.add_argument("--conn-log")
    a = ap.parse_args()
    if not ipaddress.ip_address(a.host).is_loopback:
        sys.exit("fault_smtpd: refusing to listen on a non-loopback address")

    open_now = [0]

    def conn_log(what):
        if a.conn_log:
            with open(a.conn_log, "a") as f:
                f.write("%s %d\n" % (what, open_now[0]))

    async def handle(reader, writer):
        s = Session(a.mode, a.record, reader, writer)
        open_now[0] += 1
        conn_log("open")
        try:
            await asyncio.wait_for(s.run(), SESSION_MAX_S)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                asyncio.TimeoutError):
            pass
        finally:
            writer.close()
            open_now[0] -= 1
            conn_log("close")

    server = await asyncio.start_server(handle, a.host, a.port, reuse_address=True,
                                        limit=LINE_MAX)
    if a.mode == "drop-mid-data":
        # A fixed, small receive buffer (set before accept, so accepted
        # sockets inherit it and the window never grows) bounds what the
        # client can push before it blocks: with a body larger than that and
        # the client's send buffer, the drop really comes before its dot.
        for sock in server.sockets:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    print("READY", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
