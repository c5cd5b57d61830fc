"""Deep expressions: bounded by DynamoDB's limits and their errors, never by Python's recursion limit.

DynamoDB counts at most 300 operators per expression and 32 components per
document path; nesting no valid expression reaches is refused before parsing
with the error DynamoDB gives (kvstore.expressions.parser.MAX_PAREN_DEPTH).
kvstore leaves the interpreter's recursion limit alone, so the deepest valid
expressions must fit in Python's default 1000 frames with room for the caller.
"""

import subprocess
import sys

import pytest

from kvstore.expressions import clear_cache, compile_request

from .helpers import N, error

OPERATORS = "Invalid ConditionExpression: The expression contains too many operators; operator count: 301"
REDUNDANT = "Invalid ConditionExpression: The expression has redundant parentheses;"
#: frames a compile or an evaluation may take beyond its caller's (Python's default limit is 1000)
FRAME_BUDGET = 700


def frames_used(fn):
    """(result, the deepest Python stack ``fn`` reached, counted from the caller)."""
    deepest = [0]

    def profile(frame, event, arg):
        if event == "call":
            depth = 0
            while frame is not None:
                depth += 1
                frame = frame.f_back
            deepest[0] = max(deepest[0], depth)
    base = len(_stack())
    sys.setprofile(profile)
    try:
        result = fn()
    finally:
        sys.setprofile(None)
    return result, deepest[0] - base


def _stack():
    frames, frame = [], sys._getframe(1)
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    return frames


def test_importing_kvstore_leaves_the_recursion_limit_alone():
    code = ("import sys; before = sys.getrecursionlimit(); import kvstore, kvstore.api, kvstore.expressions, "
            "kvstore.operations, kvstore.server; print(before, sys.getrecursionlimit())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == out[1]


# the deepest expressions DynamoDB accepts: 300 operators, each nesting level costing one or two
DEEPEST_VALID = [
    ("NOT groups", "PutItem", {"condition": "NOT (" * 299 + "a = :v" + ")" * 299}, False),
    ("OR groups", "PutItem", {"condition": "(a = :w OR " * 149 + "a = :v" + ")" * 149}, True),
    ("AND groups", "Scan", {"filter": "(a = :v AND " * 149 + "a = :v" + ")" * 149}, True),
    ("if_not_exists", "UpdateItem", {"update": "SET a = " + "if_not_exists(a," * 240 + ":v" + ")" * 240}, None),
]


@pytest.mark.parametrize("label, operation, args, expected", DEEPEST_VALID, ids=[c[0] for c in DEEPEST_VALID])
def test_the_deepest_valid_expressions_compile_and_run_within_the_default_recursion_limit(
        label, operation, args, expected):
    clear_cache()
    values = {":v": N(1), ":w": N(2)} if label == "OR groups" else {":v": N(1)}
    compiled, frames = frames_used(lambda: compile_request(operation, values=values, **args))
    assert frames < FRAME_BUDGET
    item = {"a": N(1)}
    if compiled.update is not None:
        result, frames = frames_used(lambda: compiled.update.apply({"b": N(5)}, True))
        assert result == {"a": N(1), "b": N(5)}     # a is missing: every if_not_exists falls through to :v
    else:
        condition = compiled.condition or compiled.filter
        result, frames = frames_used(lambda: condition.evaluate(item))
        assert result is expected
    assert frames < FRAME_BUDGET


OVER_DEEP = [
    ("301 NOT groups", "NOT (" * 301 + "a = :v" + ")" * 301, OPERATORS),
    ("1000 NOTs", "NOT " * 1000 + "a = :v", OPERATORS),
    ("301 OR groups", "(a = :v OR " * 301 + "a = :v" + ")" * 301, OPERATORS),
    ("301 functions", "f(" * 301 + "a" + ")" * 301, OPERATORS),
    ("2000 parentheses", "(" * 2000 + "a = :v" + ")" * 2000, REDUNDANT),
    ("300 parentheses", "(" * 300 + "a = :v" + ")" * 300, REDUNDANT),
    ("300 operand parentheses", "(" * 300 + "a" + ")" * 300 + " = :v", REDUNDANT),
    ("33 path components", ".".join(["a"] * 33) + " = :v",
     "Invalid ConditionExpression: The document path has too many nesting levels; nesting levels: 33"),
    ("1000 path components", ".".join(["a"] * 1000) + " = :v",
     "Invalid ConditionExpression: The document path has too many nesting levels; nesting levels: 1000"),
    ("1000 list indexes", "a" + "[0]" * 1000 + " = :v",
     "Invalid ConditionExpression: The document path has too many nesting levels; nesting levels: 1001"),
]


@pytest.mark.parametrize("label, text, message", OVER_DEEP, ids=[c[0] for c in OVER_DEEP])
def test_over_deep_conditions_get_dynamodbs_error(label, text, message):
    clear_cache()
    assert error(condition=text, values={":v": N(1)}) == message


def test_over_deep_update_values_get_dynamodbs_error():
    clear_cache()
    assert error("UpdateItem", update="SET a = " + "(" * 1000 + ":v" + ")" * 1000, values={":v": N(1)}) == (
        "Invalid UpdateExpression: The expression has redundant parentheses;")
    assert error("UpdateItem", update="SET a = " + "(" * 300 + ":v" + ")" * 300, values={":v": N(1)}) == (
        "Invalid UpdateExpression: The expression has redundant parentheses;")


@pytest.mark.parametrize("label, text, message", [OVER_DEEP[1], OVER_DEEP[4], OVER_DEEP[8]],
                         ids=[OVER_DEEP[1][0], OVER_DEEP[4][0], OVER_DEEP[8][0]])
def test_over_deep_conditions_are_refused_on_every_face(dynamodb, label, text, message):
    table = dynamodb.create_table(TableName="deep", BillingMode="PAY_PER_REQUEST",
                                  KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                  AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    with pytest.raises(Exception) as e:
        table.put_item(Item={"pk": "a"}, ConditionExpression=text, ExpressionAttributeValues={":v": 1})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"] == message
    assert "Item" not in table.get_item(Key={"pk": "a"})
