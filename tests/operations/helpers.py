"""Face-neutral helpers of the per-operation suite.

The tests talk to a database object shaped like boto3's DynamoDB resource
(``db.create_table``, ``db.Table(name)``, ``db.batch_write_item``, ...) and
inspect errors only through ``e.response["Error"]``, so the same tests run
against kvstore's embedded API, the in-process boto3 hook and the HTTP server.
"""

import contextlib
import decimal
import time
import uuid

import pytest

import kvstore

try:  # boto3 faces raise botocore's ClientError with the same code and message
    from botocore.exceptions import ClientError as _BotoClientError
    ERROR_TYPES = (kvstore.errors.DynamoDBError, _BotoClientError)
except ImportError:  # pragma: no cover
    ERROR_TYPES = (kvstore.errors.DynamoDBError,)


def unique_name(prefix="t"):
    """A table name no other test uses (faces may share one server)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# -- errors --------------------------------------------------------------------

def error_code(e):
    return e.response["Error"]["Code"]


def error_message(e):
    return e.response["Error"]["Message"]


def check_error(e, code, message=None, *, contains=None, startswith=None, endswith=None):
    """Assert that ``e`` is DynamoDB error ``code`` with the given message.

    ``message`` is compared exactly; ``contains`` (a string or a list of
    strings), ``startswith`` and ``endswith`` pin the parts the reference pins
    when it gives only part of a text.
    """
    assert isinstance(e, ERROR_TYPES), f"not a DynamoDB error: {type(e).__name__}: {e}"
    actual_code, actual_message = error_code(e), error_message(e)
    assert actual_code == code, f"expected {code}, got {actual_code}: {actual_message}"
    if type(e).__name__ != "ClientError":       # kvstore classes and botocore's modelled ones
        assert type(e).__name__ == code
    if message is not None:
        assert actual_message == message
    if contains is not None:
        for part in [contains] if isinstance(contains, str) else contains:
            assert part in actual_message, f"{part!r} not in {actual_message!r}"
    if startswith is not None:
        assert actual_message.startswith(startswith), f"{actual_message!r} does not start with {startswith!r}"
    if endswith is not None:
        assert actual_message.endswith(endswith), f"{actual_message!r} does not end with {endswith!r}"
    return e


def assert_error(excinfo_or_callable, code, message=None, **parts):
    """Check an error from a ``pytest.raises`` ExceptionInfo, an exception, or a callable that must raise.

    Works for kvstore's exceptions and botocore's ClientError alike (both carry
    ``.response["Error"]["Code"/"Message"]``).  Returns the exception.
    """
    if isinstance(excinfo_or_callable, pytest.ExceptionInfo):
        e = excinfo_or_callable.value
    elif isinstance(excinfo_or_callable, BaseException):
        e = excinfo_or_callable
    else:
        with pytest.raises(ERROR_TYPES) as excinfo:
            excinfo_or_callable()
        e = excinfo.value
    return check_error(e, code, message, **parts)


@contextlib.contextmanager
def raises(code, message=None, **parts):
    """``with raises("ValidationException", "text") as excinfo:`` -- assert_error as a block."""
    with pytest.raises(ERROR_TYPES) as excinfo:
        yield excinfo
    check_error(excinfo.value, code, message, **parts)


def validation(message=None, **parts):
    return raises("ValidationException", message, **parts)


@contextlib.contextmanager
def wrong_type(db, parameter=None):
    """A member of the wrong type: the embedded API raises what boto3 raises before sending
    (``ParamValidationError``, kvstore.params); faces that send the request (boto3 with
    ``parameter_validation=False``, the wire) get DynamoDB's SerializationException.
    ``parameter`` is botocore's name of the member (``TimeToLiveSpecification.Enabled``)."""
    if isinstance(db, kvstore.api.Database):
        with pytest.raises(kvstore.errors.ParamValidationError) as excinfo:
            yield excinfo
        text = str(excinfo.value)
        assert text.startswith("Parameter validation failed:\n"), text
        if parameter is not None:
            assert f"Invalid type for parameter {parameter}, " in text, text
    else:
        with raises("SerializationException") as excinfo:
            yield excinfo


def cancellation_codes(e):
    return [r["Code"] for r in e.response["CancellationReasons"]]


def same_item(actual, expected):
    """An item from an error body: native (kvstore) or DynamoDB JSON (boto3 leaves error bodies raw)."""
    if actual == expected:
        return True
    from boto3.dynamodb.types import TypeSerializer
    s = TypeSerializer()
    return actual == {k: s.serialize(v) for k, v in expected.items()}


def number_rejected(call, message):
    """A number DynamoDB refuses: ValidationException ``message`` from the service, or boto3's
    Decimal context refusing it client-side (decimal.Inexact/Rounded) before sending."""
    try:
        call()
    except ERROR_TYPES as e:
        check_error(e, "ValidationException", message)
    except decimal.DecimalException:
        pass
    else:
        pytest.fail("the number was accepted")


# -- tables --------------------------------------------------------------------

