"""Properties: any input gives a result or a ValidationException; compiled objects never fail on items."""

import copy
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvstore.errors import ValidationException
from kvstore.expressions import compile_request
from kvstore.expressions.evaluate import deep_equal
from kvstore.types import Binary, number

#: KV_EXPR_EXAMPLES=5000 for a longer hunt
SETTINGS = settings(max_examples=int(os.environ.get("KV_EXPR_EXAMPLES", 250)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- strategies

numbers = st.one_of(st.integers(-10 ** 6, 10 ** 6), st.decimals(-10 ** 6, 10 ** 6, places=3)).map(number)
strings = st.text(max_size=4)
binaries = st.binary(max_size=4).map(Binary)
scalars = st.one_of(strings, numbers, binaries, st.booleans(), st.none())
sets = st.one_of(st.frozensets(strings, min_size=1, max_size=3), st.frozensets(numbers, min_size=1, max_size=3),
                 st.frozensets(binaries, min_size=1, max_size=3)).map(set)
values = st.recursive(st.one_of(scalars, sets),
                      lambda inner: st.one_of(st.lists(inner, max_size=3),
                                              st.dictionaries(st.sampled_from("abcxy"), inner, max_size=3)),
                      max_leaves=8)
items = st.dictionaries(st.sampled_from(["a", "b", "c", "x", "y", "pk"]), values, max_size=5)

TOKENS = ["a", "b", "c", "x", "#n", "#m", ":v", ":w", "(", ")", ",", ".", "[", "]", "0", "1", "2", "=", "<>", "<",
          "<=", ">", ">=", "AND", "OR", "NOT", "IN", "BETWEEN", "SET", "REMOVE", "ADD", "DELETE", "size",
          "contains", "begins_with", "attribute_exists", "attribute_not_exists", "attribute_type",
          "if_not_exists", "list_append", "+", "-", "status", "!", "foo", ""]
token_texts = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=14).map(" ".join)
KINDS = {"condition": "PutItem", "filter": "Scan", "key_condition": "Query", "update": "UpdateItem",
         "projection": "GetItem"}

names_maps = st.one_of(st.none(), st.just({"#n": "a", "#m": "x.y"}),
                       st.dictionaries(st.text(max_size=4), st.one_of(st.text(max_size=3), st.integers()),
                                       max_size=3))
values_maps = st.one_of(st.none(), st.fixed_dictionaries({":v": values, ":w": values}),
                        st.dictionaries(st.text(max_size=4), values, max_size=3))


def compile_or_none(kind, text, names, vals):
    try:
        return compile_request(KINDS[kind], names=names, values=vals, **{kind: text})
    except ValidationException:
        return None


# ---------------------------------------------------------------- only ValidationException

@SETTINGS
@given(kind=st.sampled_from(sorted(KINDS)), text=st.text(max_size=40), names=names_maps, vals=values_maps)
def test_arbitrary_text_raises_only_validation_errors(kind, text, names, vals):
    compile_or_none(kind, text, names, vals)


@SETTINGS
@given(kind=st.sampled_from(sorted(KINDS)), text=token_texts, vals=values_maps, item=items)
def test_token_soup_compiles_or_raises_validation_errors_and_runs_safely(kind, text, vals, item):
    compiled = compile_or_none(kind, text, {"#n": "a", "#m": "x.y"}, vals)
    if compiled is None:
        compiled = compile_or_none(kind, text, None, vals)
    if compiled is None:
        return
    snapshot = copy.deepcopy(item)
    for condition in (compiled.condition, compiled.filter):
        if condition is not None:
            assert condition.evaluate(item) in (True, False)
            assert condition.evaluate(None) in (True, False)
    if compiled.update is not None:
        try:
            new = compiled.update.apply(item, True)
        except ValidationException:
            pass
        else:
            assert type(new) is dict
            compiled.update.updated_old(item)
            compiled.update.updated_new(new)
    if compiled.projection is not None:
        assert is_subdocument(compiled.projection.apply(item), item)
    if compiled.key_condition is not None:
        try:
            compiled.key_condition.resolve("a", "x", {"a": "S", "x": "N"})
        except ValidationException:
            pass
    assert item == snapshot


# ---------------------------------------------------------------- projections

def is_subdocument(part, whole):
    """``part`` keeps only some of ``whole``: map keys, list elements in order, equal leaves."""
    if type(part) is dict:
        return type(whole) is dict and all(k in whole and is_subdocument(v, whole[k]) for k, v in part.items())
    if type(part) is list:
        if type(whole) is not list:
            return False
        i = 0
        for element in part:
            while i < len(whole) and not is_subdocument(element, whole[i]):
                i += 1
            if i == len(whole):
                return False
            i += 1
        return True
    return deep_equal(part, whole)


def paths_of(value, prefix=()):
    yield prefix
    if type(value) is dict:
        for k, v in value.items():
            yield from paths_of(v, prefix + (k,))
    elif type(value) is list:
        for i, v in enumerate(value):
            yield from paths_of(v, prefix + (i,))


@SETTINGS
@given(item=items.filter(bool), data=st.data())
def test_a_projection_is_a_subdocument_of_the_item(item, data):
    candidates = [p for p in paths_of(item) if p] + [("zz",), ("a", "zz"), ("a", 7)]
    chosen = data.draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=4, unique=True))
    names, parts = {}, []
    for path in chosen:
        text = ""
        for e in path:
            if type(e) is int:
                text += f"[{e}]"
            else:
                key = f"#p{len(names)}"
                names[key] = e
                text += ("." if text else "") + key
        parts.append(text)
    compiled = compile_or_none("projection", ", ".join(parts), names, None)
    if compiled is None:          # overlapping paths
        return
    result = compiled.projection.apply(item)
    assert is_subdocument(result, item)
    for path in chosen:           # every requested path that resolves is in the result
        value = resolve(item, path)
        if value is not _NONE:
            assert resolve(result, path[:1]) is not _NONE


