"""GetItem: read one item by its full key.

``Item`` is absent when there is no such item; a projection matching nothing
of an existing item gives ``{"Item": {}}``.  Reads always see the latest
committed version, so ConsistentRead changes only the reported capacity.
"""

from kvstore import _core
from kvstore.capacity import read_item
from kvstore.errors import DynamoDBError
from kvstore.expressions import compile_request, legacy
from kvstore.operations.common import capacity, check_request, get_table, key_from_request, read_units

READ_ONLY = True
REQUEST_VALUES = ("Key:item",)
RESPONSE_VALUES = ("Item:item",)
ENUMS = ("ReturnConsumedCapacity",)
#: packed bytes below which an item is surely one read unit: DynamoDB's size is at most four
#: times the packed size (common.check_item_size), so 1 KB packed is at most 4 KB
_ONE_UNIT_PACKED = 1024


def check_members(request):
    """What DynamoDB checks before any attribute value: the table name, that Key is present and the enums."""
    check_request(request, ENUMS, required=(("Key", "key"),))


def run(engine, request, metered=True):
    """``metered=False``: a PartiQL statement runs this GetItem and counts its capacity itself
    (through its own ConsumedCapacity), so no units go to ``engine.metrics`` from here."""
    if len(request) == 2:
        # TableName + Key, the common case: no enum to check, no projection to compile.  Measured
        # (bench/results/micro_operations.md, callgrind): 17.0k instructions a call against 20.5k.
        projection = consistent = None
        check_request(request, required=(("Key", "key"),))
    else:
        check_members(request)
        projection = compile_projection(request, "GetItem")
        consistent = request.get("ConsistentRead")
    table = get_table(engine, request["TableName"])
    row_key = key_from_request(table, request["Key"])
    packed = table.rows.get(row_key)
    meter = engine.capacity
    if meter is not None:      # admitted and charged by the item's DynamoDB size (or throttled)
        read_item(meter, table, table.meta, row_key, packed, consistent)
    response = {}
    if packed is not None:
        item = _core.unpack_item(packed)
        response["Item"] = item if projection is None else projection.apply(item)
    mode = request.get("ReturnConsumedCapacity")
    if mode in ("TOTAL", "INDEXES"):
        # reference 7: the item's DynamoDB size (not its stored size), whatever the projection
        size = _core.packed_item_size(packed) if packed is not None else 0
        units = read_units(size, bool(request.get("ConsistentRead")))
        response["ConsumedCapacity"] = capacity(table.name, units, mode)
        if size > 4096 and metered and engine.metrics is not None:
            engine.metrics.consumed_read(table.name, units - (1.0 if request.get("ConsistentRead") else 0.5))
    elif packed is not None and len(packed) > _ONE_UNIT_PACKED and metered and engine.metrics is not None:
        # kvstore.metrics counts every GetItem's first read unit itself, from the request alone
        # (GetItem is the hottest call: bench/results/metrics.md); only an item that may be larger
        # than 4 KB by DynamoDB's measure costs the size, and reports the units past the first.
        # An item packed in at most 1 KB is at most 4 KB (common.check_item_size).
        units = read_units(_core.item_size(item), bool(request.get("ConsistentRead")))
        first = 1.0 if request.get("ConsistentRead") else 0.5
        if units > first:
            engine.metrics.consumed_read(table.name, units - first)
    return response


def run_key(engine, table_name, key):
    """The native response of a Python API ``Table.get_item(Key=key)`` whose key is plainly valid, or
    None when the general path must answer (``run`` on the converted request, which raises).

    The conversion of the call's Python values (``Database.native_request``), boto3's parameter
    check and ``run``'s checks are one step here: ``request_row_key`` validates the key against the
    schema and builds its row key in one core call, and a key of ASCII strings is its own native
    form, so it is not converted first (the key was encoded twice).  Enforced capacity admits and
    charges it as ``run`` does.  Anything else (a number or binary key value, a missing table,
    metrics or injected faults around the call) takes the general path."""
    if engine.metrics is not None or engine.faults is not None or key.__class__ is not dict:
        return None
    table = engine.tables.get(table_name)
    if table is None:
        return None
    for value in key.values():
        if value.__class__ is not str or not value.isascii():
            return None
    schema = table.schema
    row_key = _core.request_row_key(key, schema.hash_name, schema.hash_type, schema.range_name, schema.range_type)
    if row_key is None:
        return None
    packed = table.rows.get(row_key)
    meter = engine.capacity
    if meter is not None:      # a Key-only call is eventually consistent
        try:
            read_item(meter, table, table.meta, row_key, packed, None)
        except DynamoDBError as e:       # raised as the general path raises it (api.Database._call)
            e._operation_name = "GetItem"
            raise
    return {} if packed is None else {"Item": _core.unpack_item(packed)}


def compile_projection(request, operation):
    """ProjectionExpression or legacy AttributesToGet of a read (None: whole items)."""
    legacy.check_mixing(operation, request)
    if request.get("AttributesToGet") is not None:
        return legacy.attributes_to_get(request["AttributesToGet"])
    names = request.get("ExpressionAttributeNames")
    text = request.get("ProjectionExpression")
    if text is None and names is None:
        return None
    return compile_request(operation=operation, projection=text, names=names).projection
