"""Condition and update programs (kvstore.expressions.programs): the compiled evaluator
(``kvstore._ccore``), its pure-Python twin (``kvstore._pycore``) and the general
evaluator (kvstore.expressions.evaluate / update) agree on random items and
expressions of the covered shapes, errors (type and message) included; shapes
outside them keep the general evaluator.
"""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from kvstore.errors import ValidationException
from kvstore.expressions import parser, request
from kvstore.expressions.evaluate import compile_condition
from kvstore.expressions.programs import condition_program, update_program
from kvstore.expressions.update import _apply_map
from kvstore.expressions.validate import Binder
from kvstore.types import Binary

from tests.cores import ccore, needs_ccore, pycore

relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                   max_examples=300)

BIG = Decimal("9" * 38)                     # the largest 38-digit integer
numbers = st.one_of(st.integers(-20, 20).map(Decimal),
                    st.sampled_from([BIG, -BIG, Decimal("0.5"), Decimal("-1.25"), Decimal("1E+125"),
                                     Decimal("9.9E+125"), Decimal("1E-130"), Decimal("-1E-130"), Decimal("0.1"),
                                     Decimal("12345678901234567890123456789012345678"), Decimal("1E+100")]))
scalars = st.one_of(numbers, st.sampled_from(["", "a", "b", "ab", "é"]), st.booleans(), st.none(),
                    st.sampled_from([Binary(b""), Binary(b"a"), Binary(b"\xff")]))
sets = st.one_of(st.frozensets(numbers, min_size=1, max_size=3).map(set),
                 st.frozensets(st.sampled_from(["a", "b"]), min_size=1).map(set))
values = st.recursive(st.one_of(scalars, sets),
                      lambda inner: st.one_of(st.lists(inner, max_size=3),
                                              st.dictionaries(st.sampled_from(["x", "y", "z"]), inner, max_size=3)),
                      max_leaves=8)
names = st.sampled_from(["a", "b", "n", "m", "l"])
items = st.dictionaries(names, values, max_size=5).map(lambda d: {"pk": "k", **d})

PATHS = ["a", "b", "n", "m", "m.x", "m.y", "m.x.y", "l[0]", "l[1]", "m.z[0]", "#r", "m.#r"]


@st.composite
def conditions(draw, depth=0):
    kind = draw(st.sampled_from(["exists", "cmp", "cmp"] + (["and", "or", "not"] if depth < 3 else [])))
    if kind == "exists":
        return f"{draw(st.sampled_from(['attribute_exists', 'attribute_not_exists']))}({draw(st.sampled_from(PATHS))})"
    if kind == "cmp":
        path, value = draw(st.sampled_from(PATHS)), draw(st.sampled_from([":v0", ":v1", ":v2"]))
        op = draw(st.sampled_from(["=", "<>", "<", "<=", ">", ">="]))
        return f"{path} {op} {value}" if draw(st.booleans()) else f"{value} {op} {path}"
    if kind == "not":
        return f"NOT ({draw(conditions(depth + 1))})"
    word = " AND " if kind == "and" else " OR "
    return "(" + word.join(draw(st.lists(conditions(depth + 1), min_size=2, max_size=3))) + ")"


TARGETS = ["a", "b", "n", "m.x", "m.y", "m.z.q", "m.#r", "#r"]
SOURCES = ["a", "b", "n", "m.x", "l[0]", "m.z.q", "#r"]


@st.composite
def updates(draw):
    targets = draw(st.lists(st.sampled_from(TARGETS), min_size=1, max_size=4, unique=True))
    clauses = {"SET": [], "REMOVE": [], "ADD": []}
    for target in targets:
        kind = draw(st.sampled_from(["SET", "SET", "SET", "REMOVE", "ADD"]))
        if kind == "SET":
            value = draw(st.sampled_from([":v0", ":v1", "P", "P + :v0", ":v1 - P", "if_not_exists(P, :v2)",
                                          "if_not_exists(P, :v0) + :v1", "P - P"]))
            while "P" in value:
                value = value.replace("P", draw(st.sampled_from(SOURCES)), 1)
            clauses["SET"].append(f"{target} = {value}")
        elif kind == "REMOVE":
            clauses["REMOVE"].append(target)
        else:
            clauses["ADD"].append(f"{target} {draw(st.sampled_from([':v0', ':v1', ':v2']))}")
    return " ".join(f"{k} {', '.join(v)}" for k, v in clauses.items() if v)


