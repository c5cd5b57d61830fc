"""The usual request taken apart in one core call (``parse_request``) is the request httptools reads.

``HttpProtocol.data_received`` hands a whole usual POST to ``kvstore._core.parse_request``
instead of httptools and its callbacks; anything else it answers None for.  The properties
here send requests of every kind (the usual one, odd methods, targets, versions, header names
and values, repeated and framing headers, wrong lengths, bare LF, two requests at once) and check:

* whatever ``parse_request`` accepts, httptools reads as exactly one complete keep-alive
  POST with the same target, headers (as the protocol builds them) and body;
* the protocol writes the same bytes and is left in the same state with the one-call parse
  (compiled, and the pure twin) as with httptools alone.
"""

import concurrent.futures
import itertools
import re

import httptools
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import kvstore
from kvstore import _pycore
from kvstore.server import app
from kvstore.server.app import HttpProtocol, Server, inline_reads_and_item_writes
from kvstore.server.auth import AnyKey
from kvstore.server.handler import RequestHandler

try:
    from kvstore import _ccore
except ImportError:  # pragma: no cover - depends on the build
    _ccore = None

PARSERS = [pytest.param(_pycore.parse_request, id="python"),
           pytest.param(_ccore.parse_request if _ccore else None, id="cython",
                        marks=pytest.mark.skipif(_ccore is None, reason="kvstore._ccore is not built"))]
MAX_LINE, MAX_HEAD, MAX_BODY = 200, 600, 10 ** 5
relaxed = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))

BODY = b'{"TableName":"fast","Key":{"pk":{"S":"a"}}}'
USUAL = [("Host", "127.0.0.1:8000"), ("Accept-Encoding", "identity"), ("X-Amz-Target", "DynamoDB_20120810.GetItem"),
         ("Content-Type", "application/x-amz-json-1.0"), ("User-Agent", "Boto3/1.35 md/Botocore#1.35 ua/2.0"),
         ("X-Amz-Date", "20250101T000000Z"),
         ("Authorization", "AWS4-HMAC-SHA256 Credential=k/20250101/us-east-1/dynamodb/aws4_request, "
                           "SignedHeaders=host;x-amz-date;x-amz-target, Signature=00ff")]

_names = st.one_of(
    st.sampled_from(["Host", "host", "HOST", "X-Amz-Target", "x-amz-target", "Content-Type", "Accept", "X-Odd",
                     "Transfer-Encoding", "Connection", "Proxy-Connection", "Upgrade", "Expect", "Keep-Alive",
                     "Content-Length", "content-length", "Origin", "Content-Encoding", "X" * 70, "x" * 64,
                     "Bad Name", "Bad:Name", "", "é", "Na\tme", "N\r", "A\x00"]),
    st.text(st.sampled_from("abcXYZ-_.!#~09"), min_size=1, max_size=8),
)
_values = st.one_of(
    st.sampled_from(["v", " v", "v ", "  v  ", "", " ", "a  b", "a\tb", "\tv", "chunked", "close", "keep-alive",
                     "100-continue", "h2c", "gzip", "é", "\x7f", "a\x00b", "12", "-1", "+5", "0x10", "1 2"]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=12),
)
_targets = st.one_of(st.just("/"), st.sampled_from(["/?a=b", "/x/y", "", "*", "/a b", "/é", "/\"", "/<>", "/#f",
                                                    "/" + "a" * 250, "http://h/", "/%20", "/~!$&'()*+,;=:@"]),
                     st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), max_size=10).map("/".__add__))
_lengths = st.sampled_from(["right", "right", "right", "missing", "short", "long", "0" * 3 + "right", "+", "huge",
                            "spaced", "twice", "max+1"])


def _length_header(kind, body):
    n = len(body)
    return {"right": [str(n)], "missing": [], "short": [str(max(n - 1, 0))], "long": [str(n + 1)],
            "000right": ["000" + str(n)], "+": ["+" + str(n)], "huge": ["9" * 30], "spaced": [" %d " % n],
            "twice": [str(n), str(n)], "max+1": [str(MAX_BODY + 1)]}[kind]


