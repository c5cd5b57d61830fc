"""BatchGetItem: up to 100 items by key from one or more tables.

Missing items are left out; item order is unspecified.  Responses stop at
16 MB, and the keys left over come back in ``UnprocessedKeys`` with their
table's original parameters, as DynamoDB does.  So do the keys a table or key
has no read capacity for when capacity is enforced (``kvstore.capacity``);
when no key at all can be read the call is throttled as a whole.
"""

from kvstore import _core, limits
from kvstore.capacity import Throttle
from kvstore.errors import NO_VALUE_SHOWN, ValidationException, constraint_error
from kvstore.operations.common import (
    capacity, check_constraints, enum_violations, get_table, key_from_request, read_units, table_name_violations,
)
from kvstore.operations.get_item import compile_projection

READ_ONLY = True
REQUEST_VALUES = ("RequestItems.*.Keys:items",)
RESPONSE_VALUES = ("Responses.*:items", "UnprocessedKeys.*.Keys:items")
ENUMS = ("ReturnConsumedCapacity",)


def run(engine, request):
    items = request.get("RequestItems")
    if not items:
        raise ValidationException("The requestItems parameter is required for BatchGetItem")
    violations = enum_violations(request, ENUMS)
    total = 0
    for name, spec in items.items():
        violations += table_name_violations(name, f"requestItems.{name}.member.tableName")
        keys = spec.get("Keys") if isinstance(spec, dict) else None
        if keys is None:
            violations.append((None, f"requestItems.{name}.member.keys", "Member must not be null"))
            continue
        if len(keys) > limits.MAX_BATCH_GET_KEYS:
            raise constraint_error([(NO_VALUE_SHOWN, f"RequestItems.{name}.member.Keys",
                                     "Member must have length less than or equal to 100")])
        if not keys:
            violations.append(("[]", f"requestItems.{name}.member.keys",
                               "Member must have length greater than or equal to 1"))
        total += len(keys)
    check_constraints(violations)
    if total > limits.MAX_BATCH_GET_KEYS:
        raise ValidationException("Too many items requested for the BatchGetItem call")
    plans = []
    for name, spec in items.items():
        projection = compile_projection(spec, "BatchGetItem")
        table = get_table(engine, name)
        row_keys = []
        seen = set()
        for key in spec["Keys"]:
            row_key = key_from_request(table, key)
            if row_key in seen:
                raise ValidationException("Provided list of item keys contains duplicates")
            seen.add(row_key)
            row_keys.append((row_key, key))
        plans.append((name, spec, table, projection, row_keys))
    responses = {}
    unprocessed = {}
    units = {}
    budget = limits.MAX_BATCH_RESPONSE_SIZE
    meter = engine.capacity
    throttled = None
    processed = 0
    for name, spec, table, projection, row_keys in plans:
        found = responses.setdefault(name, [])
        consistent = bool(spec.get("ConsistentRead"))
        held_back = []
        for i, (row_key, key) in enumerate(row_keys):
            if meter is not None:
                ticket = meter.try_read(table, None, row_key)
                if ticket.__class__ is Throttle:      # DynamoDB hands the excess back for the caller to retry
                    throttled = throttled or ticket
                    held_back.append(key)
                    continue
            packed = table.rows.get(row_key)
            size = len(packed) if packed else 0
            if size > budget:
                held_back += [k for _, k in row_keys[i:]]
                break
            budget -= size
            processed += 1
            # reference 7: GetItem's units per item, by the item's DynamoDB size (1 KB packed is at
            # most 4 KB, one unit whatever its exact size); the 16 MB budget is on the stored size
            if size > 1024:
                size = _core.packed_item_size(packed)
            units[name] = units.get(name, 0) + read_units(size, consistent)
            if meter is not None:
                meter.charge_read(ticket, size, consistent)
            if packed is not None:
                item = _core.unpack_item(packed)
                found.append(item if projection is None else projection.apply(item))
        if held_back:
            unprocessed[name] = dict(spec, Keys=held_back)
    if throttled is not None and not processed:
        raise throttled.error()        # nothing could be read: DynamoDB throttles the whole call
    response = {"Responses": responses, "UnprocessedKeys": unprocessed}
    mode = request.get("ReturnConsumedCapacity")
    if mode in ("TOTAL", "INDEXES"):
        response["ConsumedCapacity"] = [capacity(n, u, mode) for n, u in units.items()]
    return response
