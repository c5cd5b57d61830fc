"""One interface over both ends of a migration: a kvstore directory or a DynamoDB endpoint.

``open_side(spec)`` takes what the user typed after ``--from`` / ``--to``:

* ``http://host:port`` or ``https://...``: any DynamoDB-compatible endpoint (DynamoDB,
  ScyllaDB Alternator, ``kvstore serve``, DynamoDB Local); credentials
  and region come from the usual AWS configuration (environment, ``AWS_PROFILE``, config
  files) exactly as boto3 finds them; ``--region`` / ``--profile`` override;
* ``aws``: DynamoDB itself, at boto3's default endpoint for the configured region;
* anything else: a kvstore database directory, opened in process (``kvstore.open``).

Both sides hand out and take items in kvstore's native value model (``kvstore.types``), so
copy, verify and replicate are written once.  The control plane (DescribeTable, CreateTable,
UpdateTimeToLive, the Streams API's shard listing) goes through a boto3 client; the data path
(Scan, BatchWriteItem, GetItem, PutItem, DeleteItem, GetRecords) through :class:`RawJson`, its
bodies written by the compiled core's ``item_json`` and its answers read by ``item_from_wire``:
the same DynamoDB JSON the server speaks, at a third of boto3's CPU per item.

Retries: botocore's own retries are switched off and :func:`with_backoff` is the only retry
layer, so throttling, ``UnprocessedItems`` and dropped connections all follow one policy:
exponential backoff with full jitter (sleep a uniform time in ``[0, min(cap, base * 2**n)]``).
"""

import json
import os
import random
import time

from kvstore._core import item_from_wire, item_json

try:
    from orjson import loads as _loads      # the server extra's parser; DynamoDB's answers are plain JSON
except ImportError:                         # pragma: no cover - orjson comes with kvstore[server]
    _loads = json.loads

#: error codes worth retrying (DynamoDB's throttling and transient server errors)
RETRYABLE_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "LimitExceededException", "TransactionInProgressException",
})
BACKOFF_BASE = 0.05
BACKOFF_CAP = 5.0
MAX_ATTEMPTS = 12


class MigrationError(Exception):
    """A migration cannot go on; the message says why (the CLI prints it and exits 1)."""


def backoff_delay(attempt, base=BACKOFF_BASE, cap=BACKOFF_CAP):
    """Full jitter: a uniform delay in ``[0, min(cap, base * 2**attempt)]``."""
    return random.uniform(0, min(cap, base * (2 ** attempt)))


def error_code(exc):
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def reportable(exc):
    """Whether a CLI prints ``exc`` as a one-line failure: an endpoint's error or botocore's, not a bug."""
    return error_code(exc) is not None or type(exc).__module__.startswith("botocore")


def _transient(exc):
    if error_code(exc) in RETRYABLE_CODES:
        return True
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError, HTTPClientError
    except ImportError:
        return False
    return isinstance(exc, (BotoConnectionError, HTTPClientError))


def with_backoff(call, *args, attempts=MAX_ATTEMPTS, sleep=time.sleep, **kwargs):
    """``call(*args, **kwargs)``, retrying throttling and transient errors with full jitter."""
    for attempt in range(attempts):
        try:
            return call(*args, **kwargs)
        except Exception as exc:
            if not _transient(exc) or attempt == attempts - 1:
                raise
            sleep(backoff_delay(attempt))


# ------------------------------------------------------------------ values on the wire

def _requests_from_wire(requests):
    out = []
    for r in requests:
        if "PutRequest" in r:
            out.append({"PutRequest": {"Item": item_from_wire(r["PutRequest"]["Item"])}})
        else:
            out.append({"DeleteRequest": {"Key": item_from_wire(r["DeleteRequest"]["Key"])}})
    return out


def _json_string(text):
    return json.dumps(text).encode()


# ------------------------------------------------------------------ the two sides

class Side:
    """What copy, verify and replicate need from one end.  Items are native dicts.

    ``client`` is a boto3-shaped client for the control plane (DescribeTable, CreateTable,
    UpdateTimeToLive, ...: shapes without attribute values are the same on both sides).
    """

    kind = "?"

    def __init__(self, spec):
        self.spec = spec

    def __str__(self):
        return f"{self.kind} {self.spec}"

    def list_tables(self):
        names, start = [], None
        while True:
            page = self.call("list_tables", **({"ExclusiveStartTableName": start} if start else {}))
            names.extend(page["TableNames"])
            start = page.get("LastEvaluatedTableName")
            if not start:
                return names

    def describe(self, table):
        """The table's description, or None when it does not exist."""
        try:
            return self.call("describe_table", TableName=table)["Table"]
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise

    def ttl(self, table):
        """``TimeToLiveDescription`` (``{}`` when the side has no TTL support)."""
        try:
            return self.call("describe_time_to_live", TableName=table).get("TimeToLiveDescription", {})
        except AttributeError:
            return {}

    def call(self, method, **kwargs):
        return with_backoff(getattr(self.client, method), **kwargs)

    def close(self):
        pass