def _used(text, vals):
    return {k: v for k, v in vals.items() if k in text}


def _outcome(function, *args):
    try:
        return "ok", function(*args)
    except ValidationException as e:
        return type(e), e.message


def _same(a, b):
    assert a[0] == b[0], (a, b)
    if a[0] == "ok":
        assert repr(a[1]) == repr(b[1]), (a, b)
    else:
        assert a == b


def _bound_condition(text, names, eav):
    binder = Binder(names, eav)
    binder.start("ConditionExpression")
    return binder.condition(parser.parse_condition(text))


@relaxed
@given(conditions(), st.fixed_dictionaries({":v0": values, ":v1": scalars, ":v2": numbers}), items)
@example("attribute_exists(pk) AND cnt < :v0", {":v0": Decimal(10)}, {"pk": "k", "cnt": Decimal(5)})
@example("l[1] = :v0", {":v0": "b"}, {"pk": "k", "l": ["a", "b"]})
@example("m.x >= :v0", {":v0": Binary(b"a")}, {"pk": "k", "m": {"x": Binary(b"b")}})
def test_condition_programs_agree_with_the_evaluator(text, vals, item):
    eav = _used(text, vals)
    names = {"#r": "n"} if "#r" in text else None
    try:
        compiled = request.compile_request("UpdateItem", condition=text, names=names, values=eav or None)
    except ValidationException:
        assume(False)
    bound = _bound_condition(text, names, eav)
    program = condition_program(bound)
    assert program is not None
    slots = tuple(eav.values())
    general = compile_condition(bound, slots)
    for candidate in (item, None, {}):
        expected = general(candidate or {})
        assert compiled.condition.evaluate(candidate) is expected
        assert pycore.condition_holds(program, candidate, slots) is expected
        if ccore is not None:
            assert ccore.condition_holds(program, candidate, slots) is expected


@relaxed
@given(updates(), st.fixed_dictionaries({":v0": st.one_of(numbers, values), ":v1": numbers, ":v2": scalars}), items,
       st.booleans())
@example("SET cnt = cnt + :v0", {":v0": Decimal(1)}, {"pk": "k", "cnt": BIG}, True)
@example("SET m.x = :v0, m.y = m.x", {":v0": {"x": [Decimal(1)]}}, {"pk": "k", "m": {"x": {"y": "z"}}}, True)
@example("ADD n :v0 REMOVE a", {":v0": Decimal("0.5")}, {"pk": "k", "n": Decimal("9.9E+125"), "a": "x"}, True)
@example("SET m.z.q = :v1", {":v1": Decimal(1)}, {"pk": "k", "m": {"z": ["q"]}}, True)
def test_update_programs_agree_with_the_evaluator(text, vals, item, existed):
    eav = _used(text, vals)
    names = {"#r": "n"} if "#r" in text else None
    try:
        compiled = request.compile_request("UpdateItem", update=text, names=names, values=eav or None)
    except ValidationException:
        assume(False)
    update = compiled.update
    program = update.plan.program
    start = item if existed else {"pk": "k"}
    slots = tuple(eav.values())
    expected = _outcome(_apply_map, update.plan.tree, start, start, slots)
    _same(_outcome(update.apply, start, existed), expected if (existed or not update.only_removes)
          else ("ok", dict(start)))
    if program is None:                      # only ADD of a set is outside the programs here
        assert "ADD" in text and any(type(v) is set for v in eav.values())
        return
    _same(_outcome(pycore.apply_update, program, start, slots), expected)
    if ccore is not None:
        _same(_outcome(ccore.apply_update, program, start, slots), expected)
    assert item == item      # (not changed: the item is shared with the table)


def test_uncovered_shapes_keep_the_general_evaluator():
    vals = {":v": "a", ":l": [Decimal(1)], ":s": {"a"}, ":t": "S"}
    for text in ("begins_with(a, :v)", "contains(a, :v)", "size(a) > :v", "a IN (:v)", "a BETWEEN :v AND :v",
                 "attribute_type(a, :t)", "a = b"):
        bound = _bound_condition(text, None, _used(text, vals))
        assert condition_program(bound) is None, text
    for text, eav in (("SET a = list_append(a, :l)", {":l": [Decimal(1)]}), ("DELETE a :s", {":s": {"a"}}),
                      ("SET l[0] = :v", {":v": "a"}), ("ADD a :s", {":s": {"a"}})):
        compiled = request.compile_request("UpdateItem", update=text, values=eav)
        assert compiled.update.plan.program is None, text


