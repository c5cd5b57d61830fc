"""DynamoDB JSON <-> the native requests and responses of ``kvstore.operations``.

The operations take and return dicts whose member names are the wire names and
whose attribute values are native (``kvstore.types``).  Each operation module
declares *where* attribute values sit in its request and response (member
paths, ``REQUEST_VALUES`` / ``RESPONSE_VALUES``, see ``kvstore.operations``);
two small functions here walk them.  Everything that is not an attribute
value passes through untouched, so an operation gains a member without this
module changing.

It also does the JSON shape check DynamoDB's front end does before any
validation (a string where a list belongs -> SerializationException) and builds
error bodies from ``kvstore.errors`` classes.
"""

import base64
import json
import math
import os
import re
from datetime import date, datetime
from decimal import Decimal

from kvstore import _core
from kvstore._core import (
    from_wire, item_from_wire, item_json, item_to_wire, items_json, json_needs_stdlib, to_wire,
)
from kvstore.errors import SerializationException, ValidationException
from kvstore.operations import OPERATIONS, parse_path
from kvstore.server.shapes import check_nested, deep_members
from kvstore.types import Binary

__all__ = [
    "loads", "loads_request", "dumps", "decode_request", "encode_response", "dump_response", "error_body",
    "MEMBER_KINDS", "JSON_BACKEND",
]

# ------------------------------------------------------------------ JSON
# Two parsers behind one switch: orjson when it is installed (the ``server``
# extra; measured on a GetItem body: loads 0.6 us against 2.8 us, a 10-item
# Query response dumps in 3.8 us against 30 us), else the json module.
# ``KVSTORE_JSON=json`` (or ``KVSTORE_PURE_PYTHON=1``) selects the json module.
#
# The json module is the reference: whatever orjson does not accept, or might
# read differently, is parsed again by it, so both backends accept the same
# bodies, give the same values and raise the same errors.  orjson reads an
# integer beyond 64 bits as a float (json keeps it exact) and takes deeper
# nesting than json (whose limit depends on the stack): bodies with 19 digits in
# a row or nesting deeper than 500 go straight to json (``json_needs_stdlib``).
# orjson rejects lone surrogates in strings and infinite numbers, which json
# accepts: its error sends the body to json too.


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


_decoder = json.JSONDecoder(parse_constant=_reject_constant)
_encoder = json.JSONEncoder(separators=(",", ":"), default=lambda o: _json_default(o))


try:
    import orjson as _orjson
except ImportError:                   # pragma: no cover - orjson comes with the server extra
    _orjson = None


def _backend():
    choice = os.environ.get("KVSTORE_JSON", "").strip().lower()
    if _orjson is None or choice == "json" or (not choice and os.environ.get("KVSTORE_PURE_PYTHON")):
        return "json"
    return "orjson"


#: the JSON backend in use: "orjson" or "json"
JSON_BACKEND = _backend()