_NONE = object()


def resolve(value, path):
    for e in path:
        if type(e) is int:
            if type(value) is not list or e >= len(value):
                return _NONE
        elif type(value) is not dict or e not in value:
            return _NONE
        value = value[e]
    return value


# ---------------------------------------------------------------- equality

@SETTINGS
@given(value=values, other=values)
def test_equality_conditions_agree_with_deep_equality(value, other):
    item = {"a": value}
    eq = compile_request("PutItem", condition="a = :v", values={":v": other}).condition
    ne = compile_request("PutItem", condition="a <> :v", values={":v": other}).condition
    expected = deep_equal(value, other)
    assert eq.evaluate(item) is expected
    assert ne.evaluate(item) is (not expected)
    assert compile_request("PutItem", condition="a = :v", values={":v": value}).condition.evaluate(item) is True


@SETTINGS
@given(item=items, value=values)
def test_set_then_read_back(item, value):
    new = compile_request("UpdateItem", update="SET y = :v", values={":v": value}).update.apply(item, True)
    assert deep_equal(new["y"], value)
    assert {k: v for k, v in new.items() if k != "y"} == {k: v for k, v in item.items() if k != "y"}


# ---------------------------------------------------------------- generated conditions vs a reference

PATHS = {"a": ("a",), "b": ("b",), "x.y": ("x", "y"), "a[0]": ("a", 0), "a.b": ("a", "b"), "#n": ("a",),
         "#m": ("x.y",), "c[1].a": ("c", 1, "a")}
GEN_NAMES = {"#n": "a", "#m": "x.y"}
operands = st.one_of(
    st.sampled_from(sorted(PATHS)).map(lambda p: ("path", p)),
    st.sampled_from([":v", ":w", ":u"]).map(lambda v: ("value", v)),
    st.sampled_from(sorted(PATHS)).map(lambda p: ("size", p)),
)
atoms = st.one_of(
    st.tuples(st.just("cmp"), st.sampled_from(["=", "<>", "<", "<=", ">", ">="]), operands, operands),
    st.tuples(st.just("between"), operands, operands, operands),
    st.tuples(st.just("in"), operands, st.lists(operands, min_size=1, max_size=3)),
    st.tuples(st.just("fn"), st.sampled_from(["attribute_exists", "attribute_not_exists"]),
              st.sampled_from(sorted(PATHS)).map(lambda p: ("path", p))),
    st.tuples(st.just("fn2"), st.sampled_from(["contains", "begins_with"]), operands, operands),
)
conditions_st = st.recursive(atoms, lambda c: st.one_of(
    st.tuples(st.just("and"), c, c), st.tuples(st.just("or"), c, c), st.tuples(st.just("not"), c),
    st.tuples(st.just("group"), c)), max_leaves=6)


