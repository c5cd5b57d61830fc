"""Templates: a request of a known shape gives exactly what a fresh compile of it gives.

compile_request remembers a template per request shape (texts, names, value
placeholders and value types) and only plugs in the values of later requests.
These tests compile a first request (which leaves the template), then a
second one of the same texts with other values, and compare the second with a
compile of it from empty caches: same error, or compiled objects that behave
the same on a set of items.
"""

import gc
import os
import sys
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvstore.errors import ValidationException
from kvstore.expressions import clear_cache, compile_request, templates
from kvstore.types import Binary, number, type_of

from tests.threads import run_interleaved

from .helpers import N, error

SETTINGS = settings(max_examples=int(os.environ.get("KV_EXPR_EXAMPLES", 200)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def empty_caches():
    clear_cache()
    yield
    clear_cache()


# ---------------------------------------------------------------- values by type

strings = st.one_of(st.text(max_size=3), st.sampled_from(["S", "N", "SS", "M", "L", "BOOL", "NULL", "XX", "", "ab"]))
numbers = st.one_of(st.integers(-3, 3), st.decimals(-100, 100, places=2)).map(number)
binaries = st.binary(max_size=3).map(Binary)
BY_TYPE = {
    "S": strings, "N": numbers, "B": binaries, "BOOL": st.booleans(), "NULL": st.none(),
    "SS": st.frozensets(strings, min_size=1, max_size=3).map(set),
    "NS": st.frozensets(numbers, min_size=1, max_size=3).map(set),
    "BS": st.frozensets(binaries, min_size=1, max_size=3).map(set),
    "L": st.lists(st.one_of(strings, numbers), max_size=3),
    "M": st.dictionaries(st.sampled_from("abxy"), st.one_of(strings, numbers), max_size=2),
}
any_value = st.sampled_from(sorted(BY_TYPE)).flatmap(lambda tag: BY_TYPE[tag])
odd_value = st.sampled_from([set(), frozenset(["a"]), 3, 1.5, object()])   # not native: errors either way


def same_type_as(value):
    try:
        return BY_TYPE[type_of(value)]
    except (TypeError, KeyError):
        return st.just(value)


# ---------------------------------------------------------------- expressions

PATHS = ["a", "b", "x.y", "a[0]", "#n", "#m", "c[1].a", "pk", "sk", "tags"]
VALUES = [":v", ":w", ":u"]
operand = st.one_of(st.sampled_from(PATHS), st.sampled_from(VALUES),
                    st.sampled_from(PATHS + VALUES).map(lambda o: f"size({o})"))
atom = st.one_of(
    st.tuples(operand, st.sampled_from(["=", "<>", "<", "<=", ">", ">="]), operand).map(" ".join),
    st.tuples(operand, operand, operand).map(lambda t: f"{t[0]} BETWEEN {t[1]} AND {t[2]}"),
    st.tuples(operand, st.lists(operand, min_size=1, max_size=3)).map(lambda t: f"{t[0]} IN ({', '.join(t[1])})"),
    st.tuples(st.sampled_from(["attribute_exists", "attribute_not_exists"]), st.sampled_from(PATHS))
      .map(lambda t: f"{t[0]}({t[1]})"),
    st.tuples(st.sampled_from(["contains", "begins_with", "attribute_type"]), operand, operand)
      .map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
)
conditions = st.recursive(atom, lambda c: st.one_of(
    st.tuples(c, st.sampled_from([" AND ", " OR "]), c).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
    c.map(lambda x: f"NOT ({x})")), max_leaves=4)

set_value = st.one_of(st.sampled_from(PATHS + VALUES), st.tuples(
    st.sampled_from(PATHS + VALUES), st.sampled_from(["+", "-"]), st.sampled_from(PATHS + VALUES))
    .map(" ".join), st.tuples(st.sampled_from(["if_not_exists", "list_append"]), st.sampled_from(PATHS + VALUES),
                              st.sampled_from(PATHS + VALUES)).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"))
action = st.one_of(
    st.tuples(st.sampled_from(PATHS), set_value).map(lambda t: ("SET", f"{t[0]} = {t[1]}")),
    st.sampled_from(PATHS).map(lambda p: ("REMOVE", p)),
    st.tuples(st.sampled_from(["ADD", "DELETE"]), st.sampled_from(PATHS), st.sampled_from(VALUES))
      .map(lambda t: (t[0], f"{t[1]} {t[2]}")),
)


def render_update(actions):
    sections = {}
    for keyword, text in actions:
        sections.setdefault(keyword, []).append(text)
    return " ".join(f"{k} {', '.join(v)}" for k, v in sections.items())


updates = st.lists(action, min_size=1, max_size=3).map(render_update)
key_conditions = st.one_of(
    st.tuples(st.sampled_from(["pk", "#n"]), st.sampled_from(VALUES)).map(lambda t: f"{t[0]} = {t[1]}"),
    st.tuples(st.sampled_from(["pk = :v", ":v = pk", "#n = :v"]), st.sampled_from([
        "sk = :w", "sk < :w", ":w >= sk", "sk BETWEEN :w AND :u", "begins_with(sk, :w)", "sk <> :w",
        "sk = :w OR sk = :u", "x.y = :w"])).map(lambda t: f"{t[0]} AND {t[1]}"),
    conditions,
)
projections = st.lists(st.sampled_from(PATHS), min_size=1, max_size=3).map(", ".join)
#: conditions whose checks look inside values (BETWEEN's bounds, attribute_type's type name)
value_checks = st.lists(st.sampled_from([
    "a BETWEEN :v AND :w", "attribute_type(b, :u)", "x.y BETWEEN :w AND :v", "attribute_type(#n, :v)", "c = :u",
    "size(a) BETWEEN :u AND :v"]), min_size=1, max_size=3).map(" AND ".join)

requests = st.one_of(
    st.fixed_dictionaries({"condition": conditions}).map(lambda r: ("PutItem", r)),
    st.fixed_dictionaries({"condition": value_checks}, optional={"update": updates}).map(lambda r: ("UpdateItem", r)),
    st.fixed_dictionaries({"key_condition": st.just("pk = :u AND sk BETWEEN :v AND :w")},
                          optional={"filter": value_checks}).map(lambda r: ("Query", r)),
    st.fixed_dictionaries({"filter": conditions}, optional={"projection": projections}).map(lambda r: ("Scan", r)),
    st.fixed_dictionaries({"key_condition": key_conditions}, optional={"filter": conditions})
      .map(lambda r: ("Query", r)),
    st.fixed_dictionaries({"update": updates}, optional={"condition": conditions})
      .map(lambda r: ("UpdateItem", r)),
    st.fixed_dictionaries({"projection": projections}).map(lambda r: ("GetItem", r)),
)
NAME_TARGETS = ["a", "x.y", "pk", "sk", "b"]
#: true one time in ten or so (hypothesis favours small integers, so not 0)
rarely = st.integers(0, 9).map(lambda n: n == 5)


@st.composite
def request_pairs(draw):
    """Two requests with the same texts and names; the second's values mostly of the first's types.

    The maps hold the placeholders the texts use, now and then one more or one less.
    """
    operation, texts = draw(requests)
    names = {k: draw(st.sampled_from(NAME_TARGETS)) for k in ("#n", "#m") if any(k in t for t in texts.values())}
    if draw(rarely):
        names = draw(st.sampled_from([{}, dict(names, **{"#z": "z"}), dict(list(names.items())[1:])]))
    names = names if names or draw(rarely) else None
    keys = [k for k in VALUES if any(k in t for t in texts.values())]
    if draw(rarely):
        keys = draw(st.lists(st.sampled_from(VALUES), unique=True, max_size=3))
    first, second = {}, {}
    values = draw(st.sampled_from([any_value, numbers, strings, st.one_of(strings, numbers)]))
    for k in keys:
        first[k] = draw(odd_value if draw(rarely) and draw(rarely) else values)
        second[k] = draw(any_value if draw(rarely) else same_type_as(first[k]))
    if not keys:
        first = second = {} if draw(rarely) else None
    return operation, texts, names, first, second


# ---------------------------------------------------------------- behaviour of a compiled request

ITEMS = [
    {},
    {"pk": "h", "sk": N(1), "a": "ab", "b": N(2), "x": {"y": N(3)}, "tags": {"S", "vip"}},
    {"pk": "h", "sk": N(7), "a": [N(1), "S"], "b": "S", "c": [N(0), {"a": Binary(b"\x01")}], "tags": {N(1), N(2)}},
    {"a": {"b": "x"}, "b": {"a", "b"}, "x": {"y": [N(1)]}, "sk": "abc", "tags": [N(1), N(2)]},
    {"a": N(-3), "b": True, "x": {"y": None}, "c": [N(1), N(2)], "tags": {Binary(b"a")}},
    {"a": Binary(b"ab"), "b": N("2.5"), "pk": Binary(b"\x00"), "sk": N(0), "tags": "SS"},
]
SCHEMAS = [("pk", "sk", {"pk": "S", "sk": "N"}), ("pk", "sk", {"pk": "S", "sk": "S"}), ("pk", None, {"pk": "S"}),
           ("a", "sk", {"a": "B", "sk": "N"})]


def canon(value):
    """A hashable picture of a native value that keeps its DynamoDB type (True is not 1)."""
    t = type(value)
    if t is dict:
        return ("M", tuple(sorted((k, canon(v)) for k, v in value.items())))
    if t is list:
        return ("L", tuple(canon(v) for v in value))
    if t is set or t is frozenset:
        return ("set", tuple(sorted(repr(canon(v)) for v in value)))
    if t is Binary:
        return ("B", value.value)
    return (t.__name__, repr(value))


def attempt(fn):
    try:
        return ("ok", fn())
    except ValidationException as e:
        return ("error", type(e).__name__, e.message)


def behaviour(compiled):
    """What a compiled request does with the test items, as comparable data."""
    out = []
    for condition in (compiled.condition, compiled.filter):
        if condition is None:
            out.append(None)
        else:
            out.append((sorted(condition.top_level_names), sorted(condition.nested_top_level_names),
                        [condition.evaluate(item) for item in ITEMS], condition.evaluate(None)))
    key = compiled.key_condition
    if key is None:
        out.append(None)
    else:
        resolved = []
        for hash_name, range_name, types in SCHEMAS:
            r = attempt(lambda: key.resolve(hash_name, range_name, types))
            if r[0] == "ok":
                r = ("ok", canon(r[1].hash_value), r[1].range_op, canon(list(r[1].range_values)), r[1].names,
                     [r[1].matches_range(v) for v in (N(1), N(5), "ab", Binary(b"a"))])
            resolved.append(r)
        out.append((sorted(key.top_level_names), sorted(key.nested_top_level_names), key.legacy,
                    sorted((name, op, canon(list(values))) for name, (op, values) in key.conditions.items()),
                    resolved))
    update = compiled.update
    if update is None:
        out.append(None)
    else:
        applied = []
        for item in ITEMS:
            r = attempt(lambda: update.apply(item, True))
            if r[0] == "ok":
                r = ("ok", canon(r[1]), canon(update.updated_old(item)), canon(update.updated_new(r[1])))
            applied.append(r)
        applied.append(canon(attempt(lambda: update.apply({"pk": "h"}, False))))
        out.append((update.target_paths, update.only_removes, sorted(update.top_level_names),
                    sorted(update.nested_top_level_names), applied,
                    attempt(lambda: update.check_keys(("pk", "sk"), ("b",)))))
    projection = compiled.projection
    out.append(None if projection is None else (projection.paths, sorted(projection.top_level_names),
                                                sorted(projection.nested_top_level_names),
                                                [canon(projection.apply(item)) for item in ITEMS]))
    return out


def outcome(operation, texts, names, values):
    try:
        compiled = compile_request(operation, names=names, values=values, **texts)
    except ValidationException as e:
        return ("error", e.message), None
    except Exception as e:  # noqa: BLE001 (an unexpected error must at least be the same one)
        return ("raised", type(e).__name__, str(e)), None
    return ("ok", behaviour(compiled)), compiled


# ---------------------------------------------------------------- the property

@SETTINGS
@given(pair=request_pairs())
def test_a_template_gives_what_a_fresh_compile_gives(pair):
    operation, texts, names, first, second = pair
    clear_cache()
    first_result, first_compiled = outcome(operation, texts, names, first)
    through_template, _ = outcome(operation, texts, names, second)
    clear_cache()
    fresh, _ = outcome(operation, texts, names, second)
    assert through_template == fresh
    if first_compiled is not None:           # the second request did not change what the first one holds
        assert ("ok", behaviour(first_compiled)) == first_result


@SETTINGS
@given(pair=request_pairs())
def test_the_same_request_twice_gives_the_same_result(pair):
    operation, texts, names, first, _ = pair
    clear_cache()
    assert outcome(operation, texts, names, first)[0] == outcome(operation, texts, names, first)[0]


def test_the_generated_pairs_use_templates():
    """Guard for the property above: a valid first request leaves a template the second one uses."""
    compile_request("Query", key_condition="pk = :p AND sk >= :s", values={":p": "a", ":s": N(1)})
    assert len(templates.TEMPLATES) == 1
    key = compile_request("Query", key_condition="pk = :p AND sk >= :s", values={":p": "b", ":s": N(2)})
    assert len(templates.TEMPLATES) == 1
    assert key.key_condition.conditions == {"pk": ("EQ", ("b",)), "sk": ("GE", (N(2),))}


# ---------------------------------------------------------------- the checks that look inside values

def test_between_bounds_are_checked_for_every_request():
    text = "a BETWEEN :lo AND :hi"
    assert compile_request("PutItem", condition=text, values={":lo": N(1), ":hi": N(2)}).condition({"a": N(1)})
    assert error(condition=text, values={":lo": N(3), ":hi": N(2)}) == (
        "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to "
        "lower bound; lower bound operand: AttributeValue: {N:3}, upper bound operand: AttributeValue: {N:2}")
    assert error(condition=text, values={":lo": "b", ":hi": N(2)}).startswith(
        "Invalid ConditionExpression: The BETWEEN operator requires same data type")


def test_key_condition_between_bounds_are_checked_for_every_request():
    text = "pk = :p AND sk BETWEEN :lo AND :hi"
    compile_request("Query", key_condition=text, values={":p": "h", ":lo": "a", ":hi": "b"})
    assert error("Query", key_condition=text, values={":p": "h", ":lo": "b", ":hi": "a"}) == (
        "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to "
        "lower bound; lower bound operand: AttributeValue: {S:b}, upper bound operand: AttributeValue: {S:a}")


def test_value_checks_keep_their_order_across_expressions():
    """The update is checked before the condition, whatever the template saw."""
    request = {"update": "SET x = :x", "condition": "attribute_type(a, :t) AND b BETWEEN :lo AND :hi"}
    good = {":x": N(1), ":t": "S", ":lo": N(1), ":hi": N(2)}
    compile_request("UpdateItem", values=good, **request)
    bad_both = dict(good, **{":t": "XX", ":lo": N(5)})
    assert error("UpdateItem", values=bad_both, **request) == (
        "Invalid ConditionExpression: Invalid attribute type name found; type: XX, "
        "valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}")
    assert error("UpdateItem", values=dict(good, **{":lo": N(5)}), **request).startswith(
        "Invalid ConditionExpression: The BETWEEN operator requires upper bound")


def test_attribute_type_name_is_checked_for_every_request():
    text = "attribute_type(a, :t)"
    assert compile_request("PutItem", condition=text, values={":t": "N"}).condition({"a": N(1)})
    assert error(condition=text, values={":t": "number"}) == (
        "Invalid ConditionExpression: Invalid attribute type name found; type: number, "
        "valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}")
    assert not compile_request("PutItem", condition=text, values={":t": "S"}).condition({"a": N(1)})


# ---------------------------------------------------------------- what the shape key must tell apart

def test_set_member_types_are_part_of_the_shape():
    update = "ADD s :v"
    compile_request("UpdateItem", update=update, values={":v": {"a"}})
    added = compile_request("UpdateItem", update=update, values={":v": {N(1)}}).update
    assert added.apply({"s": {N(2)}}) == {"s": {N(1), N(2)}}
    assert error("UpdateItem", update=update, values={":v": set()}) == (
        "ExpressionAttributeValues contains invalid value: Supplied AttributeValue is not a valid DynamoDB value "
        "for key :v")
    assert compile_request("UpdateItem", update=update, values={":v": {"b"}}).update.apply({}) == {"s": {"b"}}


def test_value_types_are_part_of_the_shape():
    compile_request("PutItem", condition="a < :v", values={":v": N(1)})
    assert error(condition="a < :v", values={":v": True}) == (
        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: <, "
        "operand type: BOOL")
    compile_request("PutItem", condition="a = :v", values={":v": "1"})
    assert compile_request("PutItem", condition="a = :v", values={":v": N(1)}).condition({"a": N(1)})
    assert not compile_request("PutItem", condition="a = :v", values={":v": True}).condition({"a": N(1)})


def test_missing_and_empty_maps_are_different_shapes():
    compile_request("PutItem", condition="attribute_exists(a)")
    assert error(condition="attribute_exists(a)", values={}) == "ExpressionAttributeValues must not be empty"
    assert error(condition="attribute_exists(a)", names={}) == "ExpressionAttributeNames must not be empty"


def test_placeholder_order_is_part_of_the_shape():
    text = "a = :a AND b = :b"
    compile_request("PutItem", condition=text, values={":a": "x", ":b": N(1)})
    condition = compile_request("PutItem", condition=text, values={":b": N(2), ":a": "y"}).condition
    assert condition({"a": "y", "b": N(2)}) and not condition({"a": "x", "b": N(1)})


class _Text(str):
    """A str subclass: compile_request wants exact strings."""


@pytest.mark.parametrize("request_kwargs, message", [
    ({"condition": _Text("a = :v"), "values": {":v": N(1)}}, "Invalid ConditionExpression: The expression must be "
                                                              "a string"),
    ({"condition": "#a = :v", "names": {"#a": _Text("a")}, "values": {":v": N(1)}},
     "ExpressionAttributeNames contains invalid value: 'a' is not a string for key #a"),
    ({"condition": "#a = :v", "names": {_Text("#a"): "a"}, "values": {":v": N(1)}},
     'ExpressionAttributeNames contains invalid key: Syntax error; key: "#a"'),
    ({"condition": "#a = :v", "names": {"#a": "a"}, "values": {_Text(":v"): N(1)}},
     'ExpressionAttributeValues contains invalid key: Syntax error; key: ":v"'),
])
def test_exact_strings_are_part_of_the_shape(request_kwargs, message):
    plain = {k: ({str(a): str(b) if type(b) is _Text else b for a, b in v.items()} if type(v) is dict else str(v))
             for k, v in request_kwargs.items()}
    compile_request("PutItem", **plain)
    assert error(**request_kwargs).startswith(message)


def test_errors_do_not_leave_templates():
    assert error(condition="a = :v AND #b = :w", names={"#c": "b"}, values={":v": N(1), ":w": N(2)})
    assert templates.TEMPLATES == {}
    assert compile_request("PutItem", condition="a = :v", values={":v": N(1)}).condition({"a": N(1)})
    assert len(templates.TEMPLATES) == 1


# ---------------------------------------------------------------- sharing, memory, bounds

def test_requests_on_several_threads_see_only_their_own_values():
    failures = []

    def work(me):
        for i in range(300):
            value = N(me * 1000 + i)
            compiled = compile_request("UpdateItem", condition="version = :v", update="SET a = :a, b = b + :n",
                                       values={":v": value, ":a": str(value), ":n": value})
            if not (compiled.condition({"version": value}) and compiled.update.apply({"b": N(0)})
                    == {"a": str(value), "b": value}):
                failures.append((me, i))
            key = compile_request("Query", key_condition="pk = :p", values={":p": str(value)}).key_condition
            if key.conditions != {"pk": ("EQ", (str(value),))}:
                failures.append((me, i, "key"))

    run_interleaved(work, [(n,) for n in range(4)])
    assert failures == []


def test_objects_that_read_no_value_are_shared_and_the_others_are_not():
    first = compile_request("GetItem", projection="a, b.c")
    assert compile_request("GetItem", projection="a, b.c").projection is first.projection
    one = compile_request("PutItem", condition="a = :v", values={":v": N(1)}).condition
    two = compile_request("PutItem", condition="a = :v", values={":v": N(2)}).condition
    assert one is not two and one({"a": N(1)}) and two({"a": N(2)}) and not one({"a": N(2)})


BIG = "x" * 100_000


@pytest.mark.parametrize("operation, texts, values", [
    ("PutItem", {"condition": "a = :v AND b IN (:v, :w) AND c BETWEEN :v AND :w AND attribute_type(d, :t)"},
     lambda v, w: {":v": v, ":w": w, ":t": "S"}),
    ("UpdateItem", {"update": "SET a = :v, b = list_append(:w, b) ADD c :s", "condition": "size(e) > :n"},
     lambda v, w: {":v": v, ":w": [w], ":s": {v}, ":n": N(1)}),
    ("Query", {"key_condition": "pk = :v AND sk BETWEEN :v AND :w", "filter": "contains(a, :v)"},
     lambda v, w: {":v": v, ":w": w}),
])
def test_templates_do_not_keep_values_alive(operation, texts, values):
    v, w = BIG + "v", BIG + "w"
    before = sys.getrefcount(v), sys.getrefcount(w)
    compiled = compile_request(operation, values=values(v, w), **texts)
    assert compiled is not None and templates.TEMPLATES
    del compiled
    gc.collect()
    assert (sys.getrefcount(v), sys.getrefcount(w)) == before


def test_the_template_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(templates, "SIZE", 8)
    for i in range(30):
        compile_request("PutItem", condition=f"a{i} = :v", values={":v": N(i)})
        assert len(templates.TEMPLATES) <= 8
    assert compile_request("PutItem", condition="a29 = :v", values={":v": N(1)}).condition({"a29": N(1)})


def test_large_names_get_no_template():
    names = {"#a": "n" * 20_000}
    condition = compile_request("PutItem", condition="#a = :v", names=names, values={":v": Decimal(1)}).condition
    assert condition({"n" * 20_000: N(1)})
    assert templates.TEMPLATES == {}


@SETTINGS
@given(first=any_value, second=any_value)
def test_equality_with_any_two_values(first, second):
    """``a = :v`` built for one value answers for another exactly as a fresh compile."""
    item = {"a": first}
    compile_request("PutItem", condition="a = :v", values={":v": first})
    through_template = compile_request("PutItem", condition="a = :v", values={":v": second}).condition(item)
    clear_cache()
    assert through_template is compile_request("PutItem", condition="a = :v", values={":v": second}).condition(item)
