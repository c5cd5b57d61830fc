"""The HTTP protocol as DynamoDB speaks it: headers, checksums, errors, compression, sizes."""

import gzip
import json
import re
import socket
import zlib

import pytest

from kvstore import limits

TARGET = "DynamoDB_20120810.ListTables"


def test_success_has_json_type_length_request_id_and_crc32(raw):
    status, headers, body = raw.request({})
    assert status == 200
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert int(headers["content-length"]) == len(body)
    assert re.fullmatch(r"[A-Z0-9]{52}", headers["x-amzn-requestid"])
    assert int(headers["x-amz-crc32"]) == zlib.crc32(body) & 0xFFFFFFFF
    assert "TableNames" in json.loads(body)


def test_request_ids_differ(raw):
    ids = {raw.request({})[1]["x-amzn-requestid"] for _ in range(5)}
    assert len(ids) == 5


def test_keep_alive_serves_many_requests_on_one_connection(raw):
    assert raw.request({})[0] == 200
    sock = raw.conn.sock
    for _ in range(3):
        assert raw.request({})[0] == 200
    assert raw.conn.sock is sock


def test_error_body_and_headers(raw):
    status, headers, body = raw.request({"TableName": "missing-table"}, target="DynamoDB_20120810.DescribeTable")
    assert status == 400
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert int(headers["x-amz-crc32"]) == zlib.crc32(body) & 0xFFFFFFFF
    assert json.loads(body) == {"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
                                "message": "Requested resource not found: Table: missing-table not found"}


def test_malformed_json_is_serialization_exception(raw):
    status, _, body = raw.request(b'{"TableName": "x"')
    assert status == 400
    assert json.loads(body) == {"__type": "com.amazon.coral.service#SerializationException"}


def test_empty_body_is_serialization_exception(raw):
    status, _, body = raw.request(b"")
    assert status == 400
    assert json.loads(body)["__type"] == "com.amazon.coral.service#SerializationException"


def test_wrong_json_kind_of_member_is_serialization_exception(raw):
    status, _, body = raw.request({"TableName": 5}, target="DynamoDB_20120810.DescribeTable")
    assert status == 400
    assert json.loads(body) == {"__type": "com.amazon.coral.service#SerializationException",
                                "Message": "class java.lang.Short can not be converted to an String"}


@pytest.mark.parametrize("target", [
    "DynamoDB_20120810.NoSuchOperation", "DynamoDB_20111205.ListTables", "Foo.ListTables", "ListTables", "",
])
def test_unknown_target_is_unknown_operation_exception(raw, target):
    status, _, body = raw.request({}, target=target)
    assert status == 400
    assert json.loads(body)["__type"] == "com.amazon.coral.service#UnknownOperationException"


def test_missing_target_is_unknown_operation_exception(raw):
    status, _, body = raw.request({}, target=None)
    assert status == 400
    assert json.loads(body)["__type"] == "com.amazon.coral.service#UnknownOperationException"


def test_an_action_is_served_only_under_its_own_service_prefix(raw):
    """One endpoint serves DynamoDB and DynamoDB Streams, routed on the target prefix: a DynamoDB action
    under the Streams prefix is unknown there (each operation module declares its prefix)."""
    assert raw.request({}, target="DynamoDB_20120810.ListTables")[0] == 200
    status, _, body = raw.request({}, target="DynamoDBStreams_20120810.ListTables")
    assert status == 400
    assert json.loads(body)["__type"] == "com.amazon.coral.service#UnknownOperationException"


@pytest.mark.parametrize("content_type", ["application/json", "application/x-amz-json-1.0; charset=utf-8",
                                          "application/json;charset=UTF-8"])
def test_json_content_types_are_accepted(raw, content_type):
    assert raw.request({}, content_type=content_type)[0] == 200


def test_other_content_type_is_404(raw):
    status, _, body = raw.request({}, content_type="text/plain")
    assert status == 404
    assert body == b"<UnknownOperationException/>\n"


def test_non_post_is_404(raw):
    assert raw.request(b"", method="PUT")[0] == 404


def test_get_root_is_the_health_answer(raw):
    status, headers, body = raw.request(b"", method="GET", target=None, content_type=None)
    assert status == 200
    assert body == b"healthy: dynamodb.us-east-1.amazonaws.com "


def test_gzip_body(raw):
    status, _, body = raw.request(gzip.compress(b"{}"), headers={"Content-Encoding": "gzip"})
    assert status == 200 and "TableNames" in json.loads(body)


def test_concatenated_gzip_members(raw):
    data = gzip.compress(b'{"Lim') + gzip.compress(b'it": 5}')
    assert raw.request(data, headers={"Content-Encoding": "gzip"})[0] == 200


def test_deflate_body(raw):
    assert raw.request(zlib.compress(b"{}"), headers={"Content-Encoding": "deflate"})[0] == 200


@pytest.mark.parametrize("data, encoding", [
    (b"not gzip at all", "gzip"),
    (gzip.compress(b"{}")[:-5], "gzip"),
    (b"", "gzip"),
    (b"{}", "br"),
])
def test_bad_compressed_body_is_internal_server_error(raw, data, encoding):
    status, _, body = raw.request(data, headers={"Content-Encoding": encoding})
    assert status == 500
    assert json.loads(body)["__type"] == "com.amazon.coral.service#InternalServerError"