@st.composite
def raw_requests(draw):
    """One request's bytes, mostly usual, often unusual in one or more ways."""
    method = draw(st.sampled_from(["POST"] * 6 + ["GET", "PUT", "post", "OPTIONS", "POSTX"]))
    target = draw(st.one_of(st.just("/"), _targets))
    version = draw(st.sampled_from(["HTTP/1.1"] * 6 + ["HTTP/1.0", "HTTP/2.0", "HTTP/1.1 ", "http/1.1"]))
    headers = list(USUAL) if draw(st.booleans()) else []
    headers += draw(st.lists(st.tuples(_names, _values), max_size=4))
    headers = draw(st.permutations(headers))
    body = draw(st.one_of(st.just(BODY), st.binary(max_size=40), st.just(b"")))
    for value in _length_header(draw(_lengths), body):
        headers.insert(draw(st.integers(0, len(headers))), ("Content-Length", value))
    eol = draw(st.sampled_from(["\r\n"] * 8 + ["\n", "\r"]))
    head = f"{method} {target} {version}{eol}" + "".join(f"{k}:{v if v[:1] in ' ' else ' ' + v}{eol}" if k
                                                          else f":{v}{eol}" for k, v in headers) + eol
    data = head.encode("utf-8") + body
    tail = draw(st.sampled_from([b"", b"", b"", b"POST / HTTP/1.1\r\n", b"x"]))
    return data + tail


