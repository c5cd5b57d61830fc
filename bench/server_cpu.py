"""Where a GetItem's (or PutItem's) server CPU goes, stage by stage, counted with callgrind.

Wall-clock on a shared machine moves by 2x between seconds; instructions do
not.  Each stage runs ``--requests`` times in a child process under
``valgrind --tool=callgrind`` (and once with none, to subtract set-up), so a
row is the instructions one request costs in that stage and everything under
it.  The stages nest, so the differences are the layers:

- ``floor``: the do-nothing server's protocol (httptools parsing, a canned
  answer written to the transport), bench/server.py's floor;
- ``full``: kvstore's ``HttpProtocol.data_received`` with a fake transport:
  parsing, routing, the signature's form (``auth.AnyKey``, as ``kvstore serve``
  without credentials checks it), the operation, the response JSON and the HTTP head;
- ``usual``: ``kvstore._core.usual_get_item``, what ``full`` runs after ``parse_request``:
  the handler's checks, the signature's form, the GetItem and the answer's head in one
  core call (session 9);
- ``answer``: ``RequestHandler.answer`` with parsed method, target, headers and
  body (no HTTP parsing or rendering): the handler's path, which ``usual`` replaces for
  the usual GetItem (and which the boto3 hook and every other request take);
- ``auth``: ``AnyKey.authenticate`` of the request's headers;
- ``get_item_path``: ``get_item_path.answer``, the usual GetItem's body to its answer's body in one
  step (what ``answer`` runs after ``auth``); the next three stages are the general path it replaces;
- ``decode``: ``wire.loads`` + ``wire.decode_request`` of the body;
- ``operation``: ``run_operation`` of the decoded request (metrics and faults around ``operation.run``);
- ``render``: ``wire.dump_response`` of the operation's response;
- ``head``: ``Server.render`` of the answer (status line, headers, Date, request id, CRC32).

``--operation PutItem`` counts the same stages for bench/server.py's PutItem (a 100-byte
string beside the key, replacing one item): ``usual`` is then ``kvstore._core.usual_item_request``
and ``get_item_path`` ``kvstore._core.put_item_answer`` (session 15); ``--metrics`` serves with
request metrics on, as ``kvstore serve`` does by default.

    python -m bench.server_cpu                 # the table (Markdown)
    python -m bench.server_cpu --operation PutItem --metrics
    python -m bench.server_cpu --requests 2000
    python -m bench.server_cpu --opcodes full  # Python opcodes of one request, by function (sys.settrace)
"""

import argparse
import json
import os
import subprocess
import sys

STAGES = ("floor", "full", "usual", "answer", "auth", "get_item_path", "decode", "operation", "render", "head")

OPERATION = os.environ.get("BENCH_SERVER_CPU_OPERATION", "GetItem")
METRICS = bool(os.environ.get("BENCH_SERVER_CPU_METRICS"))
if OPERATION == "PutItem":
    BODY = json.dumps({"TableName": "bench_items", "Item": {"pk": {"S": "p000001"}, "sk": {"N": "1"},
                                                            "v": {"S": "x" * 100}}}).encode()
else:
    BODY = json.dumps({"TableName": "bench_items", "Key": {"pk": {"S": "p000001"}, "sk": {"N": "1"}}}).encode()
HEADERS = {"host": "127.0.0.1", "content-type": "application/x-amz-json-1.0",
           "x-amz-target": f"DynamoDB_20120810.{OPERATION}", "content-length": str(len(BODY)),
           "authorization": "AWS4-HMAC-SHA256 Credential=k/20250101/us-east-1/dynamodb/aws4_request, "
                            "SignedHeaders=host;x-amz-date;x-amz-target, Signature=0",
           "x-amz-date": "20250101T000000Z", "accept-encoding": "identity"}
NOW = 1735689600.0             # the requests' X-Amz-Date
RAW = ("POST / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items()) + "\r\n").encode() + BODY


class _Transport:
    """What HttpProtocol needs of an asyncio transport; keeps nothing."""

    def __init__(self):
        self.written = 0

    def write(self, data):
        self.written += 1

    def is_closing(self):
        return False

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


def _setup():
    import kvstore
    from kvstore.server.app import HttpProtocol, Server, inline_reads_and_item_writes
    from kvstore.server.auth import AnyKey
    from kvstore.server.handler import RequestHandler

    db = kvstore.open(":memory:", metrics=METRICS)
    db.create_table(TableName="bench_items", BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                          {"AttributeName": "sk", "AttributeType": "N"}])
    db.Table("bench_items").put_item(Item={"pk": "p000001", "sk": 1, "v": "x" * 100})
    # the signature's form is checked as by `kvstore serve` without credentials, at the request's time
    handler = RequestHandler(db.engine, auth=AnyKey(clock=lambda: NOW))
    server = Server(handler, inline=inline_reads_and_item_writes)
    server.loop = None
    protocol = HttpProtocol(server)
    protocol.connection_made(_Transport())
    return handler, protocol


