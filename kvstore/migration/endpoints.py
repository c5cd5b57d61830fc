"""One interface over both ends of a migration: a kvstore directory or a DynamoDB endpoint.

``open_side(spec)`` takes what the user typed after ``--from`` / ``--to``:

* ``http://host:port`` or ``https://...``: any DynamoDB-compatible endpoint (DynamoDB,
  ScyllaDB Alternator, ``kvstore serve``, DynamoDB Local), reached with boto3; credentials
  and region come from the usual AWS configuration (environment, ``AWS_PROFILE``, config
  files) exactly as boto3 finds them; ``--region`` / ``--profile`` override;
* ``aws``: DynamoDB itself, at boto3's default endpoint for the configured region;
* anything else: a kvstore database directory, opened in process (``kvstore.open``).

Both sides hand out and take items in kvstore's native value model (``kvstore.types``), so
copy, verify and replicate are written once.  An endpoint's typed values are converted
here, at the edge (``from_boto`` / ``to_boto``: boto3's low-level shapes, where B is bytes).

Retries: botocore's own retries are switched off and :func:`with_backoff` is the only retry
layer, so throttling, ``UnprocessedItems`` and dropped connections all follow one policy:
exponential backoff with full jitter (sleep a uniform time in ``[0, min(cap, base * 2**n)]``).
"""

import os
import random
import time
from decimal import Decimal

from kvstore.types import Binary, number

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


# ------------------------------------------------------------------ values at the boto3 edge

def from_boto(av):
    """Native value of a boto3 low-level AttributeValue (numbers canonicalised)."""
    (tag, v), = av.items()
    if tag == "S":
        return v
    if tag == "N":
        return number(v)
    if tag == "B":
        return Binary(v)
    if tag == "BOOL":
        return v
    if tag == "NULL":
        return None
    if tag == "M":
        return {k: from_boto(x) for k, x in v.items()}
    if tag == "L":
        return [from_boto(x) for x in v]
    if tag == "SS":
        return set(v)
    if tag == "NS":
        return {number(x) for x in v}
    if tag == "BS":
        return {Binary(x) for x in v}
    raise MigrationError(f"unknown attribute type {tag!r} from the endpoint")


def to_boto(value):
    """boto3 low-level AttributeValue of a native value."""
    t = type(value)
    if t is str:
        return {"S": value}
    if t is Decimal:
        return {"N": format(value, "f")}
    if t is bool:
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if t is dict:
        return {"M": {k: to_boto(v) for k, v in value.items()}}
    if t is list:
        return {"L": [to_boto(v) for v in value]}
    if t is Binary:
        return {"B": value.value}
    for member in value:
        if type(member) is str:
            return {"SS": list(value)}
        if type(member) is Decimal:
            return {"NS": [format(v, "f") for v in value]}
        return {"BS": [v.value for v in value]}
    raise MigrationError(f"cannot send {value!r}")


def item_from_boto(item):
    return {k: from_boto(v) for k, v in item.items()}


def item_to_boto(item):
    return {k: to_boto(v) for k, v in item.items()}


def _requests_to_boto(requests):
    out = []
    for r in requests:
        if "PutRequest" in r:
            out.append({"PutRequest": {"Item": item_to_boto(r["PutRequest"]["Item"])}})
        else:
            out.append({"DeleteRequest": {"Key": item_to_boto(r["DeleteRequest"]["Key"])}})
    return out


def _requests_from_boto(requests):
    out = []
    for r in requests:
        if "PutRequest" in r:
            out.append({"PutRequest": {"Item": item_from_boto(r["PutRequest"]["Item"])}})
        else:
            out.append({"DeleteRequest": {"Key": item_from_boto(r["DeleteRequest"]["Key"])}})
    return out


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

    def raw(self, client):
        """A :class:`RawJson` caller at ``client``'s endpoint, region and credentials."""
        return RawJson(client, self._session)

    def client_for(self, service):
        """A boto3 client of ``service`` (``"dynamodbstreams"``) at the same endpoint, credentials and region."""
        return self._session.client(service, endpoint_url=self._url, config=self._config)

    def scan(self, table, segment, total, start=None, consistent=True, limit=None):
        request = {"TableName": table, "Segment": segment, "TotalSegments": total, "ConsistentRead": consistent}
        if limit:
            request["Limit"] = limit
        if start is not None:
            request["ExclusiveStartKey"] = item_to_boto(start)
        page = with_backoff(self.client.scan, **request)
        last = page.get("LastEvaluatedKey")
        return [item_from_boto(i) for i in page["Items"]], (item_from_boto(last) if last else None)

    def write(self, table, requests):
        page = with_backoff(self.client.batch_write_item, RequestItems={table: _requests_to_boto(requests)})
        return _requests_from_boto(page.get("UnprocessedItems", {}).get(table, []))

    def get(self, table, key):
        page = with_backoff(self.client.get_item, TableName=table, Key=item_to_boto(key), ConsistentRead=True)
        return item_from_boto(page["Item"]) if "Item" in page else None

    def put(self, table, item):
        with_backoff(self.client.put_item, TableName=table, Item=item_to_boto(item))

    def delete(self, table, key):
        with_backoff(self.client.delete_item, TableName=table, Key=item_to_boto(key))

    def close(self):
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
    """One DynamoDB JSON call signed with botocore's SigV4, its answer parsed with ``json``.

    For the hot read of replication (GetRecords): botocore's response parser walks the model for
    every attribute value of every image, about 600 us per record of ~200 bytes, which capped a
    replicator near 1,000 records/s; here the body is parsed once and the values are converted by
    ``kvstore.types.item_from_wire`` (binary arrives base64-encoded, as on the wire).  Errors
    become botocore ClientErrors with the same ``response["Error"]["Code"]``.
    """

    def __init__(self, client, session):
        import urllib3
        self.url = client.meta.endpoint_url
        self.region = client.meta.region_name
        self.prefix = client.meta.service_model.metadata["targetPrefix"]
        self.signing_name = client.meta.service_model.signing_name
        self.credentials = session.get_credentials()
        self.pool = urllib3.PoolManager(maxsize=4, timeout=urllib3.Timeout(connect=10, read=60))

    def call(self, operation, body):
        import json
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.exceptions import ClientError
        data = json.dumps(body).encode()
        request = AWSRequest(method="POST", url=self.url, data=data, headers={
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"{self.prefix}.{operation}"})
        SigV4Auth(self.credentials.get_frozen_credentials(), self.signing_name, self.region).add_auth(request)
        answer = self.pool.request("POST", self.url, body=data, headers=dict(request.headers.items()))
        parsed = json.loads(answer.data) if answer.data else {}
        if answer.status != 200:
            code = str(parsed.get("__type", "")).rpartition("#")[2] or f"HTTP{answer.status}"
            message = parsed.get("message") or parsed.get("Message") or ""
            raise ClientError({"Error": {"Code": code, "Message": message},
                               "ResponseMetadata": {"HTTPStatusCode": answer.status}}, operation)
        return parsed