def _usual(target="/", headers=USUAL, body=BODY):
    return (f"POST {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
            + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


class _Reader:
    """httptools' reading of the data, with the headers built as HttpProtocol builds them."""

    def __init__(self):
        self.messages = []
        self.url, self.headers, self.body = b"", {}, []

    def on_url(self, url):
        self.url += url

    def on_header(self, name, value):
        key = name.decode("latin-1").lower()
        value = value.decode("latin-1")
        self.headers[key] = self.headers[key] + "," + value if key in self.headers else value

    def on_body(self, chunk):
        self.body.append(chunk)

    def on_message_complete(self):
        self.messages.append((self.url, self.headers, b"".join(self.body)))
        self.url, self.headers, self.body = b"", {}, []


def httptools_reading(data):
    reader = _Reader()
    parser = httptools.HttpRequestParser(reader)
    try:
        parser.feed_data(data)
    except httptools.HttpParserError as e:       # the upgrade included
        return ("error", type(e).__name__)
    if len(reader.messages) != 1 or reader.url or reader.headers or reader.body:
        return ("not one message", len(reader.messages))
    url, headers, body = reader.messages[0]
    return (parser.get_method().decode("latin-1"), url.decode("latin-1"), headers, body, parser.should_keep_alive())


@pytest.mark.parametrize("parse", PARSERS)
@relaxed
@given(raw_requests())
@example(_usual())
@example(_usual("/?x=1&y=%20"))
@example(_usual(body=b""))
def test_what_parse_request_takes_apart_httptools_reads_the_same(parse, data):
    parsed = parse(data, MAX_LINE, MAX_HEAD, MAX_BODY)
    if parsed is not None:
        target, headers, body = parsed
        assert httptools_reading(data) == ("POST", target, headers, body, True)


@pytest.mark.parametrize("parse", PARSERS)
def test_the_usual_request_is_taken_apart(parse):
    target, headers, body = parse(memoryview(bytearray(_usual("/?a=b"))), MAX_LINE, MAX_HEAD, MAX_BODY)
    assert (target, body) == ("/?a=b", BODY)
    assert headers == {k.lower(): v for k, v in USUAL} | {"content-length": str(len(BODY))}


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize("data", [
    _usual(headers=USUAL + [("Transfer-Encoding", "chunked")]),
    _usual(headers=USUAL + [("Connection", "close")]),
    _usual(headers=USUAL + [("Connection", "keep-alive")]),
    _usual(headers=USUAL + [("Expect", "100-continue")]),
    _usual(headers=USUAL + [("Upgrade", "h2c")]),
    _usual(headers=USUAL + [("host", "again")]),                      # a repeated header
    _usual(headers=USUAL + [("X-Empty", "")]),
    _usual(headers=USUAL + [("X-Tab", "a\tb")]),
    _usual(headers=USUAL + [("X-High", "\xe9")]),
    _usual() + _usual(),                                             # two requests in one read
    _usual()[:-1],                                                   # a body still arriving
    _usual().replace(b"\r\n", b"\n"),
    _usual().replace(b"HTTP/1.1", b"HTTP/1.0"),
    _usual().replace(b"POST", b"GET"),
    _usual("/" + "a" * MAX_LINE),                                    # a request line over the limit
    _usual(headers=USUAL + [("X-Long", "v" * MAX_HEAD)]),            # a head over the limit
    _usual(body=b"x" * (MAX_BODY + 1)),
])
def test_unusual_requests_are_left_to_httptools(parse, data):
    assert parse(data, MAX_LINE, MAX_HEAD, MAX_BODY) is None


# ------------------------------------------------------------------ the protocol, with and without

class _Transport:
    def __init__(self):
        self.out = []
        self.closed = False

    def write(self, data):
        self.out.append(bytes(data))

    def is_closing(self):
        return self.closed

    def pause_reading(self):
        self.out.append("pause")

    def resume_reading(self):
        self.out.append("resume")

    def can_write_eof(self):
        return True

    def write_eof(self):
        self.out.append("eof")

    def get_write_buffer_size(self):
        return 0

    def close(self):
        self.closed = True
        self.out.append("close")

    def abort(self):
        self.close()


class _Loop:
    def call_later(self, delay, callback, *args):
        return _Handle()

    def run_in_executor(self, executor, function, *args):      # at once, in this thread: deterministic
        future = concurrent.futures.Future()
        future.set_result(function(*args))
        return future


class _Handle:
    def cancel(self):
        pass


@pytest.fixture(scope="module")
def server():
    db = kvstore.open(":memory:")
    db.create_table(TableName="fast", BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    db.Table("fast").put_item(Item={"pk": "a", "v": "x" * 100})
    handler = RequestHandler(db.engine, auth=AnyKey(clock=lambda: 1735689600.0))
    server = Server(handler, inline=inline_reads_and_item_writes, max_request_line=MAX_LINE, max_head=MAX_HEAD,
                    max_body=MAX_BODY)
    server.loop = _Loop()
    server.date_bytes = b"Date: Wed, 01 Jan 2025 00:00:00 GMT\r\n"
    yield server
    db.close()


_STATE = ("closing", "draining", "eof", "in_head", "in_message", "head_pending", "chunk", "busy", "_url", "_size")
_REQUEST_ID = re.compile(rb"x-amzn-RequestId: [0-9A-F]+")


def _serve(server, chunks, parse, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(app, "_parse_request", parse)
        if parse is not None:           # the same core's usual GetItem and PutItem (app uses the compiled one)
            m.setattr(app, "_usual_item_request",
                      (_pycore if parse is _pycore.parse_request else _ccore).usual_item_request)
        protocol = HttpProtocol(server)
        transport = _Transport()
        protocol.connection_made(transport)
        for chunk in chunks:
            protocol.data_received(chunk)
        queued = [(r.answer, r.keep_alive) for r in protocol.queue]
        state = {name: getattr(protocol, name) for name in _STATE}
        server.connections.discard(protocol)
    out = [_REQUEST_ID.sub(b"x-amzn-RequestId: ID", x) if isinstance(x, bytes) else x for x in transport.out]
    return out, state, queued, protocol._headers, protocol._body


@pytest.mark.parametrize("parse", PARSERS)
@relaxed
@given(st.lists(raw_requests(), min_size=1, max_size=3), st.data())
@example([_usual()], None)
def test_the_protocol_answers_the_same_with_and_without_the_one_call_parse(server, monkeypatch, parse, requests,
                                                                          data):
    chunks = list(requests)
    if data is not None and data.draw(st.booleans()):   # the same bytes in other reads
        joined = b"".join(chunks)
        cuts = sorted(data.draw(st.lists(st.integers(0, len(joined)), max_size=3)))
        chunks = [joined[a:b] for a, b in zip([0] + cuts, cuts + [len(joined)])]
    assert _serve(server, chunks, parse, monkeypatch) == _serve(server, chunks, None, monkeypatch)


def test_the_usual_request_is_answered_with_its_item(server, monkeypatch):
    out, state, queued, _, _ = _serve(server, [_usual()], _pycore.parse_request, monkeypatch)
    assert len(out) == 1 and out[0].startswith(b"HTTP/1.1 200 OK\r\n") and out[0].endswith(b'"v":{"S":"' + b"x" * 100
                                                                                          + b'"}}}')
    assert not state["in_head"] and not state["in_message"] and not queued


# ------------------------------------------------------------------ the usual answer

@pytest.mark.parametrize("core", [pytest.param(_pycore, id="python"),
                                  pytest.param(_ccore, id="cython", marks=pytest.mark.skipif(_ccore is None,
                                                                                        reason="not built"))])
@pytest.mark.parametrize("body", [b"", b"{}", b"x" * 64, b"x" * 65, bytes(range(256)) * 20])
@pytest.mark.parametrize("keep_alive", [True, False])
def test_render_answer_writes_the_head_dynamodb_sends(core, body, keep_alive):
    import zlib
    out = core.render_answer(b"HTTP/1.1 200 OK\r\nContent-Type: t\r\nContent-Length: ", body, b"Date: D\r\n",
                             b"ABC", itertools.count(7), keep_alive)
    assert out == (b"HTTP/1.1 200 OK\r\nContent-Type: t\r\nContent-Length: %d\r\nDate: D\r\nx-amzn-RequestId: ABC7\r\n"
                   b"x-amz-crc32: %d\r\n%s\r\n" % (len(body), zlib.crc32(body),
                                                   b"" if keep_alive else b"Connection: close\r\n")) + body
