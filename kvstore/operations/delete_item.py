"""DeleteItem: remove one item by key, optionally under a condition.

Deleting a missing item succeeds (and changes nothing).  ReturnValues may only
be NONE or ALL_OLD.
"""

from kvstore import _core
from kvstore.capacity import admit_write, charge_write
from kvstore.operations.common import check_request, get_table, key_from_request
from kvstore.operations.writing import check_return_values, compile_write, condition_failed, finish

WRITES_ITEMS = True
REQUEST_VALUES = ("Key:item", "ExpressionAttributeValues:eav", "Expected.*.Value:value",
                  "Expected.*.AttributeValueList:values")
RESPONSE_VALUES = ("Attributes:item", "ItemCollectionMetrics.ItemCollectionKey:item")
ENUMS = ("ReturnValues", "ReturnConsumedCapacity", "ReturnItemCollectionMetrics",
         "ReturnValuesOnConditionCheckFailure")


def check_members(request):
    """What DynamoDB checks before any attribute value: the table name, that Key is present and the enums."""
    check_request(request, ENUMS, required=(("Key", "key"),))


def run(engine, request):
    check_members(request)
    return_values = check_return_values(request, ("NONE", "ALL_OLD"))
    condition, _ = compile_write(request, "DeleteItem")
    table = get_table(engine, request["TableName"])
    key = request["Key"]
    row_key = key_from_request(table, key)
    meter = engine.capacity
    ticket = admit_write(meter, table, table.meta, row_key) if meter is not None else None
    lock = table.lock_for(row_key)
    if engine.contention is not None:      # kvstore.contention: fail fast on an item a transaction holds
        lock = engine.contention.write(table, row_key, lock)
    with lock:
        old_packed = table.rows.get(row_key)
        old = _core.unpack_item(old_packed) if old_packed is not None else None
        if condition is not None and not condition.evaluate(old):
            if ticket is not None:         # a failed conditional write is charged as if it had written
                charge_write(meter, ticket, old_packed, None, old, None)
            raise condition_failed(old, request, table, old_packed, None, row_key)
        lsn = _core.commit_usual(engine, [(table, row_key, old, None, None)]) if old_packed is not None else 0
    _core.wait_usual(engine, lsn)
    if ticket is not None:
        charge_write(meter, ticket, old_packed, None, old, None)
    response = {}
    if return_values == "ALL_OLD" and old is not None:
        response["Attributes"] = old
    finish(response, request, table, key, old_packed, None, old, row_key)
    return response