class DirectorySide(Side):
    """A kvstore database directory, opened in this process."""

    kind = "kvstore directory"

    def __init__(self, spec, create=False, durability="batch"):
        super().__init__(spec)
        if not create and not os.path.isdir(spec):
            raise MigrationError(f"{spec}: no such kvstore directory")
        import kvstore
        from kvstore.operations import execute
        self.db = kvstore.open(spec, durability=durability)
        self.engine = self.db.engine
        self.client = self.db.meta.client
        self._execute = execute

    def scan(self, table, segment, total, start=None, consistent=True, limit=None):
        request = {"TableName": table, "Segment": segment, "TotalSegments": total, "ConsistentRead": consistent}
        if limit:
            request["Limit"] = limit
        if start is not None:
            request["ExclusiveStartKey"] = start
        page = self._execute(self.engine, "Scan", request)
        return page["Items"], page.get("LastEvaluatedKey")

    def write(self, table, requests):
        """BatchWriteItem (at most 25 requests); returns the unprocessed ones."""
        page = with_backoff(self._execute, self.engine, "BatchWriteItem", {"RequestItems": {table: requests}})
        return page.get("UnprocessedItems", {}).get(table, [])

    def get(self, table, key):
        return self._execute(self.engine, "GetItem", {"TableName": table, "Key": key, "ConsistentRead": True}).get("Item")

    def put(self, table, item):
        self._execute(self.engine, "PutItem", {"TableName": table, "Item": item})

    def delete(self, table, key):
        self._execute(self.engine, "DeleteItem", {"TableName": table, "Key": key})

    def close(self):
        self.db.close()


class EndpointSide(Side):
    """A DynamoDB-compatible endpoint, through boto3."""

    kind = "endpoint"

    def __init__(self, spec, region=None, profile=None, pool=16):
        super().__init__(spec)
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise MigrationError("an endpoint needs boto3: pip install 'kvstore[migrate]'") from None
        session = boto3.session.Session(profile_name=profile, region_name=region)
        if session.region_name is None:
            session = boto3.session.Session(profile_name=profile, region_name="us-east-1")
        # parameter_validation off: botocore re-checks every attribute value of every batch against
        # the model (a third of the copy's client CPU); the endpoint validates the request anyway
        config = Config(retries={"total_max_attempts": 1}, max_pool_connections=pool,
                        connect_timeout=10, read_timeout=60, parameter_validation=False)
        self._session, self._config, self._url = session, config, (None if spec == "aws" else spec)
        self.client = self.client_for("dynamodb")
        # the data path (Scan, BatchWriteItem, GetItem, PutItem, DeleteItem) skips botocore's serializer
        # and parser: see RawJson
        self.wire = RawJson(self.client, session, pool=pool)

    def raw(self, client):
        """A :class:`RawJson` caller at ``client``'s endpoint, region and credentials."""
        return RawJson(client, self._session)

    def client_for(self, service):
        """A boto3 client of ``service`` (``"dynamodbstreams"``) at the same endpoint, credentials and region."""
        return self._session.client(service, endpoint_url=self._url, config=self._config)

    def scan(self, table, segment, total, start=None, consistent=True, limit=None):
        body = [b'{"TableName":', _json_string(table), b',"Segment":%d,"TotalSegments":%d,"ConsistentRead":%s'
                % (segment, total, b"true" if consistent else b"false")]
        if limit:
            body.append(b',"Limit":%d' % limit)
        if start is not None:
            body += [b',"ExclusiveStartKey":', item_json(start)]
        body.append(b"}")
        page = with_backoff(self.wire.send, "Scan", b"".join(body))
        last = page.get("LastEvaluatedKey")
        return [item_from_wire(i) for i in page["Items"]], (item_from_wire(last) if last else None)

    def write(self, table, requests):
        """BatchWriteItem (at most 25 requests), its JSON written directly; returns the unprocessed ones."""
        parts = []
        for r in requests:
            if "PutRequest" in r:
                parts.append(b'{"PutRequest":{"Item":' + item_json(r["PutRequest"]["Item"]) + b"}}")
            else:
                parts.append(b'{"DeleteRequest":{"Key":' + item_json(r["DeleteRequest"]["Key"]) + b"}}")
        body = b'{"RequestItems":{' + _json_string(table) + b":[" + b",".join(parts) + b"]}}"
        page = with_backoff(self.wire.send, "BatchWriteItem", body)
        return _requests_from_wire(page.get("UnprocessedItems", {}).get(table, []))

    def get(self, table, key):
        body = b'{"TableName":' + _json_string(table) + b',"Key":' + item_json(key) + b',"ConsistentRead":true}'
        page = with_backoff(self.wire.send, "GetItem", body)
        return item_from_wire(page["Item"]) if "Item" in page else None

    def put(self, table, item):
        body = b'{"TableName":' + _json_string(table) + b',"Item":' + item_json(item) + b"}"
        with_backoff(self.wire.send, "PutItem", body)

    def delete(self, table, key):
        body = b'{"TableName":' + _json_string(table) + b',"Key":' + item_json(key) + b"}"
        with_backoff(self.wire.send, "DeleteItem", body)

    def close(self):
        self.wire.close()
        self.client.close()