def key_schema(hash_key, range_key=None):
    """KeySchema and AttributeDefinitions for ``("name", "S")`` pairs."""
    keys = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    defs = {hash_key[0]: hash_key[1]}
    if range_key is not None:
        keys.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
        defs[range_key[0]] = range_key[1]
    return keys, defs


def index(name, hash_key, range_key=None, projection="ALL", non_key=None):
    """A GSI/LSI definition; returns (spec, attribute definitions it needs)."""
    keys, defs = key_schema(hash_key, range_key)
    proj = {"ProjectionType": projection}
    if non_key is not None:
        proj["NonKeyAttributes"] = list(non_key)
    return {"IndexName": name, "KeySchema": keys, "Projection": proj}, defs


def create_table(db, name=None, hash_key=("pk", "S"), range_key=None, gsis=(), lsis=(), **extra):
    """Create a PAY_PER_REQUEST table and return its Table resource.

    ``gsis``/``lsis`` are results of :func:`index`.
    """
    name = name or unique_name()
    keys, defs = key_schema(hash_key, range_key)
    request = {"TableName": name, "KeySchema": keys, "BillingMode": "PAY_PER_REQUEST"}
    for member, indexes in (("GlobalSecondaryIndexes", gsis), ("LocalSecondaryIndexes", lsis)):
        if indexes:
            request[member] = [spec for spec, _ in indexes]
            for _, index_defs in indexes:
                defs.update(index_defs)
    request["AttributeDefinitions"] = [{"AttributeName": n, "AttributeType": t} for n, t in defs.items()]
    request.update(extra)
    table = db.create_table(**request)
    table.wait_until_exists()
    return table


#: boto3 Table attribute -> DescribeTable member, for :func:`describe`.
_DESCRIPTION = {
    "table_name": "TableName", "table_status": "TableStatus", "table_arn": "TableArn", "table_id": "TableId",
    "key_schema": "KeySchema", "attribute_definitions": "AttributeDefinitions",
    "creation_date_time": "CreationDateTime", "provisioned_throughput": "ProvisionedThroughput",
    "billing_mode_summary": "BillingModeSummary", "table_size_bytes": "TableSizeBytes",
    "item_count": "ItemCount", "global_secondary_indexes": "GlobalSecondaryIndexes",
    "local_secondary_indexes": "LocalSecondaryIndexes", "stream_specification": "StreamSpecification",
    "latest_stream_label": "LatestStreamLabel", "latest_stream_arn": "LatestStreamArn",
    "sse_description": "SSEDescription", "table_class_summary": "TableClassSummary",
    "deletion_protection_enabled": "DeletionProtectionEnabled",
}


def describe(table):
    """The table's DescribeTable ``Table`` member, read through the boto3 Table resource's attributes
    (``table.reload()`` then ``table.table_status`` ...); absent members are left out."""
    table.reload()
    out = {}
    for attribute, member in _DESCRIPTION.items():
        value = getattr(table, attribute)
        if value is not None:
            out[member] = value
    return out


def gsi_description(table, name):
    for gsi in describe(table).get("GlobalSecondaryIndexes", ()):
        if gsi["IndexName"] == name:
            return gsi
    return None


def wait_for_index(table, name, deadline_seconds=30):
    """Poll DescribeTable until GSI ``name`` is ACTIVE (a liveness bound, not a timing assertion)."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        gsi = gsi_description(table, name)
        assert gsi is not None, f"index {name} disappeared"
        if gsi["IndexStatus"] == "ACTIVE":
            return gsi
        assert time.monotonic() < deadline, f"index {name} still {gsi['IndexStatus']}"
        time.sleep(0.005)


# -- reading everything ----------------------------------------------------------

def scan_all(table, **kwargs):
    """Every item of a Scan, following LastEvaluatedKey; returns (items, pages)."""
    items, pages = [], 0
    while True:
        page = table.scan(**kwargs)
        pages += 1
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items, pages
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def query_all(table, **kwargs):
    items, pages = [], 0
    while True:
        page = table.query(**kwargs)
        pages += 1
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items, pages
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def keys_of(items, *names):
    return sorted(tuple(item[n] for n in names) for item in items)


def as_epoch(value):
    """CreationDateTime and friends: epoch seconds (wire, kvstore) or datetime (boto3's parser)."""
    import datetime
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return float(value)


# -- transactions on any face ------------------------------------------------------------------

def transact_write(db, **kwargs):
    """``db.transact_write_items`` with native values (kvstore's embedded API); a boto3 resource has no
    such method, but its ``meta.client`` (de)serialises native values for every operation."""
    if hasattr(db, "transact_write_items"):
        return db.transact_write_items(**kwargs)
    return db.meta.client.transact_write_items(**kwargs)


def transact_get(db, **kwargs):
    """``db.transact_get_items`` (native values), or the boto3 resource's client equivalent."""
    if hasattr(db, "transact_get_items"):
        return db.transact_get_items(**kwargs)
    return db.meta.client.transact_get_items(**kwargs)

