"""Memory and limits of ``kvstore serve``'s connections: ``python -m bench.connections``.

What it measures, in one run against one ``kvstore serve --in-memory`` subprocess:

* resident memory (RSS) idle, then holding N (default 1,000) idle keep-alive
  connections, each served one request first: the cost of a connection;
* the same after those close, and over ``--rounds`` more rounds of N opened
  and closed (does memory plateau, or grow round after round?);
* N slow clients, each holding a half-sent request head (1 KB): RSS while
  they are held, then how many the header timeout answered 408 and closed;
* the connection cap: ``--max-connections N`` and N idle connections held,
  then ``--extra`` more: how many were refused with a complete 503.

Nothing is timed: the figures are bytes and counts.  The machine may be
shared; RSS does not depend on its load.

    python -m bench.connections                       # 1,000 connections
    python -m bench.connections --connections 5000 --json out.json
"""

import argparse
import json
import os
import socket
import sys
import time

from .machine import describe, load_average, rss_bytes
from .targets.serve import KvstoreServer

def _request():
    """A keep-alive ListTables, SigV4-signed now by botocore (``kvstore serve`` refuses unsigned requests)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    signed = AWSRequest(method="POST", url="http://bench/", data=b"{}",
                        headers={"X-Amz-Target": "DynamoDB_20120810.ListTables"})
    SigV4Auth(Credentials("bench", "bench"), "dynamodb", "us-east-1").add_auth(signed)
    return (b"POST / HTTP/1.1\r\nHost: bench\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n"
            b"Content-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\n"
            b"X-Amz-Date: " + signed.headers["X-Amz-Date"].encode() + b"\r\n"
            b"Authorization: " + signed.headers["Authorization"].encode() + b"\r\n\r\n{}")
SLOW_HEAD = b"POST / HTTP/1.1\r\nHost: bench\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nX-Slow: " + b"s" * 1000


def _raise_open_files(n):
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))


def _read_answer(sock):
    """One answer's status (reads its head and Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data[:80]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split(b" ", 2)[1])


def _read_to_close(sock):
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            return data
        if not chunk:
            return data
        data += chunk


def _connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _open_idle(port, n):
    socks = []
    for _ in range(n):
        sock = _connect(port)
        sock.sendall(_request())
        status = _read_answer(sock)
        if status != 200:
            raise RuntimeError(f"a keep-alive request answered {status}")
        socks.append(sock)
    return socks


def _settle(seconds=1.0):
    time.sleep(seconds)


def _mb(n):
    return round(n / 2**20, 1)


