"""BatchWriteItem: up to 25 puts and deletes over one or more tables.

Every request is validated before any is applied, so one bad request fails
the whole batch and writes nothing.  Each write is atomic on its own; the
batch is not a transaction.  Everything is processed unless capacity is
enforced (``kvstore.capacity``): then the writes a table, GSI or key has no
capacity for come back in ``UnprocessedItems``, and only a batch of which
nothing could be written is throttled as a whole.
"""

from kvstore import _core, limits
from kvstore.capacity import Throttle
from kvstore.errors import ValidationException, constraint_error
from kvstore.operations.common import (
    capacity, check_attribute_names, check_collection_size, check_constraints, check_index_keys, check_item_size, enum_violations,
    get_table, item_collection_metrics, key_from_item, key_from_request, table_name_violations, write_units_of,
)
from kvstore.operations.writing import index_write_units

WRITES_ITEMS = True
REQUEST_VALUES = ("RequestItems.*.[].PutRequest.Item:item", "RequestItems.*.[].DeleteRequest.Key:item")
RESPONSE_VALUES = ("UnprocessedItems.*.[].PutRequest.Item:item", "UnprocessedItems.*.[].DeleteRequest.Key:item",
                   "ItemCollectionMetrics.*.[].ItemCollectionKey:item")
ENUMS = ("ReturnConsumedCapacity", "ReturnItemCollectionMetrics")
NO_MATCH = "The provided key element does not match the schema"


def run(engine, request):
    items = request.get("RequestItems")
    if not items:
        raise ValidationException("The requestItems parameter is required for BatchWriteItem")
    violations = enum_violations(request, ENUMS)
    total = 0
    for name, requests in items.items():
        violations += table_name_violations(name, f"requestItems.{name}.member.tableName")
        total += len(requests) if isinstance(requests, list) else 0
        if not requests:
            violations.append(("[]", f"requestItems.{name}.member",
                               "Member must have length greater than or equal to 1"))
    if total > limits.MAX_BATCH_WRITE_REQUESTS:
        rendered = "{" + ", ".join(f"{n}=[...]" for n in items) + "}"
        violations.append((rendered, "requestItems",
                           "Map value must satisfy constraint: [Member must have length less than or equal to 25, "
                           "Member must have length greater than or equal to 1]"))
    check_constraints(violations)
    plan = []
    for name, requests in items.items():
        for r in requests:
            if not isinstance(r, dict) or len([k for k in ("PutRequest", "DeleteRequest") if r.get(k)]) != 1:
                raise ValidationException("Invalid BatchWriteItem request: each WriteRequest must contain exactly "
                                          "one of PutRequest or DeleteRequest")
    seen = set()
    for name, requests in items.items():
        table = get_table(engine, name)
        for r in requests:
            if r.get("PutRequest"):
                item = r["PutRequest"].get("Item")
                if item is None:
                    raise constraint_error([(None, "requestItems.member.putRequest.item", "Member must not be null")])
                check_attribute_names(item)
                packed = _core.pack_item(item)
                check_item_size(item, packed=packed)
                row_key = _put_key(table, item)
                check_index_keys(table, item)
                plan.append((table, row_key, item, packed, len(packed)))
            else:
                key = r["DeleteRequest"].get("Key")
                row_key = key_from_request(table, key)
                plan.append((table, row_key, key, None, 0))
            if (name, row_key) in seen:
                raise ValidationException("Provided list of item keys contains duplicates")
            seen.add((name, row_key))
    units = {}
    index_units = {}                      # table name -> {(index name, kind): units}
    mode = request.get("ReturnConsumedCapacity")
    mode = mode if mode in ("TOTAL", "INDEXES") else None
    metrics = {}
    meter = engine.capacity
    unprocessed = {}
    throttled = None
    ticket = None
    last_lsn = 0            # the log is written in order: one wait for the last record covers the batch
    for table, row_key, source, packed, size in plan:
        if meter is not None:
            ticket = meter.try_write(table, row_key)
            if ticket.__class__ is Throttle:      # DynamoDB hands the excess back for the caller to retry
                throttled = throttled or ticket
                request_back = {"PutRequest": {"Item": source}} if packed is not None else {"DeleteRequest": {"Key": source}}
                unprocessed.setdefault(table.name, []).append(request_back)
                continue
        lock = table.lock_for(row_key)
        if engine.contention is not None:  # held, so a TransactGetItems on the item conflicts
            lock = engine.contention.write(table, row_key, lock, check=False)
        with lock:
            old_packed = table.rows.get(row_key)
            old = _core.unpack_item(old_packed) if (table.indexes and old_packed is not None) else None
            new = source if packed is not None else None
            if packed is None and old_packed is None:
                lsn = 0
            else:
                check_collection_size(table, row_key, old_packed, packed)
                lsn = _core.commit_usual(engine, [(table, row_key, old, new, packed)])
                last_lsn = lsn or last_lsn
        if mode is not None:
            item_units = write_units_of(old_packed, packed, new)     # DynamoDB sizes (reference 7)
            units[table.name] = units.get(table.name, 0) + item_units
            if table.indexes:                     # each index entry written or removed (reference 7)
                charged = index_units.setdefault(table.name, {})
                for index, u in index_write_units(table, row_key, old, new).items():
                    charged[index] = charged.get(index, 0) + u
                    units[table.name] += u
        if ticket is not None:
            meter.charge_write(ticket, old_packed, packed, old, new)
        if request.get("ReturnItemCollectionMetrics") == "SIZE":
            m = item_collection_metrics(table, source)
            if m is not None:
                metrics.setdefault(table.name, []).append(m)
    _core.wait_usual(engine, last_lsn)
    if throttled is not None and len(unprocessed) == len(items) and \
            sum(map(len, unprocessed.values())) == len(plan):
        raise throttled.error()        # nothing could be processed: DynamoDB throttles the whole call
    response = {"UnprocessedItems": unprocessed}
    if mode is not None:
        response["ConsumedCapacity"] = [capacity(n, u, mode, index_units.get(n), read=False)
                                        for n, u in units.items()]
    if metrics:
        response["ItemCollectionMetrics"] = metrics
    return response


def _put_key(table, item):
    try:
        return key_from_item(table, item)
    except ValidationException as e:
        if e.message.startswith("One or more parameter values were invalid: Missing the key") or \
                "Type mismatch for key" in e.message:
            raise ValidationException(NO_MATCH) from None
        raise