def _parse_json(body):
    """The json module's reading of a body; SerializationException when it is not JSON."""
    try:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray, memoryview)) else body
        return _decoder.decode(text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise SerializationException() from None


def _serialize_json(obj):
    """Compact ASCII JSON bytes (``\\u`` escapes keep lone surrogates encodable)."""
    return _encoder.encode(obj).encode("ascii")


if _orjson is not None:
    _orjson_loads = _orjson.loads
    _orjson_dumps = _orjson.dumps
    # datetimes go to _json_default (epoch seconds) rather than orjson's RFC 3339 text
    _ORJSON_OPTIONS = _orjson.OPT_PASSTHROUGH_DATETIME

    def _parse_orjson(body):
        if type(body) is bytes and not json_needs_stdlib(body):
            try:
                return _orjson_loads(body)
            except Exception:          # JSONDecodeError, RecursionError: the json module decides
                pass
        return _parse_json(body)

    def _serialize_orjson(obj):
        """Compact UTF-8 JSON bytes."""
        try:
            return _orjson_dumps(obj, default=_json_default, option=_ORJSON_OPTIONS)
        except TypeError:              # JSONEncodeError: lone surrogates, integers beyond 64 bits
            return _serialize_json(obj)

if JSON_BACKEND == "orjson":
    _parse, _serialize = _parse_orjson, _serialize_orjson
else:
    _parse, _serialize = _parse_json, _serialize_json
_ORJSON = JSON_BACKEND == "orjson"


def loads(body):
    """Parse a request body (bytes) into a JSON object; anything else is a SerializationException.

    DynamoDB answers unparsable JSON with a bare ``SerializationException`` (no message).
    """
    if _ORJSON and type(body) is bytes and not json_needs_stdlib(body):
        try:                            # _parse_orjson, without its call
            obj = _orjson_loads(body)
        except Exception:
            obj = _parse_json(body)
    else:
        obj = _parse(body)
    if type(obj) is not dict:
        raise SerializationException(_shape_message(obj, "map"))
    return obj


# A lone surrogate reaches a request only through the json module: it is an escape (``\\udcff``)
# whose pair is missing (UTF-8 bytes cannot encode one, and orjson refuses the escape).  A body read
# by the json module that holds a surrogate escape is "suspect": its strings are looked at once its
# JSON kinds were checked (handler: ``holds_lone_surrogate``); a valid pair only costs that look.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def loads_request(body):
    """``(loads(body), suspect)``: ``suspect`` when a string of the body may hold a lone surrogate."""
    if _ORJSON and type(body) is bytes and not json_needs_stdlib(body):
        try:
            obj = _orjson_loads(body)
        except Exception:
            obj = _parse_json(body)
        else:
            if type(obj) is not dict:
                raise SerializationException(_shape_message(obj, "map"))
            return obj, False
    else:
        obj = _parse(body)
    if type(obj) is not dict:
        raise SerializationException(_shape_message(obj, "map"))
    return obj, _SURROGATE_ESCAPE.search(bytes(body) if type(body) is not bytes else body) is not None


def dumps(obj):
    """Compact JSON bytes of a response body (UTF-8 with orjson, ASCII with the json module)."""
    return _serialize(obj)


def _json_default(o):
    """JSON for the non-JSON natives an operation may leave outside attribute values."""
    if isinstance(o, Decimal):
        return int(o) if o == o.to_integral_value() else float(o)
    if isinstance(o, datetime):
        return o.timestamp()                      # timestamps are epoch seconds on the wire
    if isinstance(o, date):
        return datetime(o.year, o.month, o.day).timestamp()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if isinstance(o, Binary):
        return base64.b64encode(o.value).decode("ascii")
    if isinstance(o, (bytes, bytearray)):
        return base64.b64encode(bytes(o)).decode("ascii")
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


# ------------------------------------------------------------------ top-level member kinds

# The JSON kind of every top-level request member of the DynamoDB and DynamoDB
# Streams APIs (one name never has two kinds across operations).  Unknown
# members pass through: DynamoDB ignores them.
_KINDS_BY_NAME = {
    "string": """BackupArn BackupName BulkOperationArn PerformanceTier SearchConditionExpression BackupType BillingMode BillingModeOverride ClientRequestToken
        ClientToken ConditionExpression ConditionalOperator ContributorInsightsAction
        ContributorInsightsMode ExclusiveStartBackupArn ExclusiveStartGlobalTableName
        ExclusiveStartShardId ExclusiveStartStreamArn ExclusiveStartTableName ExpectedRevisionId
        ExportArn ExportFormat ExportType FilterExpression GlobalTableBillingMode GlobalTableName
        GlobalTableSettingsReplicationMode GlobalTableSourceArn ImportArn IndexName
        InputCompressionType InputFormat KeyConditionExpression MultiRegionConsistency NextToken
        Policy ProjectionExpression RegionName ResourceArn ResourcePolicy ReturnConsumedCapacity
        ReturnItemCollectionMetrics ReturnValues ReturnValuesOnConditionCheckFailure S3Bucket
        S3BucketOwner S3Prefix S3SseAlgorithm S3SseKmsKeyId Select SequenceNumber ShardId
        ShardIterator ShardIteratorType SourceTableArn SourceTableName Statement StreamArn TableArn
        TableClass TableName TargetTableName UpdateExpression""",
    "boolean": """ConfirmRemoveSelfResourceAccess ConsistentRead DeletionProtectionEnabled
        ScanIndexForward UseLatestRestorableTime DisassociationProtectionEnabled""",
    "integer": """Limit MaxResults PageSize Segment TotalSegments GlobalTableProvisionedWriteCapacityUnits
        MaxWriteRequestUnits TopK""",
    "timestamp": "ExportTime RestoreDateTime TimeRangeLowerBound TimeRangeUpperBound Timestamp",
    "list": """AttributeDefinitions AttributesToGet GlobalSecondaryIndexOverride
        GlobalSecondaryIndexUpdates GlobalSecondaryIndexes GlobalTableGlobalSecondaryIndexSettingsUpdate
        GlobalTableWitnessUpdates KeySchema LocalSecondaryIndexOverride LocalSecondaryIndexes
        Parameters ReplicaSettingsUpdate ReplicaUpdates ReplicationGroup Statements TagKeys Tags
        TransactItems TransactStatements SearchVector VectorIndexOverride VectorIndexUpdates VectorIndexes""",
    "map": """AttributeUpdates ExclusiveStartKey Expected ExpressionAttributeNames
        ExpressionAttributeValues Item Key KeyConditions QueryFilter RequestItems ScanFilter""",
    "structure": """EnableKinesisStreamingConfiguration
        GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate IncrementalExportSpecification
        InputFormatOptions OnDemandThroughput OnDemandThroughputOverride
        PointInTimeRecoverySpecification ProvisionedThroughput ProvisionedThroughputOverride
        ProvisionedWriteCapacityAutoScalingUpdate S3BucketSource SSESpecification
        SSESpecificationOverride ShardFilter StreamSpecification TableCreationParameters
        TimeToLiveSpecification UpdateKinesisStreamingConfiguration WarmThroughput FilterSpecification
        InputS3Configuration OutputS3Configuration""",
}
MEMBER_KINDS = {name: kind for kind, names in _KINDS_BY_NAME.items() for name in names.split()}


def _java_number_class(v):
    if isinstance(v, float):
        return "java.lang.Double"
    if -32768 <= v <= 32767:
        return "java.lang.Short"
    if -2147483648 <= v <= 2147483647:
        return "java.lang.Integer"
    return "java.lang.Long"


def _shape_message(v, kind):
    """The text DynamoDB's (Java) deserializer gives for a JSON value of the wrong kind."""
    if type(v) is list:
        return "Start of list found where not expected"
    if type(v) is dict:
        return "Start of structure or map found where not expected."
    if kind == "list":
        return "Expected list or null"
    if kind == "map":
        return "Expected map or null"
    if kind == "structure":
        return "Expected null"
    if type(v) is bool:
        java = "java.lang.Boolean"
    elif type(v) is str:
        if kind == "boolean":
            return f"'{v.upper()}' can not be converted to an Boolean"
        java = "java.lang.String"
    else:
        java = _java_number_class(v)
    target = {"string": "String", "boolean": "Boolean", "integer": "Integer", "timestamp": "Date"}[kind]
    return f"class {java} can not be converted to an {target}"


#: exact JSON types allowed per kind (``type(v) in ...``: a bool is not an integer here)
_KIND_TYPES = {
    "string": (str,), "boolean": (bool,), "integer": (int, float), "timestamp": (int, float),
    "list": (list,), "map": (dict,), "structure": (dict,),
}
_MEMBER_TYPES = {name: _KIND_TYPES[kind] for name, kind in MEMBER_KINDS.items()}


def check_shape(body):
    """Drop ``null`` members (DynamoDB treats them as absent) and check the JSON kind of the rest."""
    absent = None
    for name, value in body.items():
        if value is None:
            absent = (absent or []) + [name]
            continue
        allowed = _MEMBER_TYPES.get(name)
        if allowed is not None and type(value) not in allowed:
            raise SerializationException(_shape_message(value, MEMBER_KINDS[name]))
        if type(value) is float and allowed is _KIND_TYPES["integer"]:
            if not math.isfinite(value):          # 1e400: json reads it as infinity
                raise SerializationException()
            body[name] = int(value)               # Java's deserializer truncates
    if absent:
        for name in absent:
            del body[name]
    return body


# ------------------------------------------------------------------ attribute-value paths

# Where attribute values sit is declared by each operation module
# (``REQUEST_VALUES`` / ``RESPONSE_VALUES``, see ``kvstore.operations``); the
# parsed paths are kept here per operation name, so a request costs one dict
# lookup as a table of this module would.
_REQUEST = {}
_RESPONSE = {}


def _paths(cache, operation, response):
    try:
        spec = OPERATIONS[operation]
    except KeyError:            # not an operation: nothing to convert
        paths = ()
    else:
        paths = spec.response_paths if response else spec.request_paths
    cache[operation] = paths
    return paths


#: attribute values inside the extra members of error bodies
ERROR_PATHS = ("Item:item", "CancellationReasons.[].Item:item")
_ERROR = tuple(parse_path(p) for p in ERROR_PATHS)


# ------------------------------------------------------------------ request: wire -> native

def _item_in(v, key):
    if type(v) is not dict:
        raise SerializationException(_shape_message(v, "map"))
    return item_from_wire(v)


def _value_in(v, key):
    return from_wire(v)


def _values_in(v, key):
    if type(v) is not list:
        raise SerializationException(_shape_message(v, "list"))
    return [from_wire(av) for av in v]


def _params_in(v, key):
    """PartiQL Parameters: PartiQL's number rules first (kvstore.partiql.parameters), then the values."""
    if type(v) is not list:
        raise SerializationException(_shape_message(v, "list"))
    from kvstore.partiql.parameters import check_wire, converted
    out = []
    for av in v:
        check_wire(av)
        out.append(converted(from_wire, av))
    return out


def _items_in(v, key):
    if type(v) is not list:
        raise SerializationException(_shape_message(v, "list"))
    return [_item_in(item, None) for item in v]


def _eav_in(v, key):
    """ExpressionAttributeValues: DynamoDB names the placeholder whose value is invalid."""
    if type(v) is not dict:
        raise SerializationException(_shape_message(v, "map"))
    out = {}
    for name, av in v.items():
        try:
            out[name] = from_wire(av)
        except ValidationException as e:
            raise ValidationException(
                f"ExpressionAttributeValues contains invalid value: {e.message} for key {name}") from None
    return out


# Inner messages DynamoDB passes through unprefixed for ExclusiveStartKey (reference 1.2).
_START_KEY_UNPREFIXED = ("numeric value", "Number overflow", "Number underflow", "significant digits",
                         "duplicates", "may not be empty", "should not be empty")


def _start_in(v, key):
    try:
        return _item_in(v, key)
    except ValidationException as e:
        if any(s in e.message for s in _START_KEY_UNPREFIXED):
            raise
        raise ValidationException("The provided starting key is invalid: " + e.message) from None


_IN = {"item": _item_in, "value": _value_in, "values": _values_in, "items": _items_in,
       "eav": _eav_in, "start": _start_in, "params": _params_in}


def _convert_in(node, steps, convert):
    """Replace, in place, the values at ``steps`` below ``node`` (a freshly parsed JSON tree)."""
    step, rest = steps[0], steps[1:]
    if step == "*":
        if type(node) is not dict:
            raise SerializationException(_shape_message(node, "map"))
        keys = list(node)
    elif step == "[]":
        if type(node) is not list:
            raise SerializationException(_shape_message(node, "list"))
        keys = range(len(node))
    else:
        if type(node) is not dict:
            raise SerializationException(_shape_message(node, "structure"))
        if step not in node:
            return
        keys = (step,)
    for key in keys:
        value = node[key]
        if value is None:
            if step not in ("*", "[]"):
                del node[key]                     # a null member is an absent member
                continue
        if rest:
            if value is not None:
                _convert_in(value, rest, convert)
        else:
            node[key] = convert(value, key)


# The usual request's members need no walk: each is a known member of the right JSON kind, not
# null, with nothing nested to check (shapes.deep_members) and attribute values, if any, in the
# member itself (Key, Item, ExpressionAttributeValues).  For such a body the checks below pass
# as they are, so decode_request only converts.  Per operation: ({member: exact types}, [(member,
# converter)] in the order of its paths).  Measured (GetItem, in-process): 0.8 -> 0.45 us.
_PLAIN = {}


def _plain(operation):
    paths = _REQUEST.get(operation)
    if paths is None:
        paths = _paths(_REQUEST, operation, False)
    excluded = {member for member, _ in deep_members(operation).items()}
    excluded.update(steps[0] for steps, kind in paths if len(steps) > 1)
    types = {}
    for name, kind in MEMBER_KINDS.items():
        if name not in excluded:
            # an integer member given as a float is changed by check_shape: not plain
            types[name] = (int,) if kind == "integer" else _KIND_TYPES[kind]
    plan = _PLAIN[operation] = (types, [(steps[0], _IN[kind]) for steps, kind in paths if len(steps) == 1])
    return plan


def decode_request(operation, body):
    """The native request of ``operation`` from its parsed JSON ``body`` (modified in place).

    Checks the JSON kinds of top-level members first, then of what sits below
    them (``kvstore.server.shapes``; SerializationException),
    then converts every attribute value (ValidationException / SerializationException
    from ``kvstore.types.from_wire``, wrapped as DynamoDB wraps them).
    """
    plain = _PLAIN.get(operation)
    if plain is None:
        plain = _plain(operation)
    types = plain[0]
    for name, value in body.items():
        allowed = types.get(name)
        if allowed is None or type(value) not in allowed:
            break
    else:
        for name, convert in plain[1]:
            if name in body:
                body[name] = convert(body[name], name)
        return body
    check_shape(body)
    check_nested(operation, body)
    paths = _REQUEST.get(operation)
    if paths is None:
        paths = _paths(_REQUEST, operation, False)
    for steps, kind in paths:
        name = steps[0]
        if name in body:
            if len(steps) == 1:                   # a top-level member (Key, Item, ...): no walk
                body[name] = _IN[kind](body[name], name)
            else:
                _convert_in(body, steps, _IN[kind])
    return body


# ------------------------------------------------------------------ response: native -> wire

def _items_out(items):
    return [item_to_wire(item) for item in items]


_OUT = {"item": item_to_wire, "items": _items_out, "value": to_wire,
        "values": lambda vs: [to_wire(v) for v in vs]}


def _convert_out(node, steps, convert):
    """A copy of ``node`` with the values at ``steps`` converted (the native response is not mutated)."""
    step, rest = steps[0], steps[1:]
    if step == "*":
        if type(node) is not dict:
            return node
        return {k: (_convert_out(v, rest, convert) if rest else convert(v)) for k, v in node.items()}
    if step == "[]":
        if type(node) is not list:
            return node
        return [(_convert_out(v, rest, convert) if rest else convert(v)) for v in node]
    if type(node) is not dict or node.get(step) is None:
        return node
    out = dict(node)
    out[step] = _convert_out(node[step], rest, convert) if rest else convert(node[step])
    return out


def encode_response(operation, response):
    """The JSON-ready body of ``operation``'s native ``response``."""
    if response is None:
        return {}
    copied = False
    paths = _RESPONSE.get(operation)
    if paths is None:
        paths = _paths(_RESPONSE, operation, True)
    for steps, kind in paths:
        name = steps[0]
        value = response.get(name)
        if value is None:
            continue
        if len(steps) == 1:                       # a top-level member (Item, Items, ...): no walk
            if not copied:
                response = dict(response)
                copied = True
            response[name] = _OUT[kind](value)
        else:
            response = _convert_out(response, steps, _OUT[kind])
    return response


# Operations whose attribute values in a response all sit in top-level members:
# their items are written as JSON text straight from the native values (the
# compiled core's item_json / items_json, no intermediate dicts), the other
# members by the JSON backend.  Measured (callgrind, instructions): a GetItem
# response 11.7k -> 8.1k, a 10-item Query response 68k -> 37k.
_TOP_LEVEL = {}                 # operation -> {member: kind}, or None when some value sits deeper
_MEMBER_KEYS = {}               # member -> b'"member":'


def _top_level(operation):
    paths = _RESPONSE.get(operation)
    if paths is None:
        paths = _paths(_RESPONSE, operation, True)
    members = None
    if paths and all(len(steps) == 1 and kind in ("item", "items") for steps, kind in paths):
        members = {steps[0]: kind for steps, kind in paths}
        for name in members:
            _MEMBER_KEYS[name] = f'"{name}":'.encode()
    _TOP_LEVEL[operation] = members
    return members


_ITEM_TEXT = _core.implementation == "cython"     # the pure twins would be slower than encode + dumps


def dump_response(operation, response):
    """JSON bytes of ``operation``'s native ``response``: ``dumps(encode_response(...))``."""
    if response is None:
        return _serialize({})
    members = _TOP_LEVEL.get(operation, _top_level)
    if members is _top_level:
        members = _top_level(operation)
    if members is not None and _ITEM_TEXT:
        try:
            parts = []
            rest = None
            for name, value in response.items():
                kind = members.get(name)
                if kind is None or value is None:
                    if rest is None:
                        rest = {}
                    rest[name] = value
                else:
                    parts.append(_MEMBER_KEYS[name] + (item_json(value) if kind == "item" else items_json(value)))
            if rest is not None:
                if not parts:
                    return _serialize(rest)
                parts.append(_serialize(rest)[1:-1])
            return b"{" + b",".join(parts) + b"}"
        except Exception:       # a lone surrogate, a value outside the native model: the general path
            pass
    return _serialize(encode_response(operation, response))


def error_body(error):
    """``{"__type": "<namespace>#<Code>", "message": ..., <extra>}`` of a kvstore error.

    DynamoDB sends a bare ``__type`` when it has no message (SerializationException
    for unparsable JSON); extra members (``Item``, ``CancellationReasons``) carry
    attribute values, converted like any response.
    """
    body = {"__type": error.wire_type}
    if error.message:
        body[error.message_member] = error.message
    if error.extra:
        extra = error.extra
        for steps, kind in _ERROR:
            if steps[0] in extra:
                extra = _convert_out(extra, steps, _OUT[kind])
        body.update(extra)
    return body
