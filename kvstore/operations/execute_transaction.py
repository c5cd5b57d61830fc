"""ExecuteTransaction: up to 100 PartiQL statements, all or nothing, through the transaction actions.

All SELECTs by full primary key run as one TransactGetItems; writes and
``EXISTS(SELECT ...)`` checks as one TransactWriteItems (its locking, its
CancellationReasons, its ClientRequestToken idempotency).  A statement that
cannot be planned fails the whole request before anything runs, its message
prefixed ``Validation failed in TransactStatements[i]: ``.
"""

from kvstore import partiql
from kvstore.errors import TransactionCanceledException, ValidationException, constraint_error
from kvstore.operations import transact_get_items, transact_write_items
from kvstore.operations.common import enum_violations
from kvstore.operations.execute_statement import (
    DUPLICATE, check_types, parameter_violations, parameters, statement_violations,
)
from kvstore.operations.transactions import cancel
from kvstore.partiql import tree

#: PartiQL may write items (through PutItem, UpdateItem, DeleteItem, TransactWriteItems): served like them
WRITES_ITEMS = True
REQUEST_VALUES = ("TransactStatements.[].Parameters:params",)
RESPONSE_VALUES = ("Responses.[].Item:item",)
MAX_STATEMENTS = 100
SELECT_RULE = "Select statements within ExecuteTransaction must specify the primary key in the where clause."
_KINDS = {"PutItem": "Put", "UpdateItem": "Update", "DeleteItem": "Delete", "ConditionCheck": "ConditionCheck"}


def run(engine, request):
    statements = request.get("TransactStatements")
    check_request(request, statements)
    prepared = [_prepare(engine, i, spec) for i, spec in enumerate(statements)]
    reads = [isinstance(node, tree.Select) for node, _, _ in prepared]
    if any(reads) and not all(reads):
        raise ValidationException(
            "ExecuteTransaction API does not support both read and write operations in the same request.")
    if all(reads):
        return _read(engine, request, prepared)
    return _write(engine, request, statements, prepared)


def check_members(request):
    """What DynamoDB checks before any attribute value: the statement list, each statement's members, enums."""
    check_request(request, request.get("TransactStatements") if isinstance(request, dict) else None)


def check_request(request, statements):
    check_types(request)
    violations = []
    if statements is None:
        violations.append((None, "transactStatements", "Member must not be null"))
    elif len(statements) < 1:
        violations.append(("[]", "transactStatements", "Member must have length greater than or equal to 1"))
    elif len(statements) > MAX_STATEMENTS:
        violations.append(("[" + ", ".join("..." for _ in statements[:3]) + "]", "transactStatements",
                           f"Member must have length less than or equal to {MAX_STATEMENTS}"))
    else:
        for i, spec in enumerate(statements, 1):
            check_types(spec)
            if not isinstance(spec, dict):
                raise ValidationException("TransactStatements must be a list of ParameterizedStatement")
            path = f"transactStatements.{i}.member"
            violations += statement_violations(spec.get("Statement"), f"{path}.statement")
            violations += parameter_violations(spec.get("Parameters"), f"{path}.parameters")
            violations += [(v, f"{path}.{p}", c) for v, p, c in
                           enum_violations(spec, ("ReturnValuesOnConditionCheckFailure",))]
    token = request.get("ClientRequestToken")
    if token is not None and not 1 <= len(token) <= 36:
        bound = "greater than or equal to 1" if not token else "less than or equal to 36"
        violations.append((token, "clientRequestToken", f"Member must have length {bound}"))
    violations += enum_violations(request, ("ReturnConsumedCapacity",))
    if violations:
        raise constraint_error(violations)


def _prepare(engine, i, spec):
    """``(tree, plan, params)`` of statement ``i``; a statement rule broken fails the request, prefixed."""
    try:
        node = partiql.statement(spec["Statement"])
        if getattr(node, "returning", None) is not None:
            raise ValidationException("RETURNING clause is not supported in ExecuteTransaction.")
        if isinstance(node, tree.Select) and node.index is not None:
            raise ValidationException("Reads on indices are not supported within transactions.")
    except ValidationException as e:
        raise _prefixed(i, e) from None
    params = parameters(node, spec.get("Parameters"))
    try:
        node, _, plan = partiql.plan(engine, spec["Statement"], node)
        if isinstance(node, tree.Select) and plan.kind != "get":
            raise ValidationException(SELECT_RULE)
    except ValidationException as e:
        raise _prefixed(i, e) from None
    return node, plan, params


def _prefixed(i, error):
    return ValidationException(f"Validation failed in TransactStatements[{i}]: {error.message}")


def _read(engine, request, prepared):
    actions = []
    for _, plan, params in prepared:
        call = partiql.get_request(plan, params, {})
        if call is not None:      # None: a key value of another type than the key's, so no such item
            actions.append({"Get": call})
    entries = []
    response = {}
    if actions:
        try:
            response = transact_get_items.run(engine, {"TransactItems": actions, **_capacity_member(request)})
        except ValidationException as e:
            raise partiql.strip_expression_prefix(e) from None
        entries = iter(response["Responses"])
    out = []
    for _, plan, params in prepared:
        entry = next(entries) if partiql.get_request(plan, params, {}) is not None else {}
        out.append({"Item": partiql.project(plan, entry["Item"])} if "Item" in entry else {})
    result = {"Responses": out}
    if "ConsumedCapacity" in response:
        result["ConsumedCapacity"] = response["ConsumedCapacity"]
    return result


def _capacity_member(request):
    mode = request.get("ReturnConsumedCapacity")
    return {"ReturnConsumedCapacity": mode} if mode is not None else {}


def _write(engine, request, statements, prepared):
    actions = []
    for spec, (_, plan, params) in zip(statements, prepared):
        try:
            call = plan.request(params)
        except ValidationException as e:
            raise partiql.strip_expression_prefix(e) from None
        on_failure = spec.get("ReturnValuesOnConditionCheckFailure")
        if on_failure is not None and plan.action != "PutItem":
            call["ReturnValuesOnConditionCheckFailure"] = on_failure
        actions.append({_KINDS[plan.action]: call})
    call = {"TransactItems": actions, **_capacity_member(request)}
    if request.get("ClientRequestToken") is not None:
        call["ClientRequestToken"] = request["ClientRequestToken"]
    try:
        response = transact_write_items.run(engine, call)
    except TransactionCanceledException as e:
        reasons = e.extra["CancellationReasons"]
        changed = False
        for reason, (_, plan, _) in zip(reasons, prepared):
            if plan.action == "PutItem" and reason["Code"] == "ConditionalCheckFailed":
                reason.clear()
                reason.update({"Code": "DuplicateItem", "Message": DUPLICATE})
                changed = True
        if changed:
            raise cancel(reasons) from None
        raise
    except ValidationException as e:
        raise partiql.strip_expression_prefix(e) from None
    result = {"Responses": []}
    if "ConsumedCapacity" in response:
        result["ConsumedCapacity"] = response["ConsumedCapacity"]
    return result