def is_endpoint(spec):
    return spec == "aws" or spec.startswith(("http://", "https://"))


def open_side(spec, create=False, region=None, profile=None, pool=16, durability="batch"):
    """A :class:`Side` for ``spec`` (see the module docstring); ``create`` makes a missing directory."""
    if is_endpoint(spec):
        return EndpointSide(spec, region=region, profile=profile, pool=pool)
    return DirectorySide(spec, create=create, durability=durability)


def write_all(side, table, requests, sleep=time.sleep, max_idle=MAX_ATTEMPTS):
    """Write every request, resending ``UnprocessedItems`` with full-jitter backoff.

    Gives up (MigrationError) only after ``max_idle`` consecutive rounds that wrote nothing.
    """
    pending, idle = list(requests), 0
    while pending:
        left = side.write(table, pending)
        if len(left) >= len(pending):
            idle += 1
            if idle >= max_idle:
                raise MigrationError(f"{side}: {table}: {len(left)} items stayed unprocessed after {idle} retries")
        else:
            idle = 0
        pending = left
        if pending:
            sleep(backoff_delay(idle))


class RawJson:
    """DynamoDB JSON calls signed with botocore's SigV4, their answers parsed with orjson or ``json``.

    For the hot paths of copy (Scan, BatchWriteItem) and replication (GetRecords).  botocore's
    response parser walks the model for every attribute value, about 600 us per stream record of
    ~200 bytes (which capped a replicator near 1,000 records/s), and its serializer cost the copier
    most of its 108 us per item (bench/results/migration.md); here request bodies are written by
    the compiled core's ``item_json`` and answers parsed once, their values converted by
    ``kvstore.types.item_from_wire`` (binary travels base64-encoded, as on the wire).  Errors become
    botocore ClientErrors with the same ``response["Error"]["Code"]``, so :func:`with_backoff` and
    the callers treat both paths alike; a dropped connection is botocore's ``ConnectionError``.
    """

    def __init__(self, client, session, pool=4):
        import urllib3
        self.url = client.meta.endpoint_url
        self.region = client.meta.region_name
        self.prefix = client.meta.service_model.metadata["targetPrefix"]
        self.signing_name = client.meta.service_model.signing_name
        self.credentials = session.get_credentials()
        if self.credentials is None:
            raise MigrationError(f"{self.url}: no AWS credentials found (environment, profile or config files, as "
                                 "boto3 looks for them); any key and secret do for a kvstore serve without a "
                                 "credentials file")
        self.pool = urllib3.PoolManager(maxsize=max(1, pool), retries=False,
                                        timeout=urllib3.Timeout(connect=10, read=60))

    def call(self, operation, body):
        return self.send(operation, json.dumps(body).encode())

    def send(self, operation, data):
        """POST the JSON bytes ``data`` as ``operation``; the parsed answer, or a ClientError."""
        import urllib3
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError
        request = AWSRequest(method="POST", url=self.url, data=data, headers={
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"{self.prefix}.{operation}"})
        SigV4Auth(self.credentials.get_frozen_credentials(), self.signing_name, self.region).add_auth(request)
        try:
            answer = self.pool.request("POST", self.url, body=data, headers=dict(request.headers.items()))
        except urllib3.exceptions.HTTPError as e:
            raise BotoConnectionError(error=e) from e
        try:
            parsed = _loads(answer.data) if answer.data else {}
        except ValueError:
            parsed = {}
        if answer.status != 200:
            code = str(parsed.get("__type", "")).rpartition("#")[2] or f"HTTP{answer.status}"
            if answer.status >= 500 and code.startswith("HTTP"):
                code = "InternalServerError"
            message = parsed.get("message") or parsed.get("Message") or ""
            raise ClientError({"Error": {"Code": code, "Message": message},
                               "ResponseMetadata": {"HTTPStatusCode": answer.status}}, operation)
        return parsed

    def close(self):
        self.pool.clear()
