"""What PutItem, UpdateItem, DeleteItem and the transaction actions share.

Conditions (expression or legacy ``Expected``), the ConditionalCheckFailed
error with the old item, ReturnValues validation and the optional response
members (ConsumedCapacity, ItemCollectionMetrics).
"""

from kvstore.errors import ConditionalCheckFailedException, ValidationException
from kvstore.expressions import compile_request, legacy
from kvstore.operations.common import capacity, item_collection_metrics, write_units, write_units_of
from kvstore.types import item_size


#: members of a write request that involve no condition, update or placeholder: nothing to compile
_PLAIN_MEMBERS = frozenset(("TableName", "Item", "Key", "ReturnValues", "ReturnConsumedCapacity",
                            "ReturnItemCollectionMetrics", "ReturnValuesOnConditionCheckFailure"))


def compile_write(request, operation, update=False):
    """Return ``(condition, update)`` for a write request (either may be None).

    Mixing expression and legacy parameters, placeholder rules and expression
    syntax are all checked here, before the table is looked up, as DynamoDB does.
    """
    if request.keys() <= _PLAIN_MEMBERS:
        return None, None
    legacy.check_mixing(operation, request)
    if request.get("Expected") is not None or (update and request.get("AttributeUpdates") is not None):
        condition = None
        if request.get("Expected") is not None:
            condition = legacy.expected_condition(request["Expected"], request.get("ConditionalOperator"))
        updater = None
        if update and request.get("AttributeUpdates") is not None:
            updater = legacy.attribute_updates(request["AttributeUpdates"])
        return condition, updater
    names = request.get("ExpressionAttributeNames")
    values = request.get("ExpressionAttributeValues")
    condition_text = request.get("ConditionExpression")
    update_text = request.get("UpdateExpression") if update else None
    if condition_text is None and update_text is None and names is None and values is None:
        return None, None
    compiled = compile_request(operation=operation, condition=condition_text, update=update_text,
                               names=names, values=values)
    return compiled.condition, compiled.update


def condition_failed(old_item, request):
    if old_item is not None and request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD":
        return ConditionalCheckFailedException("The conditional request failed", Item=old_item)
    return ConditionalCheckFailedException("The conditional request failed")


def check_return_values(request, allowed):
    value = request.get("ReturnValues")
    if value is not None and value not in allowed:
        raise ValidationException("Return values set to invalid value")
    return value or "NONE"


def finish(response, request, table, key_source, old_packed, new_item, old_item=None, row_key=None):
    """Add ConsumedCapacity / ItemCollectionMetrics to a single-item write response.

    ``old_packed`` is the stored old image (None: there was none): its units are
    its DynamoDB size's, as the new image's (``common.write_units_of``).
    """
    mode = request.get("ReturnConsumedCapacity")
    if mode in ("TOTAL", "INDEXES"):
        units = write_units_of(old_packed, None, new_item or None)
        index_units = index_write_units(table, row_key, old_item, new_item) if table.indexes else {}
        response["ConsumedCapacity"] = capacity(table.name, units + sum(index_units.values()), mode,
                                                index_units, read=False)
    if request.get("ReturnItemCollectionMetrics") == "SIZE":
        metrics = item_collection_metrics(table, key_source)
        if metrics is not None:
            response["ItemCollectionMetrics"] = metrics
    return response


def index_write_units(table, row_key, old_item, new_item, small=False):
    """Write units each index was charged: one write per entry put or deleted (a moved entry is two).

    ``small``: both images are known to be at most one write unit (so is any
    projection of them), which spares computing the entries' sizes.
    """
    out = {}
    for index in table.indexes.values():
        old_key = index.entry_key(old_item, row_key) if old_item is not None else None
        new_key = index.entry_key(new_item, row_key) if new_item is not None else None
        units = 0
        if new_key is not None:
            units += 1 if small else write_units(item_size(index.project_item(new_item)))
        if old_key is not None and old_key != new_key:
            units += 1 if small else write_units(item_size(index.project_item(old_item)))
        if units:
            out[(index.name, index.kind)] = units
    return out
