#!/usr/bin/python3
"""capture_smtpd.py - aiosmtpd server that stores each message it accepts.

usage: capture_smtpd.py HOST PORT OUTDIR [CERT KEY] [--record FILE]
                        [--rcpt-limit N] [--auth-reply TEXT] [--echo-auth]
                        [--user NAME] [--password TEXT] [--ehlo WORD]

HOST must be a loopback address.  Each accepted message becomes two files in
OUTDIR: N.eml (the DATA content exactly as received, dot-unstuffed by the
server, CRLF line endings kept) and N.json (peer, helo name, tls, auth login,
mail_from, mail_options, rcpt_tos, size).  RCPT to an address starting with
"reject" gets 550 5.1.1, "plain550" a 550 without an enhanced status code,
"defer" 450 4.2.0.  With CERT and KEY it offers STARTTLS, and AUTH PLAIN/LOGIN
(user "user", password "pass", or --user/--password) after TLS, and appends
the server name each TLS client asks for (SNI) to OUTDIR/sni.log, one line
per handshake: "sni NAME", or "sni -" for a ClientHello without one.

  --record FILE     one line per command the client sent: the verb, and for
                    AUTH "AUTH MECH" (so a test can see that AUTH was tried
                    and that QUIT came); the payload is never written
  --rcpt-limit N    at most N recipients per transaction: the next RCPT
                    gets "452 4.5.3 Too many recipients" (RFC 5321 4.5.3.1.10)
  --auth-reply TEXT every AUTH is answered with TEXT ("535 5.7.8 ...")
  --ehlo WORD       one more EHLO keyword (PIPELINING, DSN: aiosmtpd reads
                    commands one by one, and passes RCPT parameters on);
                    repeat for more
  --echo-auth       every AUTH is answered with a 500 that echoes what the
                    client sent: the AUTH line with its initial response, or
                    (LOGIN) each base64 line it sent after the 334s

Prints READY (flushed) once listening; stops on SIGTERM or SIGINT.
"""
import argparse
import base64
import collections
import ipaddress
import json
import os
import signal
import ssl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

DSN_PARAMS = ("NOTIFY", "ORCPT", "RET", "ENVID")


class DsnSMTP(SMTP):
    """Takes the RFC 3461 parameters (aiosmtpd 1.4 refuses every parameter it
    does not know with 555); they stay in mail_options and rcpt_options."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        # RFC 3461 4.1: NOTIFY and ORCPT lengthen RCPT past 512 octets.
        self.command_size_limit = 4096
        self.command_size_limits = collections.defaultdict(lambda: 4096)

    def _getparams(self, params):
        got = super()._getparams(params)
        if got is not None:
            for key in DSN_PARAMS:
                got.pop(key, None)
        return got


class CaptureController(Controller):
    def __init__(self, *a, dsn=False, **kw):
        super().__init__(*a, **kw)
        self.dsn = dsn

    def factory(self):
        return (DsnSMTP if self.dsn else SMTP)(self.handler, **self.SMTP_kwargs)


class Capture:
    def __init__(self, args):
        self.args, self.outdir, self.count = args, args.outdir, 0

    def rec(self, text):
        if self.args.record:
            with open(self.args.record, "a") as f:
                f.write(text + "\n")

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.rec("EHLO")
        session.host_name = hostname
        extra = ["250-%s" % w for w in self.args.ehlo]
        return responses[:1] + extra + responses[1:]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.rec("MAIL")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rec("RCPT")
        if self.args.rcpt_limit and len(envelope.rcpt_tos) >= self.args.rcpt_limit:
            return "452 4.5.3 Too many recipients"
        if address.startswith("reject"):
            return "550 5.1.1 No such user"
        if address.startswith("plain550"):
            return "550 No such user here"
        if address.startswith("defer"):
            return "450 4.2.0 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_RSET(self, server, session, envelope):
        self.rec("RSET")
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        self.rec("QUIT")
        return "221 Bye"

    async def handle_AUTH(self, server, session, envelope, args):
        self.rec("AUTH " + args[0])
        if self.args.auth_reply:
            return self.args.auth_reply
        if not self.args.echo_auth:
            return MISSING
        if args[0].upper() == "LOGIN" and len(args) == 1:
            user = await server.challenge_auth("Username:")
            if user is MISSING:
                return None
            password = await server.challenge_auth("Password:")
            if password is MISSING:
                return None
            return "500 5.5.2 unexpected %s %s" % (base64.b64encode(user).decode(),
                                                   base64.b64encode(password).decode())
        return "500 5.5.2 command not understood: AUTH %s" % " ".join(args)

    async def handle_DATA(self, server, session, envelope):
        self.rec("DATA")
        self.count += 1
        base = os.path.join(self.outdir, "%d" % self.count)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(content)
        auth = session.auth_data.login.decode() if getattr(session, "auth_data", None) else None
        meta = {"peer": list(session.peer)[:2], "helo": session.host_name,
                "tls": session.ssl is not None, "auth": auth,
                "mail_from": envelope.mail_from, "mail_options": envelope.mail_options,
                "rcpt_tos": envelope.rcpt_tos, "size": len(content)}
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        # Renamed last, so a reader that sees N.json also sees all of N.eml.
        os.rename(base + ".eml.tmp", base + ".eml")
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Message accepted for delivery"


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user
              and auth_data.password == password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return authenticator


def sni_recorder(path):
    def record(sslobj, name, ctx):
        with open(path, "a") as f:
            f.write("sni %s\n" % (name if name is not None else "-"))
    return record


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("outdir")
    ap.add_argument("cert", nargs="?")
    ap.add_argument("key", nargs="?")
    ap.add_argument("--record")
    ap.add_argument("--rcpt-limit", type=int, default=0)
    ap.add_argument("--auth-reply")
    ap.add_argument("--echo-auth", action="store_true")
    ap.add_argument("--ehlo", action="append", default=[])
    ap.add_argument("--user", default="user")
    ap.add_argument("--password", default="pass")
    args = ap.parse_intermixed_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        ap.exit(2, "capture_smtpd: refusing to listen on a non-loopback address\n")
    if (args.cert is None) != (args.key is None):
        ap.exit(2, "capture_smtpd: CERT and KEY go together\n")
    kw = {}
    if args.cert is not None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)
        ctx.sni_callback = sni_recorder(os.path.join(args.outdir, "sni.log"))
        kw = {"tls_context": ctx,
              "authenticator": make_authenticator(args.user.encode(), args.password.encode()),
              "auth_require_tls": True}
    ctl = CaptureController(Capture(args), hostname=args.host, port=args.port,
                            dsn="DSN" in args.ehlo,
                            server_hostname="mx.test", decode_data=False,
                            data_size_limit=33554432, **kw)
    ctl.start()
    print("READY", flush=True)
    try:
        signal.sigwait({signal.SIGTERM, signal.SIGINT})
    finally:
        ctl.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
