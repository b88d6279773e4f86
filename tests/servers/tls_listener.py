"""tls_listener.py - the listening half shared by the scripted TLS test servers.

serve_forever(name, host, port, cert, key, serve) binds HOST:PORT (loopback
only), answers every connection in its own thread with serve(conn, ctx),
where ctx is a server SSLContext holding CERT and KEY, prints READY once
listening and returns on SIGTERM or SIGINT.  A connection that fails with
OSError or ssl.SSLError is closed quietly: the client under test decides
what such a failure means, not the server.
"""
import ipaddress
import signal
import socket
import ssl
import sys
import threading


def serve_forever(name, host, port, cert, key, serve):
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("%s: refusing to listen on a non-loopback address" % name)
    # Signals only for the main thread's sigwait, blocked before any thread starts.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(8)

    def accept_loop():
        while True:
            conn, _ = srv.accept()
            conn.settimeout(20)

            def run(c=conn):
                try:
                    serve(c, ctx)
                except (OSError, ssl.SSLError):
                    pass
                finally:
                    c.close()
            threading.Thread(target=run, daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    print("READY", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