def _stage(name):
    """A zero-argument function doing one request's work of stage ``name``."""
    if name == "floor":
        import httptools

        resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"

        class P:
            def __init__(self):
                self.t = _Transport()
                self.p = httptools.HttpRequestParser(self)
                self.h = {}
                self.b = []

            def on_header(self, k, v):
                self.h[k.lower()] = v

            def on_body(self, b):
                self.b.append(b)

            def on_message_complete(self):
                self.t.write(resp)
                self.h = {}
                self.b = []

        p = P()
        return lambda: p.p.feed_data(RAW)
    from kvstore.operations import OPERATIONS
    from kvstore.server import wire

    handler, protocol = _setup()
    if name == "full":
        return lambda: protocol.data_received(RAW)
    if name == "usual":
        from kvstore import _core
        from kvstore.server import app
        server = protocol.server
        handler.answer("POST", "/", HEADERS, BODY)       # the target and the signature's form known
        if OPERATION == "PutItem":
            assert _core.usual_item_request(server, HEADERS, BODY, app._USUAL).__class__ is bytes
            return lambda: _core.usual_item_request(server, HEADERS, BODY, app._USUAL)
        assert _core.usual_get_item(server, HEADERS, BODY, app._USUAL).__class__ is bytes
        return lambda: _core.usual_get_item(server, HEADERS, BODY, app._USUAL)
    if name == "answer":
        return lambda: handler.answer("POST", "/", HEADERS, BODY)
    operation = OPERATIONS[OPERATION]
    if name == "auth":
        return lambda: handler.auth.authenticate("POST", "/", HEADERS, BODY)
    if name == "get_item_path" and OPERATION == "PutItem":
        from kvstore import _core
        assert _core.put_item_answer(handler.engine, BODY) == b"{}"
        return lambda: _core.put_item_answer(handler.engine, BODY)
    if name == "get_item_path":
        from kvstore.server import get_item_path
        assert get_item_path.answer(handler.engine, BODY) is not None
        return lambda: get_item_path.answer(handler.engine, BODY)
    if name == "decode":
        return lambda: wire.decode_request(OPERATION, wire.loads(BODY))
    if name == "operation":
        from kvstore.operations import run_operation
        # a fresh request each time (the metrics' observe works on a copy; run does not change it),
        # through run_operation as the handler calls it (metrics and faults included)
        request = wire.decode_request(OPERATION, wire.loads(BODY))
        return lambda: run_operation(handler.engine, operation, request)
    request = wire.decode_request(OPERATION, wire.loads(BODY))
    response = operation.run(handler.engine, request)
    if name == "render":
        return lambda: wire.dump_response(OPERATION, response)
    answer = handler.answer("POST", "/", HEADERS, BODY)
    if name == "head":
        return lambda: protocol.server.render(answer, True, HEADERS)
    raise ValueError(name)


def _child(name, count):
    f = _stage(name)
    for _ in range(200):
        f()
    for _ in range(count):
        f()


def opcodes(name):
    """``{(file, function): [opcodes, calls]}`` of one request of stage ``name`` (after a warm-up),
    counted with ``sys.settrace``: the Python work left on the path, steadier still than instructions."""
    f = _stage(name)
    for _ in range(200):
        f()
    counts = {}

    def trace(frame, event, arg):
        code = frame.f_code
        where = (os.path.basename(code.co_filename), code.co_name)
        entry = counts.setdefault(where, [0, 0])
        entry[1] += 1
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False

        def local(frame, event, arg):
            if event == "opcode":
                entry[0] += 1
            return local
        return local

    sys.settrace(trace)
    try:
        f()
    finally:
        sys.settrace(None)
    return counts


def _instructions(name, count):
    env = dict(os.environ)
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m",
                          "bench.server_cpu", "--child", name, str(count)],
                         capture_output=True, text=True, env=env, check=True).stderr
    for line in out.splitlines():
        if "Collected" in line:
            return int(line.split()[-1])
    raise RuntimeError(out[-2000:])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.server_cpu", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--opcodes", metavar="STAGE", help="count one request's Python opcodes instead")
    parser.add_argument("--operation", choices=("GetItem", "PutItem"), default=None,
                        help="the request measured (default GetItem)")
    parser.add_argument("--metrics", action="store_true", help="request metrics on (as kvstore serve)")
    args = parser.parse_args(argv)
    if args.operation or args.metrics:       # the children read these at import
        if args.operation:
            os.environ["BENCH_SERVER_CPU_OPERATION"] = args.operation
        if args.metrics:
            os.environ["BENCH_SERVER_CPU_METRICS"] = "1"
        return subprocess.run([sys.executable, "-m", "bench.server_cpu"] + [
            a for a in (argv if argv is not None else sys.argv[1:])
            if a not in ("--metrics", "--operation", args.operation)]).returncode
    if args.child:
        _child(args.child[0], int(args.child[1]))
        return 0
    if args.opcodes:
        counts = opcodes(args.opcodes)
        print(f"{args.opcodes}: {sum(c[0] for c in counts.values())} Python opcodes in "
              f"{sum(c[1] for c in counts.values())} calls (the harness's own included)")
        print("| function | opcodes | calls |")
        print("|---|---:|---:|")
        for (file, function), (ops, calls) in sorted(counts.items(), key=lambda kv: -kv[1][0]):
            print(f"| `{file}:{function}` | {ops} | {calls} |")
        return 0
    rows = {}
    for name in args.stages.split(","):
        rows[name] = (_instructions(name, args.requests) - _instructions(name, 0)) / args.requests
        print(f"{name}: {rows[name] / 1000:.1f}k instructions per request", file=sys.stderr)
    print(f"| stage | instructions per {OPERATION}{' (metrics on)' if METRICS else ''} |")
    print("|---|---:|")
    for name, value in rows.items():
        print(f"| {name} | {value / 1000:.1f}k |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
