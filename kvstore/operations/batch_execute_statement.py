"""BatchExecuteStatement: up to 25 PartiQL statements, each run on its own (no atomicity).

All reads (SELECTs by full primary key, as GetItem) or all writes.  A
statement's own failure becomes its slot's ``Error {Code, Message}`` with
the short codes (``ValidationError``, ``ResourceNotFound``, ...) and the
others still run; request-shape problems, a mixed batch and two statements on
one item fail the whole request.
"""

from kvstore import partiql
from kvstore.errors import DynamoDBError, ValidationException, constraint_error
from kvstore.operations import get_item
from kvstore.operations.common import enum_violations
from kvstore.operations.execute_statement import (
    check_types, parameter_violations, parameters, run_write, statement_violations,
)
from kvstore.partiql import tree

#: PartiQL may write items (through PutItem, UpdateItem, DeleteItem, TransactWriteItems): served like them
WRITES_ITEMS = True
REQUEST_VALUES = ("Statements.[].Parameters:params",)
RESPONSE_VALUES = ("Responses.[].Item:item", "Responses.[].Error.Item:item")
MAX_STATEMENTS = 25
SELECT_RULE = "Select statements within BatchExecuteStatement must specify the primary key in the where clause."
#: thrown error code -> batch slot code
SLOT_CODES = {
    "ValidationException": "ValidationError", "ResourceNotFoundException": "ResourceNotFound",
    "ConditionalCheckFailedException": "ConditionalCheckFailed", "DuplicateItemException": "DuplicateItem",
    "ItemCollectionSizeLimitExceededException": "ItemCollectionSizeLimitExceeded",
    "ProvisionedThroughputExceededException": "ProvisionedThroughputExceeded",
    "TransactionConflictException": "TransactionConflict", "ThrottlingException": "ThrottlingError",
    "RequestLimitExceeded": "RequestLimitExceeded", "AccessDeniedException": "AccessDenied",
    "InternalServerError": "InternalServerError",
}


def run(engine, request):
    statements = request.get("Statements")
    check_request(request, statements)
    prepared = [_prepare(engine, spec) for spec in statements]
    kinds = {isinstance(p[0], tree.Select) for p in prepared if p[2] is None and p[0] is not None}
    if len(kinds) > 1:
        raise ValidationException("Read and write requests together in the same batch is not supported.")
    seen = set()
    for node, plan, error, _, key in prepared:
        if key is not None:
            if key in seen:
                raise ValidationException("Provided list of item keys contains duplicates")
            seen.add(key)
    responses = []
    consumed = {}
    mode = request.get("ReturnConsumedCapacity")
    for spec, (node, plan, error, params, _) in zip(statements, prepared):
        if error is None:
            try:
                slot, capacity = _run_one(engine, spec, node, plan, params, mode)
                responses.append(slot)
                if capacity is not None:
                    _add(consumed, capacity)
                continue
            except DynamoDBError as e:
                error = e
        responses.append(_error_slot(error, node))
    response = {"Responses": responses}
    if mode in ("TOTAL", "INDEXES"):
        response["ConsumedCapacity"] = list(consumed.values())
    return response


def check_members(request):
    """What DynamoDB checks before any attribute value: the statement list, each statement's members, enums."""
    check_request(request, request.get("Statements") if isinstance(request, dict) else None)


def check_request(request, statements):
    check_types(request)
    violations = []
    if statements is None:
        violations.append((None, "statements", "Member must not be null"))
    elif len(statements) < 1:
        violations.append(("[]", "statements", "Member must have length greater than or equal to 1"))
    elif len(statements) > MAX_STATEMENTS:
        violations.append((_shown(statements), "statements",
                           f"Member must have length less than or equal to {MAX_STATEMENTS}"))
    else:
        for i, spec in enumerate(statements, 1):
            check_types(spec)
            if not isinstance(spec, dict):
                raise ValidationException("Statements must be a list of BatchStatementRequest")
            path = f"statements.{i}.member"
            violations += statement_violations(spec.get("Statement"), f"{path}.statement")
            violations += parameter_violations(spec.get("Parameters"), f"{path}.parameters")
            violations += [(v, f"{path}.{p}", c) for v, p, c in
                           enum_violations(spec, ("ReturnValuesOnConditionCheckFailure",))]
    violations += enum_violations(request, ("ReturnConsumedCapacity",))
    if violations:
        raise constraint_error(violations)


def _shown(items):
    return "[" + ", ".join("..." for _ in items[:3]) + "]"


def _prepare(engine, spec):
    """``(tree, plan, error, params, item identity)``: parse, plan and key of one statement."""
    node = plan = params = None
    try:
        node = partiql.statement(spec["Statement"])
        params = parameters(node, spec.get("Parameters"))
        if isinstance(node, tree.Exists):
            raise ValidationException("EXISTS can only be used in ExecuteTransaction write requests.")
        node, table, plan = partiql.plan(engine, spec["Statement"], node)
        if isinstance(node, tree.Select):
            if plan.kind != "get":
                raise ValidationException(SELECT_RULE)
            key = plan.key_getters
            identity = (table.name, tuple((n, _hashable(g(params))) for n, _, g in key))
        elif isinstance(node, tree.Insert):
            item = plan.item_getter(params)
            identity = None
            if type(item) is dict:
                identity = (table.name, tuple((n, _hashable(item.get(n))) for n in table.schema.names))
        else:
            identity = (table.name, tuple((n, _hashable(g(params))) for n, g in plan.key_getters))
        return node, plan, None, params, identity
    except DynamoDBError as e:
        return node, plan, e, params, None


def _hashable(value):
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def _run_one(engine, spec, node, plan, params, mode):
    table = plan.table
    if isinstance(node, tree.Select):
        call = partiql.get_request(plan, params, {"ConsistentRead": spec.get("ConsistentRead"),
                                                  "ReturnConsumedCapacity": mode})
        slot = {"TableName": table}
        if call is None:
            return slot, None
        response = get_item.run(engine, call, False)      # its capacity is the statement's
        if response.get("Item") is not None:
            slot["Item"] = partiql.project(plan, response["Item"])
        return slot, response.get("ConsumedCapacity")
    options = {"ReturnConsumedCapacity": mode,
               "ReturnValuesOnConditionCheckFailure": spec.get("ReturnValuesOnConditionCheckFailure")}
    response = run_write(engine, plan, params, options)
    slot = {"TableName": table}
    if response["Items"]:
        slot["Item"] = response["Items"][0]
    return slot, response.get("ConsumedCapacity")


def _error_slot(error, node):
    code = SLOT_CODES.get(error.code, error.code)
    body = {"Code": code, "Message": error.message}
    if error.extra.get("Item") is not None:
        body["Item"] = error.extra["Item"]
    slot = {"Error": body}
    if node is not None and not isinstance(node, tree.Exists) and code != "ResourceNotFound":
        slot["TableName"] = node.table
    return slot


def _add(consumed, capacity):
    name = capacity["TableName"]
    consumed[name] = partiql.add_capacity(consumed.get(name), capacity)