def run(connections=1000, extra=50, header_timeout=5.0, rounds_again=3, quiet=False, settle=1.0):
    _raise_open_files(2 * connections + extra)
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    server = KvstoreServer(None, ["--max-connections", str(connections), "--idle-timeout", "3600",
                                  "--header-timeout", str(header_timeout)]).start()
    pid, port = server.proc.pid, server.port
    report = {"machine": describe(), "load_before": load_average(),
              "workload": {"connections": connections, "extra": extra, "header_timeout_s": header_timeout}}
    rss = report["rss_bytes"] = {}
    try:
        warm = _open_idle(port, 1)
        for _ in range(200):
            warm[0].sendall(_request())
            _read_answer(warm[0])
        warm[0].close()
        _settle(settle)
        rss["idle"] = rss_bytes(pid)
        say(f"idle: {_mb(rss['idle'])} MB")

        held = _open_idle(port, connections)
        _settle(settle)
        rss["idle_connections"] = rss_bytes(pid)
        say(f"{connections} idle keep-alive connections: {_mb(rss['idle_connections'])} MB")

        refused = complete = 0
        for _ in range(extra):                  # the cap is reached: each of these is refused
            sock = _connect(port)
            try:
                sock.sendall(_request())
            except OSError:
                pass
            data = _read_to_close(sock)
            sock.close()
            if data.startswith(b"HTTP/1.1 503 "):
                refused += 1
                head, sep, body = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length")), -1)
                complete += bool(sep) and length == len(body) and b"ServiceUnavailable" in body
        report["cap"] = {"extra_connections": extra, "refused_503": refused, "complete_503": complete}
        say(f"past the cap: {refused} of {extra} refused with 503 ({complete} complete messages)")

        for sock in held:
            sock.close()
        _settle(2 * settle)
        rss["after_close"] = rss_bytes(pid)
        rounds = rss["rounds"] = []              # open and close them again: does memory plateau?
        for _ in range(rounds_again):
            held = _open_idle(port, connections)
            _settle(settle)
            held_rss = rss_bytes(pid)
            for sock in held:
                sock.close()
            _settle(2 * settle)
            rounds.append([held_rss, rss_bytes(pid)])
        say(f"closed: {_mb(rss['after_close'])} MB; again, held/closed: "
            + ", ".join(f"{_mb(h)}/{_mb(c)}" for h, c in rounds) + " MB")

        slow = []
        for _ in range(connections):
            sock = _connect(port)
            sock.sendall(SLOW_HEAD)
            slow.append(sock)
        _settle(settle)
        rss["slow_heads"] = rss_bytes(pid)
        timed_out = 0
        for sock in slow:                       # the header timeout answers each 408, then closes
            timed_out += _read_to_close(sock).startswith(b"HTTP/1.1 408 ")
            sock.close()
        _settle(2 * settle)
        rss["after_slow_heads"] = rss_bytes(pid)
        report["slow_heads"] = {"held": connections, "answered_408": timed_out}
        say(f"{connections} half-sent heads: {_mb(rss['slow_heads'])} MB; {timed_out} answered 408; "
            f"after: {_mb(rss['after_slow_heads'])} MB")
        report["per_connection_bytes"] = round((rss["idle_connections"] - rss["idle"]) / connections)
        report["per_slow_head_bytes"] = round((rss["slow_heads"] - rss["rounds"][-1][1] if rss["rounds"]
                                               else rss["slow_heads"] - rss["after_close"]) / connections)
    finally:
        server.stop()
    report["load_after"] = load_average()
    return report


def render(r):
    rss, w = r["rss_bytes"], r["workload"]
    n = w["connections"]
    lines = [
        f"# Connections: `python -m bench.connections --connections {n}`", "",
        f"`kvstore serve --in-memory --max-connections {n} --header-timeout {w['header_timeout_s']:g}`; "
        f"{r['machine'].get('python', '')}, load {r['load_before']} -> {r['load_after']}.", "",
        "| state of the server | RSS MB |", "|---|---:|",
        f"| idle (after 200 requests on one connection) | {_mb(rss['idle'])} |",
        f"| {n:,} idle keep-alive connections (each served one request) | {_mb(rss['idle_connections'])} |",
        f"| after they closed | {_mb(rss['after_close'])} |",
        *[f"| round {i + 2}: {n:,} idle connections, then closed | {_mb(h)}, {_mb(c)} |"
          for i, (h, c) in enumerate(rss["rounds"])],
        f"| {n:,} connections holding a half-sent 1 KB request head | {_mb(rss['slow_heads'])} |",
        f"| after the header timeout closed them | {_mb(rss['after_slow_heads'])} |", "",
        f"Per idle connection: **{r['per_connection_bytes'] / 1024:.1f} KB** of server RSS; per half-sent head: "
        f"{r['per_slow_head_bytes'] / 1024:.1f} KB (kernel socket buffers are not in RSS).", "",
        f"Cap: with {n:,} connections held, {r['cap']['refused_503']} of {r['cap']['extra_connections']} more were "
        f"refused with 503 ServiceUnavailable ({r['cap']['complete_503']} complete messages).  Slow heads: "
        f"{r['slow_heads']['answered_408']} of {r['slow_heads']['held']} answered 408 by the header timeout.", "",
    ]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.connections", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--connections", type=int, default=1000)
    p.add_argument("--extra", type=int, default=50, help="connections opened past the cap")
    p.add_argument("--header-timeout", type=float, default=5.0)
    p.add_argument("--rounds", type=int, default=3, help="times the idle connections are opened and closed again")
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--markdown", metavar="FILE", help="write the report (e.g. bench/results/connections.md)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    report = run(args.connections, args.extra, args.header_timeout, args.rounds, quiet=args.quiet)
    text = render(report)
    if not args.quiet:
        print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if args.markdown:
        os.makedirs(os.path.dirname(os.path.abspath(args.markdown)), exist_ok=True)
        with open(args.markdown, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
