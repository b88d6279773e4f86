#!/usr/bin/python3
"""dns_servers.py - DNS servers on loopback for Herald's DNS tests.

Usage: dns_servers.py DNSMASQ LOGFILE

Starts, all on 127.0.0.1 and on ports the kernel picks (no collisions with
other tests):
  * an RCODE responder that answers every query with SERVFAIL,
  * one that answers every query with REFUSED,
  * a silent UDP socket that never answers (timeouts),
  * a hostile responder with crafted MX answers that c-ares passes through,
  * a lossy responder: MX 10 mx.NAME (TTL 0) for every name, except that the
    first query for a name starting "lost" is dropped, as a flooded resolver
    drops what its socket cannot hold,
  * dnsmasq with the records of TESTING.md section 3, forwarding
    servfail.test and timeout.test to the two servers above.
Once dnsmasq answers a query, prints one line
  READY dnsmasq=PORT servfail=PORT silent=PORT hostile=PORT refused=PORT lossy=PORT
and serves until stdin reaches EOF (the test exited, even by a crash) or
SIGTERM, then stops dnsmasq.  Exit 99 when something cannot start.
"""
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

READY_TIMEOUT = 10.0


def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    return s


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 right now."""
    for _ in range(50):
        u = udp_socket()
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            t.bind(("127.0.0.1", port))
        except OSError:
            u.close()
            t.close()
            continue
        u.close()
        t.close()
        return port
    raise RuntimeError("no free port")


def parse_question(msg):
    """(id, flags, qname labels, qtype, end offset of the question) or None."""
    if len(msg) < 12:
        return None
    qid, flags, qd = struct.unpack(">HHH", msg[:6])
    if qd != 1:
        return None
    pos, labels = 12, []
    while pos < len(msg):
        n = msg[pos]
        pos += 1
        if n == 0:
            break
        if n > 63 or pos + n > len(msg):
            return None
        labels.append(msg[pos:pos + n])
        pos += n
    if pos + 4 > len(msg):
        return None
    qtype = struct.unpack(">H", msg[pos:pos + 2])[0]
    return qid, flags, labels, qtype, pos + 4


def wire_name(labels):
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\0"


def rcode_reply(msg, rcode):
    q = parse_question(msg)
    if q is None:
        return None
    qid, flags, _, _, end = q
    hdr = struct.pack(">HHHHHH", qid, 0x8000 | (flags & 0x7900) | 0x80 | rcode, 1, 0, 0, 0)
    return hdr + msg[12:end]


# Crafted MX answers: name -> list of (preference, target labels, ttl)
HOSTILE = {
    b"crlf.hostile.test": [(10, [b"mx\r\n<evil@x>", b"hostile", b"test"], 0)],
    b"mixed.hostile.test": [(10, [b"a<b@c", b"hostile", b"test"], 0),
                            (20, [b"mx2", b"mixed", b"hostile", b"test"], 0)],
    b"iplit.hostile.test": [(10, [b"127", b"0", b"0", b"1"], 0)],
    b"ttl.hostile.test": [(10, [b"mx", b"ttl", b"hostile", b"test"], 300)],
    # Records owned by other names (c-ares 1.18 passes them): only the
    # question's own, or its CNAME target's, may count.
    b"foreign.hostile.test": [(5, [b"evil", b"attacker", b"test"], 0, [b"victim", b"test"])],
    b"mixedowner.hostile.test": [(5, [b"evil", b"attacker", b"test"], 0, [b"victim", b"test"]),
                                 (10, [b"mx", b"mixedowner", b"hostile", b"test"], 0, None)],
    b"alias.hostile.test": [("CNAME", [b"real", b"hostile", b"test"]),
                            (10, [b"mx", b"real", b"hostile", b"test"], 0,
                             [b"real", b"hostile", b"test"]),
                            (1, [b"evil", b"attacker", b"test"], 0, None)],
}


def hostile_reply(msg):
    q = parse_question(msg)
    if q is None:
        return None
    qid, flags, labels, qtype, end = q
    name = b".".join(labels).lower()
    records = HOSTILE.get(name) if qtype == 15 else None
    if name not in HOSTILE:                 # NXDOMAIN with the zone's SOA (RFC 2308):
        reply = rcode_reply(msg, 3)         # negative TTL min(120, 60) = 60 s
        if reply is None:
            return None
        soa = (wire_name([b"ns", b"hostile", b"test"]) + wire_name([b"admin", b"hostile", b"test"])
               + struct.pack(">IIIII", 1, 3600, 600, 86400, 60))
        auth = (wire_name([b"hostile", b"test"]) + struct.pack(">HHIH", 6, 1, 120, len(soa))
                + soa)
        return reply[:8] + struct.pack(">H", 1) + reply[10:] + auth
    answers = b""
    for rec in records or []:
        if rec[0] == "CNAME":      # the question's name is an alias of rec[1]
            rdata = wire_name(rec[1])
            answers += struct.pack(">HHHIH", 0xC00C, 5, 1, 0, len(rdata)) + rdata
            continue
        pref, target, ttl = rec[:3]
        owner = rec[3] if len(rec) > 3 else None
        rdata = struct.pack(">H", pref) + wire_name(target)
        head = wire_name(owner) if owner else struct.pack(">H", 0xC00C)
        answers += head + struct.pack(">HHIH", 15, 1, ttl, len(rdata)) + rdata
    count = len(records or [])
    hdr = struct.pack(">HHHHHH", qid, 0x8400 | (flags & 0x0100) | 0x80, 1, count, 0, 0)
    return hdr + msg[12:end] + answers


def lossy_reply(msg, dropped):
    q = parse_question(msg)
    if q is None:
        return None
    qid, flags, labels, qtype, end = q
    name = b".".join(labels).lower()
    if name.startswith(b"lost") and name not in dropped:
        dropped.add(name)
        return None
    if qtype != 15:
        return rcode_reply(msg, 0)
    rdata = struct.pack(">H", 10) + wire_name([b"mx"] + labels)
    answer = struct.pack(">H", 0xC00C) + struct.pack(">HHIH", 15, 1, 0, len(rdata)) + rdata
    hdr = struct.pack(">HHHHHH", qid, 0x8400 | (flags & 0x0100) | 0x80, 1, 1, 0, 0)
    return hdr + msg[12:end] + answer


def dnsmasq_args(dnsmasq, port, servfail, silent, log):
    return [
        dnsmasq, "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--pid-file=",
        "--bind-interfaces", "--listen-address=127.0.0.1", "--port=%d" % port,
        "--log-queries", "--log-facility=%s" % log, "--local=/test/",
        "--mx-host=multi.test,mx1.multi.test,10", "--mx-host=multi.test,mx2.multi.test,20",
        "--mx-host=multi.test,mx3.multi.test,30",
        "--host-record=mx1.multi.test,127.0.0.2", "--host-record=mx2.multi.test,127.0.0.3",
        "--host-record=mx3.multi.test,127.0.0.4,::1",
        "--mx-host=equal.test,mxa.equal.test,10", "--mx-host=equal.test,mxb.equal.test,10",
        "--host-record=mxa.equal.test,127.0.0.5", "--host-record=mxb.equal.test,127.0.0.6",
        "--host-record=implicit.test,127.0.0.7",
        "--mx-host=nullmx.test,.,0",
        "--mx-host=v6only.test,mx.v6only.test,10", "--host-record=mx.v6only.test,::1",
        "--server=/servfail.test/127.0.0.1#%d" % servfail,
        "--server=/timeout.test/127.0.0.1#%d" % silent,
    ]


def probe(port):
    """True when dnsmasq on port answers an MX query for multi.test."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
        q += wire_name([b"multi", b"test"]) + struct.pack(">HH", 15, 1)
        s.sendto(q, ("127.0.0.1", port))
        r, _, _ = select.select([s], [], [], 0.2)
        if not r:
            return False
        data = s.recv(4096)
        return len(data) >= 12 and data[:2] == b"\x42\x42" and (data[3] & 0x0F) == 0
    except OSError:
        return False
    finally:
        s.close()


