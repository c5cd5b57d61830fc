"""Running a planned SELECT: GetItem, or pages of Scans / Queries with NextToken.

A page ends where the operation's page ends (``Limit`` items evaluated, or
1 MB); the NextToken names the run (which Query of the plan) and its
LastEvaluatedKey, and is bound to the statement and parameters it was issued
for.  Nested projections are renamed to their last step here.
"""

import base64
import hashlib
import json

from kvstore.errors import DynamoDBError, ValidationException
from kvstore.operations import get_item, query, scan
from kvstore.partiql.cache import statement
from kvstore.partiql.errors import strip_expression_prefix
from kvstore.partiql.planner import key_matches, order_key
from kvstore.partiql.render import check_ordered
from kvstore.types import item_from_wire, item_to_wire, to_wire


def run_select(engine, plan_, params, request):
    """Run a planned SELECT: ``{"Items": [...], "NextToken"?, "ConsumedCapacity"?}``."""
    if plan_.gsi and request.get("ConsistentRead"):
        raise ValidationException("Strongly consistent read is not supported on Global Secondary Indexes")
    try:
        if plan_.kind == "get":
            return _get(engine, plan_, params, request)
        return _paged(engine, plan_, params, request)
    except ValidationException as e:
        raise strip_expression_prefix(e) from None


def get_request(plan_, params, request):
    """GetItem request of a full-key SELECT, or None when a key value cannot match the key's type."""
    key = {}
    for name, kind, get in plan_.key_getters:
        value = get(params)
        if not key_matches(value, kind):
            return None
        key[name] = value
    out = {"TableName": plan_.table, "Key": key}
    if plan_.projection_text is not None:
        out["ProjectionExpression"] = plan_.projection_text
        out["ExpressionAttributeNames"] = plan_.names
    if request.get("ConsistentRead"):
        out["ConsistentRead"] = True
    mode = request.get("ReturnConsumedCapacity")
    if mode is not None:
        out["ReturnConsumedCapacity"] = mode
    return out


def _get(engine, plan_, params, request):
    token = request.get("NextToken")
    if token is not None:
        decode_token(token, request)
        return {"Items": []}
    get = get_request(plan_, params, request)
    if get is None:
        return {"Items": []}
    response = get_item.run(engine, get, False)       # its capacity is the statement's
    item = response.get("Item")
    out = {"Items": [project(plan_, item)] if item is not None else []}
    if "ConsumedCapacity" in response:
        out["ConsumedCapacity"] = response["ConsumedCapacity"]
    return out


def project(plan_, item):
    """A nested projection comes back under its last step's name (``m.x`` -> ``{"x": ...}``)."""
    paths = plan_.projection
    if paths is None:
        return item
    out = {}
    for path in paths:
        node = item
        for step in path.steps:
            if isinstance(step, int):
                if type(node) is not list or step >= len(node):
                    break
            elif type(node) is not dict or step not in node:
                break
            node = node[step]
        else:
            out[path.last_name] = node
    return out


def _paged(engine, plan_, params, request):
    common = {"TableName": plan_.table}
    if plan_.index is not None:
        common["IndexName"] = plan_.index
    if request.get("ConsistentRead"):
        common["ConsistentRead"] = True
    mode = request.get("ReturnConsumedCapacity")
    if mode is not None:
        common["ReturnConsumedCapacity"] = mode
    limit = request.get("Limit")
    start, start_key = 0, None
    if request.get("NextToken") is not None:
        start, start_key = decode_token(request["NextToken"], request)
    runs = _runs(plan_, params)
    items = []
    consumed = None
    for position in range(start, len(runs)):
        arm, values = runs[position]
        call = dict(common)
        if arm.filter_text is not None:
            call["FilterExpression"] = arm.filter_text
        if arm.projection_text is not None:
            call["ProjectionExpression"] = arm.projection_text
        if arm.names:
            call["ExpressionAttributeNames"] = arm.names
        if values:
            call["ExpressionAttributeValues"] = values
        if limit is not None:
            call["Limit"] = limit
        if position == start and start_key is not None:
            call["ExclusiveStartKey"] = start_key
        if arm.key_text is not None:
            call["KeyConditionExpression"] = arm.key_text
            call["ScanIndexForward"] = plan_.forward
            response = query.run(engine, call, key_filter=True)
        else:
            response = scan.run(engine, call)
        if plan_.projection is None:
            items.extend(response["Items"])
        else:
            items.extend(project(plan_, item) for item in response["Items"])
        consumed = add_capacity(consumed, response.get("ConsumedCapacity"))
        if "LastEvaluatedKey" in response:
            return _page(items, consumed, request, position, response["LastEvaluatedKey"])
        if limit is not None:
            limit -= response["ScannedCount"]
            if limit <= 0:
                if position + 1 < len(runs):
                    return _page(items, consumed, request, position + 1, None)
                break
    return _page(items, consumed, request, None, None)