def render_operand(op):
    kind, x = op
    return f"size({x})" if kind == "size" else x


def render(node):
    kind = node[0]
    if kind == "cmp":
        return f"{render_operand(node[2])} {node[1]} {render_operand(node[3])}"
    if kind == "between":
        return f"{render_operand(node[1])} BETWEEN {render_operand(node[2])} AND {render_operand(node[3])}"
    if kind == "in":
        return f"{render_operand(node[1])} IN ({', '.join(render_operand(o) for o in node[2])})"
    if kind == "fn":
        return f"{node[1]}({node[2][1]})"
    if kind == "fn2":
        return f"{node[1]}({render_operand(node[2])}, {render_operand(node[3])})"
    if kind in ("and", "or"):
        return f"({render(node[1])}) {kind.upper()} ({render(node[2])})"
    if kind == "not":
        return f"NOT ({render(node[1])})"
    return f"({render(node[1])})"


def reference(node, item, vals):
    """A direct reading of reference 8.5, independent of the parser and the compiled closures."""
    from kvstore.expressions.evaluate import MISSING, begins_with, contains, ordered, resolve as get, size_of

    def operand(op):
        kind, x = op
        if kind == "value":
            return vals[x]
        v = get(item, PATHS[x])
        return size_of(v) if kind == "size" else v

    def eq(a, b):
        return a is not MISSING and b is not MISSING and deep_equal(a, b)

    kind = node[0]
    if kind == "cmp":
        a, b = operand(node[2]), operand(node[3])
        if node[1] == "=":
            return eq(a, b)
        if node[1] == "<>":
            return not eq(a, b)
        pair = ordered(a, b)
        return pair is not None and {"<": pair[0] < pair[1], "<=": pair[0] <= pair[1], ">": pair[0] > pair[1],
                                     ">=": pair[0] >= pair[1]}[node[1]]
    if kind == "between":
        a = operand(node[1])
        lo, hi = ordered(a, operand(node[2])), ordered(a, operand(node[3]))
        return lo is not None and hi is not None and lo[0] >= lo[1] and hi[0] <= hi[1]
    if kind == "in":
        a = operand(node[1])
        return any(eq(a, operand(o)) for o in node[2])
    if kind == "fn":
        present = get(item, PATHS[node[2][1]]) is not MISSING
        return present if node[1] == "attribute_exists" else not present
    if kind == "fn2":
        f = contains if node[1] == "contains" else begins_with
        return f(operand(node[2]), operand(node[3]))
    if kind == "and":
        return reference(node[1], item, vals) and reference(node[2], item, vals)
    if kind == "or":
        return reference(node[1], item, vals) or reference(node[2], item, vals)
    if kind == "not":
        return not reference(node[1], item, vals)
    return reference(node[1], item, vals)


@SETTINGS
@given(tree=conditions_st, item=items, v=values, w=values, u=st.one_of(strings, numbers))
def test_compiled_conditions_agree_with_the_reference_semantics(tree, item, v, w, u):
    text = render(tree)
    vals = {k: x for k, x in {":v": v, ":w": w, ":u": u}.items() if k in text}
    names = {k: x for k, x in GEN_NAMES.items() if k in text}
    try:
        compiled = compile_request("PutItem", condition=text, names=names or None, values=vals or None)
    except ValidationException:
        return                    # same operand twice, a query-side type problem, too deep...
    assert compiled.condition.evaluate(item) is reference(tree, item, vals)
