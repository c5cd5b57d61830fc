"""Condition semantics on native items (reference 8.5): absent vs present, typing, sets, maps."""

import pytest

from kvstore.types import Binary

from .helpers import N, condition

ITEM = {
    "pk": "p1", "n": N(5), "s": "hello", "b": Binary(b"\x00\x01\xff"), "t": True, "nul": None,
    "ss": {"a", "b"}, "ns": {N(1), N("2.5")}, "bs": {Binary(b"x")},
    "l": ["a", N(1), {"k": "v"}], "m": {"x": N(1), "y": ["z"]}, "blank": "",
}


def ev(text, values=None, item=ITEM, names=None):
    if values:
        values = {k: v for k, v in values.items() if k in text}
    return condition(text, names=names, values=values or None).evaluate(item)


# ---------------------------------------------------------------- equality

def test_equality_needs_the_same_type():
    assert ev("n = :v", {":v": N(5)}) is True
    assert ev("n = :v", {":v": "5"}) is False
    assert ev("t = :v", {":v": N(1)}) is False          # BOOL true is not N 1
    assert ev("t = :v", {":v": True}) is True
    assert ev("nul = :v", {":v": None}) is True
    assert ev("nul = :v", {":v": False}) is False


def test_absent_is_never_equal_not_even_to_absent():
    assert ev("nope = :v", {":v": None}) is False
    assert ev("nope = nope2") is False


def test_not_equal_is_true_for_absent():
    assert ev("nope <> :v", {":v": N(1)}) is True
    assert ev("nope <> nope2") is True
    assert ev("n <> :v", {":v": N(5)}) is False
    assert ev("n <> :v", {":v": "5"}) is True


def test_sets_compare_ignoring_order_and_numbers_by_value():
    assert ev("ss = :v", {":v": {"b", "a"}}) is True
    assert ev("ns = :v", {":v": {N("2.50"), N("1.0")}}) is True
    assert ev("ss = :v", {":v": {"a"}}) is False
    assert ev("bs = :v", {":v": {Binary(b"x")}}) is True


def test_maps_ignore_order_lists_do_not():
    assert ev("m = :v", {":v": {"y": ["z"], "x": N(1)}}) is True
    assert ev("l = :v", {":v": ["a", N(1), {"k": "v"}]}) is True
    assert ev("l = :v", {":v": [N(1), "a", {"k": "v"}]}) is False


def test_deep_equality_is_typed():
    assert ev("m = :v", {":v": {"x": True, "y": ["z"]}}) is False
    assert ev("l = :v", {":v": ["a", True, {"k": "v"}]}) is False


def test_binary_equals_by_bytes():
    assert ev("b = :v", {":v": Binary(b"\x00\x01\xff")}) is True
    assert ev("b = :v", {":v": "\x00\x01\xff"}) is False


def test_paths_compare_with_paths():
    item = {"a": N(1), "b": N(1), "c": {"d": [N(1)]}}
    assert ev("a = b", item=item) is True
    assert ev("a = c.d[0]", item=item) is True
    assert ev("a < c.d[0]", item=item) is False


# ---------------------------------------------------------------- ordering

@pytest.mark.parametrize("text, values, expected", [
    ("n < :v", {":v": N(6)}, True),
    ("n <= :v", {":v": N(5)}, True),
    ("n > :v", {":v": N("4.99")}, True),
    ("n >= :v", {":v": N(6)}, False),
    ("s > :v", {":v": "hell"}, True),
    ("s < :v", {":v": "hello!"}, True),
    ("b > :v", {":v": Binary(b"\x00\x01\x7f")}, True),       # bytes are unsigned
    ("n < :v", {":v": "9"}, False),                          # different types: false, no error
    ("t < :v", {":v": N(9)}, False),
    ("nope < :v", {":v": N(9)}, False),
    ("ss > :v", {":v": N(0)}, False),
])
def test_ordering(text, values, expected):
    assert ev(text, values) is expected