OVERLAP = "Overlapping conditions with range keys are not supported in where clause"


def _runs(plan_, params):
    """``[(arm, ExpressionAttributeValues)]``: the Scan, or one Query per (branch, partition value).

    A branch whose sort-key condition cannot match the key's type runs for no partition; two
    Queries of one partition whose sort-key ranges overlap are refused, as DynamoDB refuses them.
    """
    if plan_.kind == "scan":
        arm = plan_.arms[0]
        return [(arm, arm.renderer.bind(params))]
    runs = []
    for arm in plan_.arms:
        values = arm.renderer.bind(params) or {}
        sort_values = [get(params) for get in arm.sort_getters]
        matches = True
        for value in sort_values:
            if arm.sort_op != "=" and arm.sort_op != "begins_with":
                check_ordered(arm.sort_op, value)
            if not key_matches(value, plan_.range_type) or (
                    arm.sort_op == "begins_with" and plan_.range_type not in ("S", "B")):
                matches = False
        if not matches:
            continue
        for i, value in enumerate(sort_values):
            values[f":s{i}"] = value
        span = _span(arm.sort_op, sort_values)
        seen = set()
        for get in arm.hash_getters:
            h = get(params)
            if key_matches(h, plan_.hash_type) and h not in seen:
                seen.add(h)
                runs.append((h, span, arm, {**values, ":h": h}))
    if len(plan_.arms) > 1:
        for i, (h, span, _, _) in enumerate(runs):
            for other, other_span, _, _ in runs[:i]:
                if other == h and _overlap(span, other_span):
                    raise ValidationException(OVERLAP)
    if plan_.hash_order is not None:
        low = lambda run: (0,) if run[1][0] is None else (1, run[1][0])      # noqa: E731
        runs.sort(key=low, reverse=not plan_.forward)
        runs.sort(key=lambda run: order_key(run[0]), reverse=plan_.hash_order)
    return [(arm, values) for _, _, arm, values in runs]


def _span(op, values):
    """The sort-key range a key condition selects: ``(lo, lo_inclusive, hi, hi_inclusive)``, None = open."""
    if op is None:
        return (None, True, None, True)
    keys = [order_key(v) for v in values]
    if op == "=":
        return (keys[0], True, keys[0], True)
    if op in ("<", "<="):
        return (None, True, keys[0], op == "<=")
    if op in (">", ">="):
        return (keys[0], op == ">=", None, True)
    if op == "BETWEEN":
        return (keys[0], True, keys[1], True)
    rank, prefix = keys[0]
    return ((rank, prefix), True, (rank, prefix + b"\xff" * 8), True)          # begins_with


def _overlap(a, b):
    return not (_below(a[2], a[3], b[0], b[1]) or _below(b[2], b[3], a[0], a[1]))


def _below(hi, hi_inclusive, lo, lo_inclusive):
    if hi is None or lo is None:
        return False
    return hi < lo or (hi == lo and not (hi_inclusive and lo_inclusive))


def _page(items, consumed, request, position, last_key):
    out = {"Items": items}
    if position is not None:
        out["NextToken"] = encode_token(request, position, last_key)
    if consumed is not None:
        out["ConsumedCapacity"] = consumed
    elif request.get("ReturnConsumedCapacity") in ("TOTAL", "INDEXES"):
        out["ConsumedCapacity"] = {"TableName": _table_of(request), "CapacityUnits": 0.0,
                                   "ReadCapacityUnits": 0.0}
    return out


def _table_of(request):
    return statement(request["Statement"]).table


def add_capacity(total, more):
    if more is None:
        return total
    if total is None:
        return json.loads(json.dumps(more))
    for key, value in more.items():
        if isinstance(value, float):
            total[key] = total.get(key, 0.0) + value
        elif isinstance(value, dict):
            total[key] = add_capacity(total.get(key), value)
    return total


# ---------------------------------------------------------------- NextToken

def _fingerprint(request):
    params = request.get("Parameters") or []
    text = json.dumps([request["Statement"], [to_wire(p) for p in params]], sort_keys=True)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def encode_token(request, position, last_key):
    payload = [_fingerprint(request), position, item_to_wire(last_key) if last_key is not None else None]
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def decode_token(token, request):
    try:
        fingerprint, position, last_key = json.loads(base64.b64decode(token.encode(), validate=True))
        if fingerprint != _fingerprint(request) or type(position) is not int or position < 0:
            raise ValueError
        return position, (item_from_wire(last_key) if last_key is not None else None)
    except (ValueError, TypeError, AttributeError, DynamoDBError):
        raise ValidationException("NextToken does not match request") from None