def stop_dnsmasq(proc):
    """Terminate dnsmasq if it still runs and reap it, bounded."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 99
    dnsmasq, log = sys.argv[1], sys.argv[2]
    servfail, silent, hostile = udp_socket(), udp_socket(), udp_socket()
    refused, lossy = udp_socket(), udp_socket()
    dropped = set()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    proc = None
    try:
        # A port free when we look can be taken before dnsmasq binds it (tests
        # run side by side, and TCP clients take local ports from the same
        # range): a refused bind is tried again on a new port, 5 times at most.
        for attempt in range(1, 6):
            port = free_port()
            errors = tempfile.TemporaryFile()
            try:
                proc = subprocess.Popen(dnsmasq_args(dnsmasq, port, servfail.getsockname()[1],
                                                     silent.getsockname()[1], log),
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=errors)
            except OSError as e:
                sys.stderr.write("cannot start %s: %s\n" % (dnsmasq, e))
                return 99
            deadline = time.monotonic() + READY_TIMEOUT
            while proc.poll() is None and time.monotonic() < deadline and not probe(port):
                pass
            if proc.poll() is None and probe(port):
                break
            stop_dnsmasq(proc)
            errors.seek(0)
            said = errors.read().decode(errors="replace")
            sys.stderr.write(said)
            if "Address already in use" not in said or attempt == 5:
                sys.stderr.write("dnsmasq did not answer on 127.0.0.1:%d\n" % port)
                return 99
            sys.stderr.write("port %d was taken before dnsmasq bound it (try %d of 5)\n"
                             % (port, attempt))
        print("READY dnsmasq=%d servfail=%d silent=%d hostile=%d refused=%d lossy=%d" % (
            port, servfail.getsockname()[1], silent.getsockname()[1],
            hostile.getsockname()[1], refused.getsockname()[1], lossy.getsockname()[1]),
            flush=True)
        stdin = sys.stdin.buffer
        while not stop and proc.poll() is None:
            try:
                ready, _, _ = select.select([stdin, servfail, hostile, silent, refused, lossy],
                                         [], [], 1.0)
            except InterruptedError:
                continue
            for s in ready:
                if s is stdin:
                    if not os.read(stdin.fileno(), 4096):
                        stop.append(1)
                    continue
                data, peer = s.recvfrom(4096)
                if s is silent:
                    continue
                if s is servfail:
                    reply = rcode_reply(data, 2)
                elif s is refused:
                    reply = rcode_reply(data, 5)
                elif s is lossy:
                    reply = lossy_reply(data, dropped)
                else:
                    reply = hostile_reply(data)
                if reply is not None:
                    s.sendto(reply, peer)
        return 0
    finally:
        if proc is not None:
            stop_dnsmasq(proc)

if __name__ == "__main__":
    sys.exit(main())