@needs_ccore
@relaxed
@given(st.recursive(st.one_of(st.tuples(st.sampled_from([0, 1]), st.lists(st.one_of(names, st.integers(0, 2)),
                                                                        max_size=3).map(tuple)),
                              st.tuples(st.just(2), st.integers(0, 5), st.lists(names, max_size=2).map(tuple),
                                        st.integers(0, 3))),
                    lambda inner: st.one_of(st.tuples(st.sampled_from([3, 4]), st.lists(inner, max_size=3).map(tuple)),
                                            st.tuples(st.just(5), inner)), max_leaves=6),
       st.one_of(items, st.none()), st.lists(values, max_size=3).map(tuple))
def test_condition_holds_agrees(program, item, vals):
    assert (pycore_outcome(pycore.condition_holds, program, item, vals)
            == pycore_outcome(ccore.condition_holds, program, item, vals))


def pycore_outcome(function, *args):
    try:
        return "ok", repr(function(*args))
    except Exception as e:   # noqa: BLE001 - the reference's error, whatever it is
        return type(e), str(e)


operands = st.recursive(
    st.one_of(st.tuples(st.just(0), st.integers(0, 3)),
              st.tuples(st.just(1), st.lists(st.one_of(names, st.sampled_from(["x", "y"]), st.integers(0, 1)),
                                             min_size=1, max_size=3).map(tuple))),
    lambda inner: st.one_of(st.tuples(st.sampled_from([2, 3]), inner, inner),
                            st.tuples(st.just(4), st.tuples(st.just(1), st.tuples(names)), inner)),
    max_leaves=4)
entries = st.recursive(
    st.one_of(st.tuples(names, st.just(0), operands, st.integers(1, 3)),
              st.tuples(names, st.just(1), st.none(), st.integers(1, 3)),
              st.tuples(names, st.just(2), st.integers(0, 3), st.integers(1, 3))),
    lambda inner: st.tuples(st.sampled_from(["m", "x", "y"]), st.just(3),
                            st.lists(inner, max_size=3).map(tuple), st.integers(1, 3)),
    max_leaves=6)


@needs_ccore
@relaxed
@given(st.lists(entries, max_size=4).map(tuple), items, st.lists(st.one_of(numbers, values), max_size=4).map(tuple))
def test_apply_update_agrees(program, item, vals):
    before = repr(item)
    assert (pycore_outcome(pycore.apply_update, program, item, vals)
            == pycore_outcome(ccore.apply_update, program, item, vals))
    assert repr(item) == before


@needs_ccore
@relaxed
@given(numbers, numbers, st.booleans())
@example(BIG, Decimal(1), False)
@example(-BIG, Decimal(1), True)
@example(Decimal("9.9E+125"), Decimal("1E+125"), False)
@example(Decimal("1E-130"), Decimal("1E-131"), True)
@example(Decimal("0.5"), Decimal("0.5"), True)
@example(Decimal("1E+100"), Decimal("1"), False)
def test_number_add_agrees(a, b, subtract):
    assert (pycore_outcome(pycore.number_add, a, b, subtract)
            == pycore_outcome(ccore.number_add, a, b, subtract))


def test_number_add_errors_are_dynamodbs():
    for core in (pycore, ccore) if ccore is not None else (pycore,):
        with pytest.raises(ValidationException, match="Number overflow. Attempting to store a number with "
                                                      "magnitude larger than supported range"):
            core.number_add(BIG, Decimal(2))           # 39 digits
        with pytest.raises(ValidationException, match="Number overflow"):
            core.number_add(Decimal("9.9E+125"), Decimal("1E+125"))
        with pytest.raises(ValidationException, match="Number underflow"):
            core.number_add(Decimal("1E-130"), Decimal("1E-131"), True)
        assert repr(core.number_add(Decimal("0.5"), Decimal("0.5"))) == "Decimal('1')"
        assert repr(core.number_add(Decimal("1.5"), Decimal("0.5"), True)) == "Decimal('1')"
        assert repr(core.number_add(BIG, Decimal(1))) == "Decimal('1" + "0" * 38 + "')"   # one digit: no overflow
