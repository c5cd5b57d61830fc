"""The edges of HTTP (issue 14 item 2): closing without losing an answer, size limits, timeouts,
the connection cap, compression, Date and CORS.  Raw sockets and http.client; every answer read
is parsed strictly (a complete head, Content-Length bytes of body, nothing else).  No timing is
asserted: timeouts are configured short and the tests wait for the close."""

import gzip
import http.client
import json
import re
import socket
import threading
import zlib
from email.utils import formatdate, parsedate_to_datetime

import pytest

import kvstore
from kvstore import limits
from kvstore.clock import ManualClock
from kvstore.server.app import ServerThread
from kvstore.server.compression import choose_encoding
from kvstore.server.cors import EXPOSE_HEADERS, MAX_AGE
from kvstore.server.handler import RequestHandler

TARGET = "DynamoDB_20120810.ListTables"
JSON = "application/x-amz-json-1.0"
CORS_HEADERS = ("access-control-allow-origin", "access-control-expose-headers", "access-control-max-age",
                "access-control-allow-methods", "access-control-allow-headers", "access-control-allow-credentials")
WAIT = 30            # seconds a test waits for something that must happen (never asserted as a duration)


def request(target=TARGET, body=b"{}", extra="", method="POST", version="1.1"):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    head = f"{method} / HTTP/{version}\r\nHost: x\r\n"
    if target:
        head += f"X-Amz-Target: {target}\r\nContent-Type: {JSON}\r\n"
    return (head + extra + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def connect(server):
    sock = socket.create_connection(("127.0.0.1", server.server.port), timeout=WAIT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until_closed(sock):
    """Every byte the server sends until it closes; a reset fails the test (it destroys answers)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except ConnectionResetError:
            raise AssertionError(f"connection reset after {len(data)} bytes: an answer may be lost") from None
        if not chunk:
            return data
        data += chunk


def parse(data):
    """Strictly parsed HTTP/1.1 answers: [(status, {lower-case name: value}, body)]; fails on anything else."""
    answers = []
    while data:
        head, sep, data = data.partition(b"\r\n\r\n")
        assert sep, f"a head without its blank line: {head[:200]!r}"
        status_line, *lines = head.split(b"\r\n")
        m = re.fullmatch(rb"HTTP/1\.1 (\d{3}) [A-Za-z -]+", status_line)
        assert m, status_line
        headers = {}
        for line in lines:
            name, colon, value = line.partition(b":")
            assert colon and re.fullmatch(rb"[A-Za-z0-9-]+", name), f"malformed header line {line!r}"
            key = name.decode().lower()
            assert key not in headers, f"repeated header {key}"
            headers[key] = value.strip().decode("latin-1")
        status = int(m.group(1))
        if status == 100:
            answers.append((status, headers, b""))
            continue
        length = int(headers["content-length"])
        assert len(data) >= length, f"body truncated: {len(data)} of {length} bytes"
        answers.append((status, headers, data[:length]))
        data = data[length:]
    return answers


def exchange(server, data, shutdown=False):
    """Send ``data`` on a new connection, read until the server closes, parse strictly."""
    sock = connect(server)
    sock.sendall(data)
    if shutdown:
        sock.shutdown(socket.SHUT_WR)
    try:
        return parse(read_until_closed(sock))
    finally:
        sock.close()


def assert_closing_answer(answer, status):
    got, headers, body = answer
    assert got == status
    assert headers["connection"] == "close"
    assert parsedate_to_datetime(headers["date"])
    assert int(headers["content-length"]) == len(body)
    return json.loads(body) if headers["content-type"] == JSON else body


# ------------------------------------------------------------------ servers

@pytest.fixture(scope="module")
def edges(wire_db):
    """Default edges (long timeouts): for everything but the timeouts and the cap."""
    with ServerThread(RequestHandler(wire_db.engine), linger=5.0) as running:
        yield running


@pytest.fixture(scope="module")
def hasty(wire_db):
    """Short timeouts, to see them fire."""
    with ServerThread(RequestHandler(wire_db.engine), idle_timeout=0.3, header_timeout=0.3) as running:
        yield running


@pytest.fixture(scope="module")
def big_table(wire_db):
    """A table whose Scan answers ~1 MB (two items of ~350 KB, kept apart from other tests)."""
    name = "http-edges-big"
    table = wire_db.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    for i in range(3):
        table.put_item(Item={"pk": str(i), "v": "x" * 350_000})
    return name


# ------------------------------------------------------------------ Connection: close

def test_connection_close_answer_is_complete_then_the_connection_closes(edges):
    (answer,) = exchange(edges, request(extra="Connection: close\r\n"))
    assert "TableNames" in assert_closing_answer(answer, 200)


def test_connection_close_through_http_client_reads_the_whole_body(edges):
    conn = http.client.HTTPConnection("127.0.0.1", edges.server.port, timeout=WAIT)
    conn.request("POST", "/", body=b"{}", headers={"X-Amz-Target": TARGET, "Content-Type": JSON,
                                                   "Connection": "close"})
    response = conn.getresponse()
    body = response.read()              # IncompleteRead when the head lacked its blank line
    assert response.status == 200 and response.getheader("Connection") == "close"
    assert "TableNames" in json.loads(body)
    conn.close()


def test_connection_close_large_answer_is_not_truncated_when_the_client_sends_more(edges, big_table):
    """A client that sends another request before reading a 1 MB Connection: close answer: closing
    with that request unread made the kernel reset the connection and drop the answer in flight."""
    scan = request("DynamoDB_20120810.Scan", {"TableName": big_table})
    for _ in range(3):
        sock = connect(edges)
        sock.sendall(request("DynamoDB_20120810.Scan", {"TableName": big_table}, extra="Connection: close\r\n"))
        data = sock.recv(1)                     # the answer has started
        try:
            sock.sendall(scan)                  # the server has closed its side: dropped, but no reset
        except OSError:
            pass
        data += read_until_closed(sock)
        sock.close()
        answer, = parse(data)
        assert len(assert_closing_answer(answer, 200)["Items"]) == 3


def test_connection_close_answers_the_requests_before_it_and_none_after(edges):
    answers = exchange(edges, request() + request(extra="Connection: close\r\n") + request() + request())
    assert [a[0] for a in answers] == [200, 200]
    assert answers[1][1]["connection"] == "close" and "connection" not in answers[0][1]


def test_http_1_0_answer_is_complete_then_the_connection_closes(edges):
    (answer,) = exchange(edges, request(version="1.0"))
    assert "TableNames" in assert_closing_answer(answer, 200)


def test_error_answer_with_connection_close_is_complete(edges):
    (answer,) = exchange(edges, request("DynamoDB_20120810.DescribeTable", {"TableName": "nope"},
                                        extra="Connection: close\r\n"))
    assert assert_closing_answer(answer, 400)["__type"].endswith("#ResourceNotFoundException")


def test_half_closed_client_gets_its_answers_then_the_close(edges):
    """A client that shuts its sending side after its requests (a request served in the thread
    pool is still running when the FIN arrives)."""
    put = request("DynamoDB_20120810.PutItem", {"TableName": "nope", "Item": {"pk": {"S": "a"}}})
    answers = exchange(edges, request() + put + request(), shutdown=True)
    assert [a[0] for a in answers] == [200, 400, 200]


# ------------------------------------------------------------------ sizes

def test_oversize_request_line_is_400_and_closed(edges):
    (answer,) = exchange(edges, b"POST /" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert assert_closing_answer(answer, 400) == b"Request line too long"


def test_oversize_header_block_streamed_is_431_and_closed(edges):
    sock = connect(edges)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
    try:
        for i in range(200):                # 200 x 8 KB headers, never ending: the server stops it
            sock.sendall(b"X-Pad-%d: %s\r\n" % (i, b"p" * 8192))
    except OSError:
        pass                                # it has answered and closed its side
    (answer,) = parse(read_until_closed(sock))
    sock.close()
    assert assert_closing_answer(answer, 431) == b"Request header fields too large"


def test_oversize_header_block_in_one_write_is_431_and_closed(edges):
    pad = "".join(f"X-Pad-{i}: {'p' * 1000}\r\n" for i in range(100))      # ~100 KB, complete
    (answer,) = exchange(edges, request(extra=pad))
    assert assert_closing_answer(answer, 431) == b"Request header fields too large"


def test_header_block_under_the_limit_is_served(edges):
    pad = "".join(f"X-Pad-{i}: {'p' * 1000}\r\n" for i in range(40))       # ~40 KB
    (answer,) = exchange(edges, request(extra=pad + "Connection: close\r\n"))
    assert answer[0] == 200


def test_content_length_over_16mb_is_413_at_once_without_the_body(edges):
    """Only the head is sent: the 413 comes back without the server waiting for any body byte."""
    sock = connect(edges)
    sock.sendall((f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET}\r\nContent-Type: {JSON}\r\n"
                  f"Content-Length: {limits.MAX_HTTP_BODY + 1}\r\n\r\n").encode())
    (answer,) = parse(read_until_closed(sock))
    sock.close()
    assert assert_closing_answer(answer, 413)["__type"] == "com.amazon.coral.service#RequestEntityTooLarge"


def test_chunked_body_growing_past_16mb_is_413_and_closed(edges):
    sock = connect(edges)
    sock.sendall((f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET}\r\nContent-Type: {JSON}\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n").encode())
    chunk = b"x" * (1 << 20)
    try:
        for _ in range(40):
            sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
    except OSError:
        pass
    (answer,) = parse(read_until_closed(sock))
    sock.close()
    assert assert_closing_answer(answer, 413)["__type"] == "com.amazon.coral.service#RequestEntityTooLarge"


def test_413_comes_after_the_answers_to_earlier_pipelined_requests(edges):
    big = (f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET}\r\nContent-Type: {JSON}\r\n"
           f"Content-Length: {limits.MAX_HTTP_BODY + 1}\r\n\r\n").encode()
    answers = exchange(edges, request() + request() + big)
    assert [a[0] for a in answers] == [200, 200, 413]


# ------------------------------------------------------------------ every error answer is a whole message

@pytest.mark.parametrize("data, status", [
    (b"NOT HTTP AT ALL\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (request("DynamoDB_20120810.Bogus") + b"GARBAGE\r\n\r\n", 400),
])
def test_malformed_http_is_a_complete_400_then_closed(edges, data, status):
    *before, answer = exchange(edges, data)
    assert assert_closing_answer(answer, status) == b"Malformed HTTP request"
    assert all(a[0] == 400 and "connection" not in a[1] for a in before)


def test_malformed_http_after_a_request_in_the_thread_pool_still_answers_both(edges):
    """The 400 used to be written only when no request was running, and the running one's answer lost."""
    put = request("DynamoDB_20120810.PutItem", {"TableName": "nope", "Item": {"pk": {"S": "a"}}})
    answers = exchange(edges, put + b"NOT HTTP AT ALL\r\n\r\n")
    assert [a[0] for a in answers] == [400, 400]
    assert json.loads(answers[0][2])["__type"].endswith("#ResourceNotFoundException")
    assert_closing_answer(answers[1], 400)


def test_upgrade_request_is_answered_in_http_1_1_and_the_connection_goes_on(edges):
    """curl --http2 on http:// asks for h2c: no switch, the request (body and all) is served in HTTP/1.1."""
    upgrade = request(extra="Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n")
    answers = exchange(edges, upgrade + request(extra="Connection: close\r\n"))
    assert [a[0] for a in answers] == [200, 200]


def test_expect_100_continue_comes_in_its_turn_after_earlier_answers(edges):
    put = request("DynamoDB_20120810.PutItem", {"TableName": "nope", "Item": {"pk": {"S": "a"}}})
    head = (f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET}\r\nContent-Type: {JSON}\r\n"
            "Expect: 100-continue\r\nConnection: close\r\nContent-Length: 2\r\n\r\n").encode()
    sock = connect(edges)
    sock.sendall(put + head)
    data = b""
    while b"100 Continue" not in data:
        data += sock.recv(65536)
    sock.sendall(b"{}")
    data += read_until_closed(sock)
    sock.close()
    assert [a[0] for a in parse(data)] == [400, 100, 200]


# ------------------------------------------------------------------ timeouts

def test_idle_keep_alive_connection_is_closed_after_the_idle_timeout(hasty):
    sock = connect(hasty)
    sock.sendall(request())
    data = read_until_closed(sock)          # the answer, then (idle) the close
    sock.close()
    (answer,) = parse(data)
    assert answer[0] == 200 and "connection" not in answer[1]


def test_connection_that_never_sends_is_closed_without_an_answer(hasty):
    sock = connect(hasty)
    assert read_until_closed(sock) == b""
    sock.close()


def test_slow_header_is_408_and_closed(hasty):
    sock = connect(hasty)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Tar")        # and nothing more
    (answer,) = parse(read_until_closed(sock))
    sock.close()
    assert assert_closing_answer(answer, 408) == b"Request head not received in time"


def test_slow_header_trickled_byte_by_byte_is_still_408(hasty):
    """Bytes that keep arriving do not extend the header timeout (slowloris)."""
    sock = connect(hasty)
    data = b""
    try:
        for byte in b"POST / HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"s" * 100000:
            sock.sendall(bytes([byte]))
            sock.settimeout(0.02)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            data += chunk
            break
    except OSError:
        pass
    sock.settimeout(WAIT)
    data += read_until_closed(sock)
    sock.close()
    (answer,) = parse(data)
    assert assert_closing_answer(answer, 408) == b"Request head not received in time"


def test_stalled_body_is_408_and_closed(hasty):
    sock = connect(hasty)
    sock.sendall((f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET}\r\nContent-Type: {JSON}\r\n"
                  "Content-Length: 10\r\n\r\n{}").encode())
    (answer,) = parse(read_until_closed(sock))
    sock.close()
    assert assert_closing_answer(answer, 408) == b"Request body not received in time"


