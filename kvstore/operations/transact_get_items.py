"""TransactGetItems: up to 100 items read as one serializable snapshot.

All partitions involved are locked together while the items are read, so no
write (single or transactional) is seen half-applied.  A key problem in one
action cancels the call with a ValidationError reason; a projection syntax
error is a plain ValidationException.
"""

from kvstore import _core
from kvstore.errors import ValidationException
from kvstore.operations.common import (
    capacity, check_constraints, enum_violations, get_table, key_from_request, read_units, table_name_violations,
)
from kvstore.operations.get_item import compile_projection
from kvstore.operations.transactions import Locks, cancel, check_action_count

READ_ONLY = True
REQUEST_VALUES = ("TransactItems.[].Get.Key:item",)
RESPONSE_VALUES = ("Responses.[].Item:item",)
ENUMS = ("ReturnConsumedCapacity",)


def run(engine, request):
    check_constraints(enum_violations(request, ENUMS))
    actions = request.get("TransactItems")
    check_action_count(actions)
    violations = []
    for i, action in enumerate(actions, 1):
        if not isinstance(action, dict) or set(action) != {"Get"}:
            raise ValidationException("TransactItems can only contain one of Get")
        # every action's members before anything else, each named by its position (captured against
        # DynamoDB: "Value 'bad!name' at 'transactItems.1.member.get.tableName' ...")
        violations += table_name_violations(action["Get"].get("TableName"), f"transactItems.{i}.member.get.tableName")
    check_constraints(violations)
    parsed = [(action["Get"], compile_projection(action["Get"], "TransactGetItems")) for action in actions]
    tables = [get_table(engine, spec["TableName"]) for spec, _ in parsed]
    reasons = [{"Code": "None"} for _ in parsed]
    targets = []
    for i, ((spec, _), table) in enumerate(zip(parsed, tables)):
        try:
            targets.append((table, key_from_request(table, spec.get("Key"))))
        except ValidationException as e:
            reasons[i] = {"Code": "ValidationError", "Message": e.message}
            raise cancel(reasons) from None
    if len({(t.name, k) for t, k in targets}) != len(targets):
        raise ValidationException("Transaction request cannot include multiple operations on one item")
    if engine.capacity is not None:
        engine.capacity.admit_transaction(targets)
    locks = Locks(targets)
    if engine.contention is not None:      # kvstore.contention: cancel on items an ongoing write holds
        locks = engine.contention.transaction(targets, locks, writes=False)
    with locks:
        packed_items = [table.rows.get(row_key) for table, row_key in targets]
    responses = []
    units = {}
    for (spec, projection), (table, _), packed in zip(parsed, targets, packed_items):
        # reference 7: twice GetItem's units, by the item's DynamoDB size (1 KB packed is within one unit)
        size = len(packed) if packed is not None else 0
        if size > 1024:
            size = _core.packed_item_size(packed)
        units[table.name] = units.get(table.name, 0) + 2 * read_units(size, True)
        if packed is None:
            responses.append({})
            continue
        item = _core.unpack_item(packed)
        responses.append({"Item": item if projection is None else projection.apply(item)})
    if engine.capacity is not None:
        by_name = {t.name: t for t in tables}
        for name, table_units in units.items():
            engine.capacity.charge(by_name[name], table_units)
    response = {"Responses": responses}
    mode = request.get("ReturnConsumedCapacity")
    if mode in ("TOTAL", "INDEXES"):
        response["ConsumedCapacity"] = [capacity(n, u, mode) for n, u in units.items()]
    return response
