"""UpdateItem: edit an item's attributes in place (an upsert), optionally under a condition.

Every right-hand side reads the item as it was before the update.  An update
of a missing item creates it from the key plus the changes, except an update
that only removes, which creates nothing.  No update at all creates an empty
(key-only) item.
"""

from kvstore import _core
from kvstore.capacity import admit_write, charge_write
from kvstore.operations.common import (
    _VALID_NAMES, check_collection_size, check_index_keys, check_item_size, check_request, get_table, key_from_request,
)
from kvstore.operations.writing import check_return_values, compile_write, condition_failed, finish

WRITES_ITEMS = True
REQUEST_VALUES = ("Key:item", "AttributeUpdates.*.Value:value", "ExpressionAttributeValues:eav",
                  "Expected.*.Value:value", "Expected.*.AttributeValueList:values")
RESPONSE_VALUES = ("Attributes:item", "ItemCollectionMetrics.ItemCollectionKey:item")
ENUMS = ("ReturnValues", "ReturnConsumedCapacity", "ReturnItemCollectionMetrics",
         "ReturnValuesOnConditionCheckFailure")
RETURN_VALUES = ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW")


def check_members(request):
    """What DynamoDB checks before any attribute value: the table name, that Key is present and the enums."""
    check_request(request, ENUMS, required=(("Key", "key"),))


def run(engine, request):
    name = request.get("TableName")
    # the usual request: a table name found valid before, a Key, no enum member (nothing for
    # check_members to report, ReturnValues NONE, and nothing for finish to add to the response)
    usual = (name.__class__ is str and name in _VALID_NAMES and request.get("Key") is not None
             and request.keys().isdisjoint(ENUMS))
    if usual:
        return_values = "NONE"
    else:
        check_members(request)
        return_values = check_return_values(request, RETURN_VALUES)
    condition, update = compile_write(request, "UpdateItem", update=True)
    table = get_table(engine, request["TableName"])
    key = request["Key"]
    row_key = key_from_request(table, key)
    if update is not None:
        update.check_keys(table.schema.names, tuple(table.index_key_types()))
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
        new = compute_new_item(table, key, old, update)
        lsn = 0
        packed = old_packed
        if new is not None and not _core.same_value(new, old):     # True and 1 differ (== says they do not)
            packed = _core.pack_item(new)
            check_item_size(new, "Item size to update has exceeded the maximum allowed size", packed)
            check_index_keys(table, new, updating=True)
            check_collection_size(table, row_key, old_packed, packed)
            lsn = _core.commit_usual(engine, [(table, row_key, old, new, packed)])
    _core.wait_usual(engine, lsn)
    if ticket is not None:
        charge_write(meter, ticket, old_packed, packed if new is not None else None, old, new)
    if usual:
        return {}
    response = {}
    attributes = returned_attributes(return_values, update, old, new)
    if attributes:
        response["Attributes"] = attributes
    finish(response, request, table, key, old_packed, new, old, row_key)
    return response


def compute_new_item(table, key, old, update):
    """The item after ``update`` (None when nothing is created)."""
    if update is None:
        return dict(old) if old is not None else dict(key)
    if old is None:
        if update.only_removes:
            return None
        return update.apply(dict(key), False)
    return update.apply(old, True)


def returned_attributes(return_values, update, old, new):
    if return_values == "ALL_OLD":
        return old
    if return_values == "ALL_NEW":
        return new
    if return_values == "UPDATED_OLD":
        return update.updated_old(old) if (update is not None and old is not None) else None
    if return_values == "UPDATED_NEW":
        return update.updated_new(new) if (update is not None and new is not None) else None
    return None
