"""Direct routes for the statements a program repeats in a loop.

A SELECT sent with only ``Statement`` and ``Parameters`` whose plan is a plain
GetItem (full key, ``*``) or one Query (one partition value, ``*``) keeps, by
text, a closure that checks the table is still the one planned for, binds the
parameters and calls the operation directly: a cached parameterised SELECT
costs little more than the operation.  Anything unusual (another table, a
parameter count or key type that does not fit) returns None and takes the
full path, which gives the answer or the error.
"""

from decimal import Decimal

from kvstore.errors import ValidationException
from kvstore.operations import get_item, query
from kvstore.partiql.cache import HOT, _remember
from kvstore.partiql.errors import strip_expression_prefix
from kvstore.partiql.render import check_ordered
from kvstore.partiql.select import encode_token
from kvstore.types import Binary

_KEY_KINDS = {str: "S", Decimal: "N", Binary: "B"}


def _parameters_fit(params, count):
    """Whether ``params`` (None or a non-empty list) holds exactly the statement's ``count`` parameters."""
    return not count if params is None else (len(params) == count and bool(params))


def remember_hot(text, plan_, schema, count):
    """Keep a direct route for ``text`` when its plan is a plain GetItem or one Query (see :data:`HOT`)."""
    if plan_.kind == "query" and plan_.projection is None and len(plan_.arms) == 1 \
            and len(plan_.arms[0].hash_getters) == 1 and plan_.index is None:
        _remember(HOT, text, _hot_query(text, plan_, schema, count))
        return
    if plan_.kind != "get" or plan_.projection is not None:
        return
    table_name = plan_.table
    keys = tuple(plan_.key_getters)
    run_get = get_item.run
    kinds = _KEY_KINDS

    def answer(engine, params):
        table = engine.tables.get(table_name)
        if table is None or table.schema is not schema:
            return None
        if not _parameters_fit(params, count):
            return None
        key = {}
        for name, kind, get in keys:
            value = get(params)
            if kinds.get(type(value)) != kind:
                return None
            key[name] = value
        metrics = engine.metrics
        if metrics is None:
            item = run_get(engine, {"TableName": table_name, "Key": key}).get("Item")
            return {"Items": [item] if item is not None else []}
        # the recorder leaves a hot statement's request as sent, so the route stays taken; the
        # route reports the statement's read units itself (kvstore.metrics)
        response = run_get(engine, {"TableName": table_name, "Key": key, "ReturnConsumedCapacity": "TOTAL"},
                           False)
        metrics.consumed_read(table_name, response["ConsumedCapacity"]["CapacityUnits"])
        item = response.get("Item")
        return {"Items": [item] if item is not None else []}
    _remember(HOT, text, answer)


def _hot_query(text, plan_, schema, count):
    """The direct route of a one-partition SELECT: one Query, its page and NextToken."""
    table_name = plan_.table
    arm = plan_.arms[0]
    get_hash = arm.hash_getters[0]
    hash_kind, range_kind = plan_.hash_type, plan_.range_type
    base = {"TableName": table_name, "KeyConditionExpression": arm.key_text,
            "ExpressionAttributeNames": arm.names, "ScanIndexForward": plan_.forward}
    if arm.filter_text is not None:
        base["FilterExpression"] = arm.filter_text
    sort_getters = arm.sort_getters
    ordered = arm.sort_op not in (None, "=", "begins_with")
    begins = arm.sort_op == "begins_with"
    bind = arm.renderer.bind
    run_query = query.run
    kinds = _KEY_KINDS

    def answer(engine, params):
        table = engine.tables.get(table_name)
        if table is None or table.schema is not schema:
            return None
        if not _parameters_fit(params, count):
            return None
        h = get_hash(params)
        if kinds.get(type(h)) != hash_kind:
            return None
        values = bind(params) or {}
        values[":h"] = h
        for i, get in enumerate(sort_getters):
            value = get(params)
            if kinds.get(type(value)) != range_kind or (begins and range_kind == "N"):
                return None
            if ordered:
                check_ordered(arm.sort_op, value)
            values[f":s{i}"] = value
        call = dict(base)
        call["ExpressionAttributeValues"] = values
        metrics = engine.metrics
        if metrics is not None:            # the statement's read units (kvstore.metrics), as GetItem's
            call["ReturnConsumedCapacity"] = "TOTAL"
        try:
            response = run_query(engine, call, key_filter=True)
        except ValidationException as e:
            raise strip_expression_prefix(e) from None
        if metrics is not None:
            metrics.consumed_read(table_name, response["ConsumedCapacity"]["CapacityUnits"])
        out = {"Items": response["Items"]}
        if "LastEvaluatedKey" in response:
            request = {"Statement": text, "Parameters": params} if params else {"Statement": text}
            out["NextToken"] = encode_token(request, 0, response["LastEvaluatedKey"])
        return out
    return answer