def test_strings_order_by_code_point():
    assert ev("a < :v", {":v": "\U0001F600"}, item={"a": "\uffff"}) is True
    assert ev("a < :v", {":v": "a"}, item={"a": "Z"}) is True


def test_between_is_inclusive_and_typed():
    assert ev("n BETWEEN :a AND :b", {":a": N(5), ":b": N(5)}) is True
    assert ev("n BETWEEN :a AND :b", {":a": N(1), ":b": N(4)}) is False
    assert ev("s BETWEEN :a AND :b", {":a": "a", ":b": "z"}) is True
    assert ev("n BETWEEN :a AND :b", {":a": "a", ":b": "z"}) is False
    assert ev("nope BETWEEN :a AND :b", {":a": N(1), ":b": N(9)}) is False
    # bounds read from the item: a wrong type is just false
    assert ev("n BETWEEN lo AND hi", item={"n": N(2), "lo": N(1), "hi": "x"}) is False
    assert ev("n BETWEEN lo AND hi", item={"n": N(2), "lo": N(1), "hi": N(3)}) is True


# ---------------------------------------------------------------- IN

def test_in_mixes_types_and_compares_deeply():
    values = {":a": "x", ":b": N(5), ":c": {"b", "a"}, ":d": None}
    assert ev("n IN (:a, :b, :c, :d)", values) is True
    assert ev("ss IN (:a, :b, :c, :d)", values) is True
    assert ev("nul IN (:a, :b, :c, :d)", values) is True
    assert ev("s IN (:a, :b, :c, :d)", values) is False
    assert ev("nope IN (:a, :b, :c, :d)", values) is False


def test_in_with_paths():
    assert ev("n IN (s, m.x, :v)", {":v": N(9)}, item={"n": N(1), "s": "a", "m": {"x": N(1)}}) is True


# ---------------------------------------------------------------- functions

def test_attribute_exists_and_not_exists():
    assert ev("attribute_exists(nul)") is True
    assert ev("attribute_exists(m.y[0])") is True
    assert ev("attribute_exists(m.y[1])") is False
    assert ev("attribute_not_exists(m.nope)") is True
    assert ev("attribute_exists(s.x)") is False                 # .x on a string does not resolve
    assert ev("attribute_exists(m[0])") is False                # [0] on a map does not resolve


def test_a_missing_item_has_no_attributes():
    c = condition("attribute_not_exists(pk) AND NOT attribute_exists(x)")
    assert c.evaluate(None) is True
    assert condition("pk = :v", values={":v": "p1"}).evaluate(None) is False
    assert condition("pk <> :v", values={":v": "p1"}).evaluate(None) is True


@pytest.mark.parametrize("tag, attr", [
    ("S", "s"), ("N", "n"), ("B", "b"), ("BOOL", "t"), ("NULL", "nul"), ("SS", "ss"), ("NS", "ns"),
    ("BS", "bs"), ("L", "l"), ("M", "m"),
])
def test_attribute_type(tag, attr):
    assert ev(f"attribute_type({attr}, :t)", {":t": tag}) is True
    other = "S" if tag != "S" else "N"
    assert ev(f"attribute_type({attr}, :t)", {":t": other}) is False
    assert ev("attribute_type(nope, :t)", {":t": tag}) is False


def test_begins_with():
    assert ev("begins_with(s, :v)", {":v": "he"}) is True
    assert ev("begins_with(s, :v)", {":v": ""}) is True
    assert ev("begins_with(s, :v)", {":v": "lo"}) is False
    assert ev("begins_with(b, :v)", {":v": Binary(b"\x00")}) is True
    assert ev("begins_with(n, :v)", {":v": "5"}) is False            # item-side N: false
    assert ev("begins_with(ss, :v)", {":v": "a"}) is False
    assert ev("begins_with(nope, :v)", {":v": "a"}) is False
    assert ev("begins_with(:v, s)", {":v": "hello world"}) is True


