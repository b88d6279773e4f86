#!/usr/bin/python3
"""capture_smtpd.py - aiosmtpd server that stores each message it accepts.

usage: capture_smtpd.py HOST PORT OUTDIR [CERT KEY]

HOST must be a loopback address.  Each accepted message becomes two files in
OUTDIR: N.eml (the DATA content exactly as received, dot-unstuffed by the
server, CRLF line endings kept) and N.json (peer, helo name, tls, auth login,
mail_from, mail_options, rcpt_tos, size).  RCPT to an address starting with
"reject" gets 550.  With CERT and KEY it offers STARTTLS, and AUTH PLAIN/LOGIN
(user "user", password "pass") after TLS, and appends the server name each
TLS client asks for (SNI) to OUTDIR/sni.log, one line per handshake: "sni
NAME", or "sni -" for a ClientHello without one.  Prints READY (flushed) once
listening; stops on SIGTERM or SIGINT.
"""
import ipaddress
import json
import os
import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Capture:
    def __init__(self, outdir):
        self.outdir, self.count = outdir, 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
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


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"user"
          and auth_data.password == b"pass")
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


def sni_recorder(path):
    def record(sslobj, name, ctx):
        with open(path, "a") as f:
            f.write("sni %s\n" % (name if name is not None else "-"))
    return record


def main():
    if len(sys.argv) not in (4, 6):
        sys.exit(__doc__)
    host, port, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("capture_smtpd: refusing to listen on a non-loopback address")
    kw = {}
    if len(sys.argv) == 6:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sys.argv[4], sys.argv[5])
        ctx.sni_callback = sni_recorder(os.path.join(outdir, "sni.log"))
        kw = {"tls_context": ctx, "authenticator": authenticator, "auth_require_tls": True}
    ctl = Controller(Capture(outdir), hostname=host, port=port, server_hostname="mx.test",
                     decode_data=False, data_size_limit=33554432, **kw)
    ctl.start()
    print("READY", flush=True)
    try:
        signal.sigwait({signal.SIGTERM, signal.SIGINT})
    finally:
        ctl.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