def test_gzip_bomb_past_16mb_is_rejected_like_dynamodb(raw):
    bomb = gzip.compress(b'{"a":"' + b"x" * (limits.MAX_HTTP_BODY + 10) + b'"}')
    assert len(bomb) < 100_000
    status, _, _ = raw.request(bomb, headers={"Content-Encoding": "gzip"})
    assert status == 500


def test_body_over_16mb_is_413(server):
    sock = socket.create_connection(("127.0.0.1", server.server.port))
    head = (f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET}\r\nContent-Type: application/x-amz-json-1.0\r\n"
            f"Content-Length: {limits.MAX_HTTP_BODY + 1}\r\n\r\n").encode()
    sock.sendall(head + b"{")
    answer = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_chunked_body_over_16mb_is_413(server):
    sock = socket.create_connection(("127.0.0.1", server.server.port))
    sock.sendall((f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET}\r\nContent-Type: application/x-amz-json-1.0"
                  "\r\nTransfer-Encoding: chunked\r\n\r\n").encode())
    chunk = b"x" * (1 << 20)
    for _ in range(20):              # keeps sending after the limit: the server drains, then answers
        sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
    answer = b""
    while True:
        data = sock.recv(65536)
        if not data:
            break
        answer += data
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_body_of_exactly_16mb_is_read(raw):
    body = b'{"Limit": 5' + b" " * (limits.MAX_HTTP_BODY - 12) + b"}"
    assert len(body) == limits.MAX_HTTP_BODY
    assert raw.request(body)[0] == 200


def test_pipelined_requests_are_answered_in_order(server):
    sock = socket.create_connection(("127.0.0.1", server.server.port))
    one = (f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {{}}\r\nContent-Type: application/x-amz-json-1.0\r\n"
           f"Content-Length: 2\r\n\r\n{{{{}}}}")
    requests = [one.format(TARGET), one.format("DynamoDB_20120810.Bogus"), one.format(TARGET)]
    sock.sendall("".join(requests).encode())
    data = b""
    while data.count(b"HTTP/1.1 ") < 3 or not data.endswith(b"}"):
        data += sock.recv(65536)
    sock.close()
    statuses = re.findall(rb"HTTP/1\.1 (\d+)", data)
    assert statuses == [b"200", b"400", b"200"]


def test_garbage_http_gets_400_and_close(server):
    sock = socket.create_connection(("127.0.0.1", server.server.port))
    sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
    answer = sock.recv(65536)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400 ")


def test_http_1_0_closes_after_the_answer(server):
    sock = socket.create_connection(("127.0.0.1", server.server.port))
    sock.sendall((f"POST / HTTP/1.0\r\nX-Amz-Target: {TARGET}\r\nContent-Type: application/x-amz-json-1.0\r\n"
                  "Content-Length: 2\r\n\r\n{}").encode())
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    assert data.startswith(b"HTTP/1.1 200 ") and b"Connection: close" in data


def test_tag_resource_answers_an_empty_body(raw, client, table_name, make_table):
    make_table(client, table_name)
    arn = client.describe_table(TableName=table_name)["Table"]["TableArn"]
    status, headers, body = raw.request({"ResourceArn": arn, "Tags": [{"Key": "k", "Value": "v"}]},
                                        target="DynamoDB_20120810.TagResource")
    assert (status, body, headers["content-length"], headers["x-amz-crc32"]) == (200, b"", "0", "0")
    status, _, body = raw.request({"ResourceArn": arn, "TagKeys": ["k"]}, target="DynamoDB_20120810.UntagResource")
    assert (status, body) == (200, b"")


def test_table_name_constraint_is_reported_before_an_invalid_value(raw):
    status, _, body = raw.request({"TableName": "a!", "Item": {"pk": {"NULL": False}}},
                                  target="DynamoDB_20120810.PutItem")
    assert status == 400
    assert json.loads(body)["message"] == (
        "1 validation error detected: Value 'a!' at 'tableName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")


def test_a_slow_client_does_not_block_others(server, raw):
    slow = socket.create_connection(("127.0.0.1", server.server.port))
    body = b'{"Limit": 5}'
    slow.sendall((f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET}\r\nContent-Type: application/x-amz-json-1.0"
                  f"\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body[:4])
    for _ in range(3):                       # the half-sent request holds nobody else up
        assert raw.request({})[0] == 200
    slow.sendall(body[4:])
    answer = slow.recv(65536)
    slow.close()
    assert answer.startswith(b"HTTP/1.1 200 ")


def test_many_connections_at_once(server):
    import threading
    from http.client import HTTPConnection
    statuses = []

    def worker():
        conn = HTTPConnection("127.0.0.1", server.server.port, timeout=30)
        for _ in range(10):
            conn.request("POST", "/", body=b"{}", headers={"X-Amz-Target": TARGET,
                                                            "Content-Type": "application/x-amz-json-1.0"})
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 400


def test_expect_100_continue_is_answered(server):
    sock = socket.create_connection(("127.0.0.1", server.server.port))
    sock.sendall((f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET}\r\nContent-Type: application/x-amz-json-1.0"
                  "\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n").encode())
    assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
    sock.sendall(b"{}")
    data = b""
    while not data.endswith(b"}"):
        data += sock.recv(65536)
    sock.close()
    assert data.startswith(b"HTTP/1.1 200 ")
