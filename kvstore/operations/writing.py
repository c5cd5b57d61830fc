"""What PutItem, UpdateItem, DeleteItem and the transaction actions share.

Conditions (expression or legacy ``Expected``), the ConditionalCheckFailed
error with the old item, ReturnValues validation and the optional response
members (ConsumedCapacity, ItemCollectionMetrics).
"""

from kvstore._core import write_shape
from kvstore.errors import ConditionalCheckFailedException, ValidationException
from kvstore.expressions import compile_request, legacy
from kvstore.expressions.request import _MAP
from kvstore.expressions.templates import TEMPLATES
from kvstore.operations.common import capacity, item_collection_metrics, write_units, write_units_of
from kvstore.types import item_size


#: members of a write request that involve no condition, update or placeholder: nothing to compile
_PLAIN_MEMBERS = frozenset(("TableName", "Item", "Key", "ReturnValues", "ReturnConsumedCapacity",
                            "ReturnItemCollectionMetrics", "ReturnValuesOnConditionCheckFailure"))


#: the members of a write of the usual shape (no legacy member, no ConditionalOperator): with an
#: expression among them, ``legacy.check_mixing`` finds nothing to report
_USUAL_MEMBERS = _PLAIN_MEMBERS | {"ConditionExpression", "ExpressionAttributeNames", "ExpressionAttributeValues"}
_USUAL_UPDATE_MEMBERS = _USUAL_MEMBERS | {"UpdateExpression"}


def compile_write(request, operation, update=False):
    """Return ``(condition, update)`` for a write request (either may be None).

    Mixing expression and legacy parameters, placeholder rules and expression
    syntax are all checked here, before the table is looked up, as DynamoDB does.
    A request of the usual shape whose template is known (``_core.write_shape``: the key
    ``compile_request`` would compute, in one core call) is instantiated at once.
    """
    if request.keys() <= _PLAIN_MEMBERS:
        return None, None
    shape = write_shape(operation, request, update, _USUAL_UPDATE_MEMBERS if update else _USUAL_MEMBERS, _MAP)
    if shape is not None:
        instantiate = TEMPLATES.get(shape[0])
        if instantiate is not None:
            compiled = instantiate(shape[1])
            if compiled is not None:
                return compiled.condition, compiled.update
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


def condition_failed(old_item, request, table=None, old_packed=None, new_item=None, row_key=None):
    """The ConditionalCheckFailedException of a single-item write whose condition was false.

    DynamoDB charges such a write all the same (reference 7: as if it had
    written), and the capacity meter does (``charge_write``).  With ``table``
    given and ReturnConsumedCapacity asked (``kvstore.metrics`` asks it of
    every write), the exception carries in ``_consumed`` the ConsumedCapacity
    entry of those units, the same the meter charged, for the metrics'
    ConsumedWriteCapacityUnits; DynamoDB's error answer holds no
    ConsumedCapacity, so no face sends it.
    """
    if old_item is not None and request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD":
        e = ConditionalCheckFailedException("The conditional request failed", Item=old_item)
    else:
        e = ConditionalCheckFailedException("The conditional request failed")
    if table is not None:
        e._consumed = consumed_capacity(request, table, old_packed, new_item, old_item, row_key)
    return e


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
    consumed = consumed_capacity(request, table, old_packed, new_item, old_item, row_key)
    if consumed is not None:
        response["ConsumedCapacity"] = consumed
    if request.get("ReturnItemCollectionMetrics") == "SIZE":
        metrics = item_collection_metrics(table, key_source)
        if metrics is not None:
            response["ItemCollectionMetrics"] = metrics
    return response


def consumed_capacity(request, table, old_packed, new_item, old_item=None, row_key=None):
    """The ConsumedCapacity entry of a single-item write when ReturnConsumedCapacity asks for one, else
    None: the table's units by the larger image's DynamoDB size (``common.write_units_of``) and each
    index's on the change to what it stores."""
    mode = request.get("ReturnConsumedCapacity")
    if mode not in ("TOTAL", "INDEXES"):
        return None
    units = write_units_of(old_packed, None, new_item or None)
    index_units = index_write_units(table, row_key, old_item, new_item) if table.indexes else {}
    return capacity(table.name, units + sum(index_units.values()), mode, index_units, read=False)


def index_write_units(table, row_key, old_item, new_item, small=False):
    """Write units each index was charged, ``{(index name, "GSI"/"LSI"): units}`` (indexes charged nothing absent).

    ``small``: both images are known to be at most one write unit (so is any
    projection of them), which spares computing the entries' sizes.
    """
    out = {}
    for index in table.indexes.values():
        units = index_units(index, row_key, old_item, new_item, small)
        if units:
            out[(index.name, index.kind)] = units
    return out


def index_units(index, row_key, old_item, new_item, small=False):
    """What one write costs ``index``: DynamoDB charges the change to what the index stores.

    The entries are the index's views of the old and new item (its projection,
    absent when the item is not in the sparse index), each in write units of
    its own DynamoDB size:

    ============  ==============================  ==========================
    before        after                           units
    ============  ==============================  ==========================
    absent        absent                          0
    absent        present                         the new entry's
    present       absent                          the old entry's
    present       present, same key, same view    0
    present       present, same key, changed      the larger entry's
    present       present, key moved              old entry's + new entry's
    ============  ==============================  ==========================

    So a write that changes only attributes the index does not project, or
    rewrites an item unchanged, costs the index nothing (as captured against
    DynamoDB; reference 7 gives the move and the sparse cases).
    """
    old_key = index.entry_key(old_item, row_key) if old_item is not None else None
    new_key = index.entry_key(new_item, row_key) if new_item is not None else None
    if old_key is None:
        if new_key is None:
            return 0
        return 1 if small else write_units(item_size(index.project_item(new_item)))
    old_view = index.project_item(old_item)
    if new_key is None:
        return 1 if small else write_units(item_size(old_view))
    new_view = index.project_item(new_item)
    if old_key != new_key:
        return 2 if small else write_units(item_size(old_view)) + write_units(item_size(new_view))
    if old_view == new_view:
        return 0
    return 1 if small else max(write_units(item_size(old_view)), write_units(item_size(new_view)))
