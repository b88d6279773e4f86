#!/usr/bin/python3
"""busy_smtpd.py - an SMTP server that takes N sessions at once, like a busy MX.

usage: busy_smtpd.py HOST PORT --limit N [--over 421|close] [--per-session K] [--log FILE]

HOST must be a loopback address.  Prints READY (flushed) once listening.
Up to N connections are served at the same time as a plain ESMTP server
(PIPELINING, 8BITMIME); a connection beyond them gets, per --over:
  421    "421 4.7.0 too many concurrent connections" as its greeting, then
         the close (what Postfix's smtpd and many MXes answer);
  close  the close at once, no greeting.
--per-session K: after K messages in a session, the next RSET or MAIL gets
"421 4.7.0 too many messages in this session" and the close (Exim's
smtp_accept_max_per_connection).
--log FILE gets one line per event, for tests to count:
  "open N"     a connection served (N: served connections open now)
  "busy N"     a connection turned away (N as above)
  "message"    a message accepted after the final dot
  "ended"      a session ended after --per-session messages
  "close N"    a served connection ended
"""
import argparse
import asyncio
import ipaddress
import sys

LINE_MAX = 64 * 1024     # a hostile client cannot grow our buffers either
SESSION_MAX_S = 120      # no session outlives this, whatever the client does
COMMANDS_MAX = 100000    # commands per session: bounded


class Server:
    def __init__(self, limit, over, per_session, log):
        self.limit, self.over, self.per_session = limit, over, per_session
        self.log = open(log, "a", buffering=1) if log else None
        self.served = 0

    def note(self, text):
        if self.log:
            self.log.write(text + "\n")

    async def session(self, reader, writer):
        async def reply(text):
            writer.write(text.encode() + b"\r\n")
            await writer.drain()

        await reply("220 busy.test ESMTP busy_smtpd")
        messages = 0
        for _ in range(COMMANDS_MAX):
            line = (await reader.readuntil(b"\n")).rstrip(b"\r\n")
            verb = line.split(b" ", 1)[0].split(b":", 1)[0].upper()
            if verb == b"QUIT":
                await reply("221 2.0.0 Bye")
                return
            if verb in (b"RSET", b"MAIL") and self.per_session and messages >= self.per_session:
                self.note("ended")
                await reply("421 4.7.0 busy.test too many messages in this session")
                return
            if verb == b"EHLO":
                await reply("250-busy.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                            "250 ENHANCEDSTATUSCODES")
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                await reply("250 2.0.0 Ok")
            elif verb == b"DATA":
                await reply("354 End data with <CR><LF>.<CR><LF>")
                while True:
                    data = await reader.readuntil(b"\n")
                    if data == b".\r\n":
                        break
                self.note("message")
                messages += 1
                await reply("250 2.0.0 Ok: queued")
            else:
                await reply("502 5.5.2 Error: command not recognized")

    async def handle(self, reader, writer):
        if self.served >= self.limit:
            self.note("busy %d" % self.served)
            try:
                if self.over == "421":
                    writer.write(b"421 4.7.0 busy.test too many concurrent connections\r\n")
                    await writer.drain()
            except ConnectionError:
                pass
            finally:
                writer.close()
            return
        self.served += 1
        self.note("open %d" % self.served)
        try:
            await asyncio.wait_for(self.session(reader, writer), SESSION_MAX_S)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                asyncio.TimeoutError):
            pass
        finally:
            writer.close()
            self.served -= 1
            self.note("close %d" % self.served)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--limit", type=int, required=True)
    ap.add_argument("--over", choices=("421", "close"), default="421")
    ap.add_argument("--per-session", type=int, default=0)
    ap.add_argument("--log")
    a = ap.parse_args()
    if not ipaddress.ip_address(a.host).is_loopback:
        sys.exit("busy_smtpd: refusing to listen on a non-loopback address")
    srv = Server(a.limit, a.over, a.per_session, a.log)
    server = await asyncio.start_server(srv.handle, a.host, a.port, reuse_address=True,
                                        limit=LINE_MAX, backlog=1024)
    print("READY", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