def test_client_that_stops_reading_is_disconnected_and_its_answers_not_all_buffered(hasty, big_table):
    """Forty 1 MB Scans pipelined in one write and nothing read: the server answers as far as the
    kernel's buffers take them and one more, waits for the client to read (the rest stay unanswered,
    not buffered), then gives up on it."""
    scan = request("DynamoDB_20120810.Scan", {"TableName": big_table})
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)     # before connecting: a small window
    sock.settimeout(WAIT)
    sock.connect(("127.0.0.1", hasty.server.port))
    sock.sendall(scan * 40)
    for _ in range(WAIT * 100):             # accepted (on a loaded machine the accept can come later)
        if hasty.server.connections:
            break
        threading.Event().wait(0.01)
    assert hasty.server.connections
    for _ in range(WAIT * 100):
        if not hasty.server.connections:
            break
        threading.Event().wait(0.01)
    assert not hasty.server.connections     # closed by the server while the client still had not read
    data = b""
    try:
        while chunk := sock.recv(1 << 20):
            data += chunk
    except ConnectionResetError:            # the server aborted: what it had not sent is dropped
        pass
    sock.close()
    assert data.count(b"HTTP/1.1 200 OK") < 20        # the kernel's buffers took a few MB, never all


# ------------------------------------------------------------------ the connection cap