def test_contains():
    assert ev("contains(s, :v)", {":v": "ell"}) is True
    assert ev("contains(b, :v)", {":v": Binary(b"\x01\xff")}) is True
    assert ev("contains(ss, :v)", {":v": "a"}) is True
    assert ev("contains(ns, :v)", {":v": N("2.50")}) is True           # NS by value
    assert ev("contains(ns, :v)", {":v": "1"}) is False
    assert ev("contains(bs, :v)", {":v": Binary(b"x")}) is True
    assert ev("contains(l, :v)", {":v": {"k": "v"}}) is True            # any type in a list
    assert ev("contains(l, :v)", {":v": N("1.0")}) is True
    assert ev("contains(m, :v)", {":v": "x"}) is False                  # maps never contain
    assert ev("contains(n, :v)", {":v": N(5)}) is False
    assert ev("contains(nope, :v)", {":v": "a"}) is False
    assert ev("contains(s, n)") is False


def test_size():
    assert ev("size(s) = :v", {":v": N(5)}) is True
    assert ev("size(b) = :v", {":v": N(3)}) is True
    assert ev("size(ss) = :v", {":v": N(2)}) is True
    assert ev("size(l) = :v", {":v": N(3)}) is True
    assert ev("size(m) = :v", {":v": N(2)}) is True
    assert ev("size(blank) = :v", {":v": N(0)}) is True
    assert ev("size(s) > size(ss)") is True


@pytest.mark.parametrize("attr", ["n", "t", "nul", "nope"])
def test_size_of_a_number_bool_null_or_absent_has_no_value(attr):
    assert ev(f"size({attr}) > :z", {":z": N(-1)}) is False
    assert ev(f"size({attr}) <> :z", {":z": N(0)}) is True


def test_size_of_a_string_counts_utf16_code_units():
    assert ev("size(a) = :v", {":v": N(3)}, item={"a": "😀x"}) is True     # one emoji = 2 units
    assert ev("size(a) = :v", {":v": N(1)}, item={"a": "é"}) is True


# ---------------------------------------------------------------- logic

def test_and_or_not():
    v = {":one": N(1), ":two": N(2)}
    item = {"a": N(1), "b": N(2)}
    assert ev("a = :one AND b = :two", v, item) is True
    assert ev("a = :two OR b = :two", v, item) is True
    assert ev("a = :two OR b = :one", v, item) is False
    assert ev("NOT a = :two AND NOT (b = :one OR a = :two)", v, item) is True
    assert ev("a = :one AND b = :one AND a = :one", v, item) is False
    assert ev("a = :two OR a = :two OR b = :two", v, item) is True


def test_evaluation_never_raises_on_odd_items():
    c = condition("a.b[2].c < :v OR contains(a, :w) OR size(a.b) > :v OR begins_with(a.b[0], :w)",
                  values={":v": N(1), ":w": "x"})
    for item in ({}, {"a": None}, {"a": "s"}, {"a": {"b": "s"}}, {"a": {"b": [N(1), "x", {"c": "d"}]}},
                 {"a": {"b": [None, None, None]}}, {"a": [1, 2]}):
        assert c.evaluate(item) in (True, False)


def test_evaluate_does_not_modify_the_item():
    item = {"a": {"b": [N(1)]}, "s": {"x"}}
    snapshot = repr(item)
    condition("contains(s, :x) AND a.b[0] = :one", values={":x": "x", ":one": N(1)}).evaluate(item)
    assert repr(item) == snapshot


def test_top_level_names():
    c = condition("#a.b = :v OR c[1] > :v OR attribute_exists(d)", names={"#a": "x"}, values={":v": N(1)})
    assert c.top_level_names == {"x", "c", "d"}
    assert c.nested_top_level_names == {"x", "c"}
