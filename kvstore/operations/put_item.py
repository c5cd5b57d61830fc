"""PutItem: create an item or replace it whole, optionally under a condition.

The condition sees the existing item (all attributes absent when there is
none).  ReturnValues may only be NONE or ALL_OLD.
"""

from kvstore import _core
from kvstore.capacity import admit_write, charge_write
from kvstore.operations.common import (
    _VALID_NAMES, check_attribute_names, check_collection_size, check_index_keys, check_item_size, check_request, get_table, key_from_item,
)
from kvstore.operations.writing import check_return_values, compile_write, condition_failed, finish

WRITES_ITEMS = True
REQUEST_VALUES = ("Item:item", "ExpressionAttributeValues:eav", "Expected.*.Value:value",
                  "Expected.*.AttributeValueList:values")
RESPONSE_VALUES = ("Attributes:item", "ItemCollectionMetrics.ItemCollectionKey:item")
ENUMS = ("ReturnValues", "ReturnConsumedCapacity", "ReturnItemCollectionMetrics",
         "ReturnValuesOnConditionCheckFailure")


def check_members(request):
    """What DynamoDB checks before any attribute value: the table name, that Item is present and the enums."""
    check_request(request, ENUMS, required=(("Item", "item"),))


def run(engine, request):
    name = request.get("TableName")
    # the usual request: a table name found valid before, an Item, no enum member (nothing for
    # check_members to report, ReturnValues NONE, and nothing for finish to add to the response)
    usual = (name.__class__ is str and name in _VALID_NAMES and request.get("Item") is not None
             and request.keys().isdisjoint(ENUMS))
    if usual:
        return_values = "NONE"
    else:
        check_members(request)
        return_values = check_return_values(request, ("NONE", "ALL_OLD"))
    condition, _ = compile_write(request, "PutItem")
    item = request["Item"]
    check_attribute_names(item)
    packed = _core.pack_item(item)
    check_item_size(item, packed=packed)
    table = get_table(engine, request["TableName"])
    row_key = key_from_item(table, item)
    check_index_keys(table, item)
    meter = engine.capacity
    ticket = admit_write(meter, table, table.meta, row_key) if meter is not None else None
    # the indexes need only the old item's key attributes, which the commit reads out of the packed
    # item itself (``apply_writes``); the metered charge and ``finish`` want the item
    need_old = (condition is not None or return_values == "ALL_OLD"
                or (bool(table.indexes) and (ticket is not None or not usual)))
    lock = table.lock_for(row_key)
    if engine.contention is not None:      # kvstore.contention: fail fast on an item a transaction holds
        lock = engine.contention.write(table, row_key, lock)
    with lock:
        old_packed = table.rows.get(row_key)
        old = _core.unpack_item(old_packed) if (need_old and old_packed is not None) else None
        if condition is not None and not condition.evaluate(old):
            if ticket is not None:         # a failed conditional write is charged as if it had written
                charge_write(meter, ticket, old_packed, packed, old, item)
            raise condition_failed(old, request, table, old_packed, item, row_key)
        check_collection_size(table, row_key, old_packed, packed)
        lsn = _core.commit_usual(engine, [(table, row_key, old, item, packed)])
    _core.wait_usual(engine, lsn)
    if ticket is not None:
        charge_write(meter, ticket, old_packed, packed, old, item)
    if usual:
        return {}
    response = {}
    if return_values == "ALL_OLD" and old is not None:
        response["Attributes"] = old
    finish(response, request, table, item, old_packed, item, old, row_key)
    return response
