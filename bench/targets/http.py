"""Raw keep-alive HTTP to a DynamoDB-compatible endpoint: every request is
pre-built (request line, headers, SigV4 signature and JSON body as one bytes
object) before the timed loop, so a timed operation is one ``sendall``, one
response read and a ``json.loads`` - the least a client can do.

The signature is real SigV4 (botocore's signer; dummy credentials unless
given), made at preparation time, seconds before use: well inside the
service's 15-minute clock-skew window.  The connection is written by hand on
purpose: its cost is part of every latency measured through it (see
bench/README.md, "The raw HTTP client").
"""

import json
import socket
import time
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .base import ConditionFailed, Session, Target
from .dynamo import wire_item

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_loads = json.loads


class WireError(Exception):
    def __init__(self, status, code, message):
        super().__init__("%s %s: %s" % (status, code, message))
        self.status, self.code, self.message = status, code, message


class Signer:
    """AWS Signature Version 4 for service ``dynamodb``: botocore's ``SigV4Auth``, headers out."""

    def __init__(self, host, region, access_key, secret_key, token=None):
        self.host = host
        self.url = "http://%s/" % host
        self.auth = SigV4Auth(Credentials(access_key, secret_key, token), "dynamodb", region)

    def headers(self, target, body):
        """The headers of a signed POST of ``body`` (Host first, as sent; Content-Length is the caller's)."""
        request = AWSRequest("POST", self.url, data=body, headers={
            "Host": self.host, "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target})
        self.auth.add_auth(request)
        return list(request.headers.items())


class Connection:
    """One keep-alive HTTP/1.1 connection; bytes in, (status, body) out."""

    def __init__(self, host, port):
        self.address = (host, port)
        self.sock = None
        self.buf = b""

    def _connect(self):
        self.sock = socket.create_connection(self.address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def roundtrip(self, request):
        if self.sock is None:
            self._connect()
        try:
            self.sock.sendall(request)
            return self._response()
        except (ConnectionError, _Closed):
            # The server closed an idle keep-alive connection: retry once.
            self.close()
            self._connect()
            self.sock.sendall(request)
            return self._response()

    def _recv(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise _Closed()
        self.buf += chunk

    def _response(self):
        """(status, body) of the next response; the head is searched as bytes, not parsed into lines."""
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            self._recv()
        head = self.buf[:end + 2].lower()          # each header line ends with \r\n
        self.buf = self.buf[end + 4:]
        status = int(head[9:12])                   # "http/1.1 200 ok"
        length = _header(head, b"\r\ncontent-length:")
        encoding = _header(head, b"\r\ntransfer-encoding:")
        close = _header(head, b"\r\nconnection:") == b"close"
        if encoding is not None and b"chunked" in encoding:
            body = self._chunked()
        elif length is not None:
            length = int(length)
            while len(self.buf) < length:
                self._recv()
            body, self.buf = self.buf[:length], self.buf[length:]
        else:
            body = self.buf
            try:
                while True:
                    self._recv()
            except _Closed:
                body = self.buf
            close = True
        if close:
            self.close()
        return status, body

    def _chunked(self):
        body = b""
        while True:
            while b"\r\n" not in self.buf:
                self._recv()
            line, _, self.buf = self.buf.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            while len(self.buf) < size + 2:
                self._recv()
            body += self.buf[:size]
            self.buf = self.buf[size + 2:]
            if size == 0:
                return body


class _Closed(Exception):
    pass


def _header(head, name):
    """The value of header ``name`` (lower-case, with its leading CRLF and colon) in a lower-cased head."""
    i = head.find(name)
    if i < 0:
        return None
    i += len(name)
    return head[i:head.find(b"\r\n", i)].strip()


class WireClient:
    """Builds signed requests and checks responses for one endpoint."""

    def __init__(self, endpoint, options):
        parts = urlsplit(endpoint)
        if parts.scheme != "http":
            raise ValueError("raw HTTP targets speak plain http:// only (use the boto3 target for https)")
        self.host_header = parts.netloc
        self.address = (parts.hostname, parts.port or 80)
        self.signer = Signer(
            self.host_header, options.get("region") or "us-east-1",
            options.get("aws_access_key_id") or "bench", options.get("aws_secret_access_key") or "bench",
            options.get("aws_session_token"))

    def connection(self):
        return Connection(*self.address)

    def build(self, operation, request):
        body = _dumps(request).encode()
        headers = self.signer.headers("DynamoDB_20120810." + operation, body)
        head = "POST / HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n" % (
            "".join("%s: %s\r\n" % h for h in headers), len(body))
        return head.encode() + body

    @staticmethod
    def check(status, body):
        data = _loads(body) if body else {}
        if status != 200:
            code = str(data.get("__type", "")).rpartition("#")[2] or "HTTP%d" % status
            if code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
                raise ConditionFailed(code)
            raise WireError(status, code, data.get("message") or data.get("Message") or "")
        return data

    def call(self, conn, operation, request):
        return self.check(*conn.roundtrip(self.build(operation, request)))


class RawHttpSession(Session):
    def __init__(self, client, tables):
        self.client = client
        self.conn = client.connection()
        self.items = tables["items"]
        self.users = tables["usertable"]
        self.scan_from = None
        build = client.build
        self.build = build

    def close(self):
        self.conn.close()

    def _do(self, request):
        status, body = self.conn.roundtrip(request)
        return self.client.check(status, body)

    # items -----------------------------------------------------------------
    def prepare_get(self, pk, sk):
        return self.build("GetItem", {"TableName": self.items, "Key": {"pk": {"S": pk}, "sk": {"S": sk}}})

    op_get = _do

    def prepare_put(self, item):
        return self.build("PutItem", {"TableName": self.items, "Item": wire_item(item)})

    op_put = _do

    def prepare_update_conditional(self, pk, sk):
        return self.build("UpdateItem", {
            "TableName": self.items,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": "SET cnt = cnt + :one",
            "ConditionExpression": "attribute_exists(pk) AND cnt < :max",
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":max": {"N": str(10**12)}},
        })

    op_update_conditional = _do

    def prepare_query(self, pk, sk, limit):
        return self.build("Query", {
            "TableName": self.items,
            "KeyConditionExpression": "pk = :p AND sk >= :s",
            "ExpressionAttributeValues": {":p": {"S": pk}, ":s": {"S": sk}},
            "Limit": limit,
        })

    op_query = _do

    def op_scan_page(self, limit):
        request = {"TableName": self.items, "Limit": limit}
        if self.scan_from is not None:
            request["ExclusiveStartKey"] = self.scan_from
        page = self._do(self.build("Scan", request))
        self.scan_from = page.get("LastEvaluatedKey")
        return page

    def prepare_batch_write(self, items):
        return self.build("BatchWriteItem", {
            "RequestItems": {self.items: [{"PutRequest": {"Item": wire_item(i)}} for i in items]}})

    def op_batch_write(self, request):
        unprocessed = self._do(request).get("UnprocessedItems")
        while unprocessed:
            unprocessed = self._do(self.build("BatchWriteItem", {"RequestItems": unprocessed})).get(
                "UnprocessedItems")

    def prepare_transact(self, a, b):
        def update(key, expression):
            return {"Update": {
                "TableName": self.items,
                "Key": {"pk": {"S": key[0]}, "sk": {"S": key[1]}},
                "UpdateExpression": expression,
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }}

        return self.build("TransactWriteItems", {
            "TransactItems": [update(a, "SET cnt = cnt - :one"), update(b, "SET cnt = cnt + :one")]})

    op_transact = _do

    def prepare_gsi_query(self, grp, limit):
        return self.build("Query", {
            "TableName": self.items,
            "IndexName": "by_group",
            "KeyConditionExpression": "grp = :g",
            "ExpressionAttributeValues": {":g": {"S": grp}},
            "Limit": limit,
        })

    op_gsi_query = _do

    # usertable -------------------------------------------------------------
    def prepare_read(self, key):
        return self.build("GetItem", {"TableName": self.users, "Key": {"ycsb_key": {"S": key}}})

    op_read = _do

    def prepare_update(self, key, field, value):
        return self.build("UpdateItem", {
            "TableName": self.users,
            "Key": {"ycsb_key": {"S": key}},
            "UpdateExpression": "SET %s = :v" % field,
            "ExpressionAttributeValues": {":v": {"S": value}},
        })

    op_update = _do

    def prepare_insert(self, key, record):
        return self.build("PutItem", {"TableName": self.users, "Item": wire_item(record)})

    op_insert = _do

    def prepare_scan(self, key, length):
        return self.build("Scan", {"TableName": self.users, "Limit": length,
                                   "ExclusiveStartKey": {"ycsb_key": {"S": key}}})

    op_scan = _do

    def prepare_rmw(self, key, field, value):
        return self.prepare_read(key), self.prepare_update(key, field, value)

    def op_rmw(self, pair):
        self._do(pair[0])
        self._do(pair[1])


class RawHttpTarget(Target):
    kind = "endpoint"
    remote = True

    def __init__(self, workdir, options=None, endpoint=None, name="endpoint-http", prefix="kvbench_",
                 kind="endpoint", description=None):
        super().__init__(workdir, options)
        self.endpoint = endpoint
        self.name = name
        self.kind = kind
        self.description = description or "raw keep-alive HTTP, pre-built signed requests -> %s" % endpoint
        self.durability = "whatever the endpoint provides"
        self.client = WireClient(endpoint, self.options)
        self.tables = {"items": prefix + "items", "usertable": prefix + "usertable"}
        self.owned = set()

    def shared_key(self):
        return self.endpoint

    def _wait(self, conn, name, gone):
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                status = self.client.call(conn, "DescribeTable", {"TableName": name})["Table"]["TableStatus"]
            except WireError as exc:
                if exc.code == "ResourceNotFoundException" and gone:
                    return
                raise
            if not gone and status == "ACTIVE":
                return
            time.sleep(0.2)
        raise TimeoutError("table %s did not become %s" % (name, "deleted" if gone else "ACTIVE"))

    def setup(self, data):
        name = self.tables[data.name]
        conn = self.client.connection()
        try:
            try:
                self.client.call(conn, "DeleteTable", {"TableName": name})
                self._wait(conn, name, gone=True)
            except WireError as exc:
                if exc.code != "ResourceNotFoundException":
                    raise
            self.client.call(conn, "CreateTable", data.create_table_kwargs(name))
            self._wait(conn, name, gone=False)
        finally:
            conn.close()
        self.owned.add(name)

    def load(self, data, records):
        name = self.tables[data.name]
        conn = self.client.connection()
        batch = []

        def flush():
            request = {name: [{"PutRequest": {"Item": wire_item(r)}} for r in batch]}
            while request:
                request = self.client.call(conn, "BatchWriteItem", {"RequestItems": request}).get("UnprocessedItems")

        try:
            for r in records:
                batch.append(r)
                if len(batch) == 25:
                    flush()
                    batch = []
            if batch:
                flush()
        finally:
            conn.close()

    def attach(self, data):
        pass

    def session(self):
        return RawHttpSession(self.client, self.tables)

    def close(self, clean=True):
        if self.owned and not self.options.get("keep_tables"):
            conn = self.client.connection()
            for name in self.owned:
                try:
                    self.client.call(conn, "DeleteTable", {"TableName": name})
                except Exception:
                    pass
            conn.close()
        self.owned.clear()

    def info(self):
        return {"endpoint": self.endpoint, "client": "raw socket HTTP/1.1 keep-alive"}