def test_connections_past_the_cap_get_a_complete_503_and_a_close(wire_db):
    with ServerThread(RequestHandler(wire_db.engine), max_connections=2) as capped:
        held = []
        for _ in range(2):
            conn = http.client.HTTPConnection("127.0.0.1", capped.server.port, timeout=WAIT)
            conn.request("POST", "/", body=b"{}", headers={"X-Amz-Target": TARGET, "Content-Type": JSON})
            assert conn.getresponse().status == 200
            held.append(conn)
        (answer,) = exchange(capped, request())
        body = assert_closing_answer(answer, 503)
        assert body == {"__type": "com.amazon.coral.service#ServiceUnavailable",
                        "message": "Too many open connections (limit 2); retry later"}
        held.pop().close()
        for _ in range(200):                # the freed slot is taken again (once the server saw the close)
            (answer,) = exchange(capped, request(extra="Connection: close\r\n"))
            if answer[0] == 200:
                break
        assert answer[0] == 200
        for conn in held:
            conn.close()


def test_boto3_sees_service_unavailable_past_the_cap(wire_db):
    import boto3
    from botocore.config import Config
    with ServerThread(RequestHandler(wire_db.engine), max_connections=1) as capped:
        hog = connect(capped)
        hog.sendall(request())
        parse(hog.recv(65536))
        client = boto3.client("dynamodb", endpoint_url=capped.url, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="x",
                              config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        with pytest.raises(client.exceptions.ClientError) as e:
            client.list_tables()
        assert e.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        hog.close()


# ------------------------------------------------------------------ compression, Date, CORS

def _get_big_item(server, big_table, accept):
    conn = http.client.HTTPConnection("127.0.0.1", server.server.port, timeout=WAIT)
    headers = {"X-Amz-Target": "DynamoDB_20120810.GetItem", "Content-Type": JSON}
    if accept is not None:
        headers["Accept-Encoding"] = accept
    conn.request("POST", "/", body=json.dumps({"TableName": big_table, "Key": {"pk": {"S": "1"}}}), headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert int(response.getheader("x-amz-crc32")) == zlib.crc32(body)      # over the bytes sent
    return response.getheader("Content-Encoding"), body


@pytest.mark.parametrize("accept, encoding, decompress", [
    ("gzip", "gzip", gzip.decompress),
    ("deflate", "deflate", zlib.decompress),
    ("gzip, deflate", "gzip", gzip.decompress),
])
def test_response_compression_when_the_client_accepts_it(edges, big_table, accept, encoding, decompress):
    _, plain = _get_big_item(edges, big_table, None)
    got, body = _get_big_item(edges, big_table, accept)
    assert got == encoding
    assert len(body) < len(plain) // 10 and decompress(body) == plain


def test_response_below_4kb_is_not_compressed(edges):
    conn = http.client.HTTPConnection("127.0.0.1", edges.server.port, timeout=WAIT)
    conn.request("POST", "/", body=b"{}", headers={"X-Amz-Target": TARGET, "Content-Type": JSON,
                                                   "Accept-Encoding": "gzip"})
    response = conn.getresponse()
    assert response.getheader("Content-Encoding") is None and "TableNames" in json.loads(response.read())
    conn.close()


# DynamoDB's choices, as pinned against it by ScyllaDB Alternator's test_compressed_response.py.
@pytest.mark.parametrize("accept, chosen", [
    ("identity", None), ("", None), ("br", None), ("zstd", None), ("compress", None), ("x-gzip", None),
    ("gzip, deflate", "gzip"), ("br, identity, deflate, gzip", "deflate"), ("GZIP, identity", "gzip"),
    ("dog, gzip ,, cat", "gzip"), ("gzip;q=0.8, deflate;q=0.5", "gzip"),
    ("br, gzip;q=0, deflate; q = 0.5 , identity;q=0", "deflate"),
    ("*", "gzip"), ("*, deflate;q=0.5", "gzip"), ("*, deflate", "deflate"), ("*, identity", "gzip"),
    ("*, gzip;q=0.5", "deflate"), ("gzip ;q=0", None), ("identity;q=0", None), ("*;q=0", None),
    ("*;q=0.5,identity", "gzip"), ("gzip;q=0.5,identity;q=0.8", "gzip"), ("br;q=0.8,identity;q=0.5,*;q=0", None),
    ('"gzip"', None), ("gzip br", None), ("gzip:q=1", None), ("deflate;q=0.5, gzip;q=31", "gzip"),
    ("gzip;q=31,deflate;q=51", "gzip"), ("deflate;q=0.5, gzip;q=0.2", "deflate"),
    ("deflate;q=0.5, gzip;q=1;q=0.2", "gzip"), ("deflate;q=0.5,gzip;q=0.", "deflate"),
    ("deflate;q=0.5,gzip;q=0.x", "gzip"), ("deflate;q=-0.5,gzip;q=0.2", "gzip"), ("gzip;nq=1;q=0 ", None),
    ("gzip;q=0, gzip;q=1, gzip;q=0", "gzip"), ("br,identity;q=0.5,gzip;q=0.0001", "gzip"),
])
def test_accept_encoding_is_chosen_as_dynamodb_chooses(accept, chosen):
    assert choose_encoding(accept) == chosen


def test_every_answer_has_a_date_header(edges):
    answers = exchange(edges, request() + request("DynamoDB_20120810.Bogus") + request(method="GET", target=None)
                       + request(extra="Connection: close\r\n"))
    assert [a[0] for a in answers] == [200, 400, 200, 200]
    for _, headers, _ in answers:
        assert re.fullmatch(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT", headers["date"])


def test_date_header_comes_from_the_engine_clock():
    clock = ManualClock(start=1_500_000_000)
    with kvstore.open(":memory:", clock=clock) as db, ServerThread(RequestHandler(db.engine)) as running:
        (answer,) = exchange(running, request(extra="Connection: close\r\n"))
    assert answer[1]["date"] == formatdate(1_500_000_000, usegmt=True) == "Fri, 14 Jul 2017 02:40:00 GMT"


def test_no_cors_headers_without_origin(edges):
    answers = exchange(edges, request() + request(method="GET", target=None) + request(method="OPTIONS", target=None)
                       + request(extra="Connection: close\r\n"))
    assert [a[0] for a in answers] == [200, 200, 404, 200]
    for _, headers, _ in answers:
        assert not set(CORS_HEADERS) & set(headers)


def test_cors_headers_on_every_answer_to_a_request_with_origin(edges):
    origin = "Origin: http://example.com\r\n"
    answers = exchange(edges, request(extra=origin) + request("DynamoDB_20120810.Bogus", extra=origin)
                       + request(method="GET", target=None, extra=origin + "Connection: close\r\n"))
    assert [a[0] for a in answers] == [200, 400, 200]
    for _, headers, _ in answers:
        assert headers["access-control-allow-origin"] == "*"
        assert headers["access-control-expose-headers"] == EXPOSE_HEADERS == (
            "x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date")
        for preflight_only in ("access-control-max-age", "access-control-allow-methods",
                               "access-control-allow-headers"):
            assert preflight_only not in headers


def test_cors_preflight_echoes_the_requested_method_and_headers(edges):
    preflight = ("OPTIONS / HTTP/1.1\r\nHost: x\r\nOrigin: http://example.com\r\nAccess-Control-Request-Method: POST\r\n"
                 "Access-Control-Request-Headers: content-type,x-amz-target,x-amz-date,authorization\r\n"
                 "Connection: close\r\n\r\n").encode()
    (answer,) = exchange(edges, preflight)
    status, headers, body = answer
    assert (status, body) == (200, b"")
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-methods"] == "POST"
    assert headers["access-control-allow-headers"] == "content-type,x-amz-target,x-amz-date,authorization"
    assert headers["access-control-max-age"] == str(MAX_AGE)
    assert headers["access-control-expose-headers"] == EXPOSE_HEADERS


def test_cors_allow_list_echoes_listed_origins_only(wire_db):
    with ServerThread(RequestHandler(wire_db.engine), cors="https://app.example,https://b.example") as running:
        (listed, other) = exchange(running, request(extra="Origin: https://app.example\r\n")
                                   + request(extra="Origin: https://evil.example\r\nConnection: close\r\n"))
    assert listed[1]["access-control-allow-origin"] == "https://app.example"
    assert listed[1]["vary"] == "Origin"
    assert not set(CORS_HEADERS) & set(other[1])


def test_cors_off_sends_no_cors_headers_and_options_is_404(wire_db):
    with ServerThread(RequestHandler(wire_db.engine), cors=None) as running:
        (answer, preflight) = exchange(running, request(extra="Origin: https://app.example\r\n")
                                       + request(method="OPTIONS", target=None,
                                                 extra="Origin: https://app.example\r\nConnection: close\r\n"))
    assert answer[0] == 200 and preflight[0] == 404
    assert not set(CORS_HEADERS) & (set(answer[1]) | set(preflight[1]))


def test_serve_command_line_has_the_http_edges():
    from kvstore.server.main import build_parser
    args = build_parser().parse_args(["--idle-timeout", "5", "--header-timeout", "2", "--max-connections", "10",
                                      "--cors", "https://app.example"])
    assert (args.idle_timeout, args.header_timeout, args.max_connections) == (5.0, 2.0, 10)
    assert args.cors.origins == {"https://app.example"}
    assert build_parser().parse_args(["--cors", "none"]).cors is None
    for bad in (["--max-connections", "0"], ["--idle-timeout", "-1"], ["--cors", ","]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(bad)
