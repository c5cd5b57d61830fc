"""ExecuteStatement: one PartiQL statement, run by the item operation it compiles to.

SELECT pages through GetItem / Query / Scan (``Limit``, ``NextToken``,
``ConsistentRead``); INSERT is a PutItem that may not overwrite
(DuplicateItemException), UPDATE an UpdateItem of an existing item, DELETE a
DeleteItem; extra WHERE predicates are the write's condition.  Every answer
has ``Items`` (``[]`` for a write without RETURNING).  See ``kvstore.partiql``.
"""

from kvstore import partiql
from kvstore.errors import (
    ConditionalCheckFailedException, DuplicateItemException, SerializationException, ValidationException,
    constraint_error,
)
from kvstore.operations import delete_item, put_item, update_item
from kvstore.operations.common import enum_violations
from kvstore.partiql import tree

#: PartiQL may write items (through PutItem, UpdateItem, DeleteItem, TransactWriteItems): served like them
WRITES_ITEMS = True
REQUEST_VALUES = ("Parameters:params",)
RESPONSE_VALUES = ("Items:items",)
ENUMS = ("ReturnConsumedCapacity", "ReturnValuesOnConditionCheckFailure")
MAX_STATEMENT = 8192
WRITE_OPERATIONS = {"PutItem": put_item.run, "UpdateItem": update_item.run, "DeleteItem": delete_item.run}
DUPLICATE = "Duplicate primary key exists in table"


def run(engine, request):
    if len(request) <= 2:
        answer = partiql.HOT.get(request.get("Statement"))
        if answer is not None:
            response = answer(engine, request.get("Parameters"))
            if response is not None:
                return response
            if engine.metrics is not None:
                # the recorder left this request as sent, for the route to report its units
                # (kvstore.metrics): the full path asks for them and reports them instead
                response = run(engine, dict(request, ReturnConsumedCapacity="INDEXES"))
                consumed = response.pop("ConsumedCapacity", None)
                if consumed is not None:
                    engine.metrics.consumed(consumed, request)
                return response
    check_request(request)
    text = request["Statement"]
    node = partiql.statement(text)
    params = parameters(node, request.get("Parameters"))
    if isinstance(node, tree.Exists):
        raise ValidationException("EXISTS can only be used in ExecuteTransaction write requests.")
    node, table, plan = partiql.plan(engine, text, node)
    if isinstance(node, tree.Select):
        response = partiql.run_select(engine, plan, params, request)
        # ReturnConsumedCapacity does not count: kvstore.metrics asks for it on the first run of a
        # statement (the hot route, used for requests without it, reports its units itself)
        members = len(request) - ("ReturnConsumedCapacity" in request)
        if members <= 2 and (members == 1 or "Parameters" in request):
            partiql.remember_hot(text, plan, table.schema, node.params)
        return response
    return run_write(engine, plan, params, request)


#: member -> the Python types a native request may give it (the wire face checks the JSON kinds itself)
MEMBER_TYPES = {"Statement": (str,), "Parameters": (list, tuple), "NextToken": (str,), "Limit": (int,),
                "ConsistentRead": (bool,), "ReturnConsumedCapacity": (str,),
                "ReturnValuesOnConditionCheckFailure": (str,), "Statements": (list, tuple),
                "TransactStatements": (list, tuple), "ClientRequestToken": (str,)}


def check_types(request):
    """A member of the wrong type is a SerializationException, as DynamoDB's deserializer answers it."""
    if type(request) is not dict:
        raise SerializationException("Start of structure or map found where not expected.")
    for member, value in request.items():
        allowed = MEMBER_TYPES.get(member)
        if allowed is not None and value is not None and (
                type(value) not in allowed or (type(value) is bool and bool not in allowed)):
            raise SerializationException(f"Unexpected value type for {member}: {type(value).__name__}")


def statement_violations(statement, path="statement"):
    if statement is None:
        return [(None, path, "Member must not be null")]
    out = []
    if len(statement) < 1:
        out.append((statement, path, "Member must have length greater than or equal to 1"))
    if len(statement) > MAX_STATEMENT:
        out.append((statement, path, f"Member must have length less than or equal to {MAX_STATEMENT}"))
    return out


def parameter_violations(params, path="parameters"):
    if params is not None and len(params) < 1:
        return [("[]", path, "Member must have length greater than or equal to 1")]
    return []


def check_members(request):
    """What DynamoDB checks before any attribute value: member types, lengths, Limit and the enums."""
    check_request(request)


def check_request(request):
    check_types(request)
    violations = statement_violations(request.get("Statement"))
    violations += parameter_violations(request.get("Parameters"))
    token = request.get("NextToken")
    if token is not None and not 1 <= len(token) <= 32768:
        bound = "greater than or equal to 1" if not token else "less than or equal to 32768"
        violations.append((token, "nextToken", f"Member must have length {bound}"))
    limit = request.get("Limit")
    if limit is not None and limit < 1:
        violations.append((str(limit), "limit", "Member must have value greater than or equal to 1"))
    violations += enum_violations(request, ENUMS)
    if violations:
        raise constraint_error(violations)


def parameters(node, params):
    """The request's Parameters, checked against the statement's ``?`` count."""
    params = params or ()
    if len(params) != node.params:
        raise ValidationException("Number of parameters in request and statement don't match.")
    return params


def write_request(plan, params, request):
    """The item operation's request for a write plan, with the PartiQL request's options."""
    call = plan.request(params)
    for member in ("ReturnConsumedCapacity", "ReturnValuesOnConditionCheckFailure"):
        value = request.get(member)
        if value is not None and (member != "ReturnValuesOnConditionCheckFailure" or plan.action != "PutItem"):
            call[member] = value
    return call


def run_write(engine, plan, params, request):
    """Run a write plan; ``{"Items": [returned attributes]}`` (``[]`` when none)."""
    try:
        call = write_request(plan, params, request)
        response = WRITE_OPERATIONS[plan.action](engine, call)
    except ConditionalCheckFailedException as e:
        if plan.action == "PutItem":
            raise DuplicateItemException(DUPLICATE) from None
        raise e
    except ValidationException as e:
        raise partiql.strip_expression_prefix(e) from None
    attributes = response.get("Attributes")
    out = {"Items": [attributes] if attributes else []}
    if "ConsumedCapacity" in response:
        out["ConsumedCapacity"] = response["ConsumedCapacity"]
    return out
