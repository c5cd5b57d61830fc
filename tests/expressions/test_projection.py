"""ProjectionExpression (reference 8.8): nesting kept, paths merged, lists compacted, overlaps rejected."""

import pytest

from .helpers import N, error, projection

ITEM = {
    "pk": "p1",
    "mylist": ["zero", "one", "two", "three"],
    "listOfMaps": [{"val": "a0", "x": "x0"}, {"val": "a1", "x": "x1"}, {"val": "a2", "x": "x2"}],
    "listWithNull": ["keep0", None, "keep2"],
    "deep": {"l1": {"l2": {"l3": "bottom", "sib": "s"}}},
    "nestedList": [{"inner": ["i0", "i1"]}],
    "a": {"b": [N(1), N(2)], "c": N(3)},
}

P = "Invalid ProjectionExpression: "


def project(text, names=None, item=ITEM):
    return projection(text, names).apply(item)


def test_top_level_attributes():
    assert project("pk, a") == {"pk": "p1", "a": ITEM["a"]}


def test_nested_path_keeps_the_nesting():
    assert project("a.b[0]") == {"a": {"b": [N(1)]}}
    assert project("deep.l1.l2.l3") == {"deep": {"l1": {"l2": {"l3": "bottom"}}}}


def test_paths_merge():
    assert project("a.b, a.c") == {"a": {"b": [N(1), N(2)], "c": N(3)}}


def test_list_elements_are_compacted_in_index_order():
    assert project("mylist[0], mylist[2]") == {"mylist": ["zero", "two"]}
    assert project("mylist[2], mylist[0]") == {"mylist": ["zero", "two"]}
    assert project("mylist[1], mylist[3]") == {"mylist": ["one", "three"]}
    assert project("listOfMaps[0].val, listOfMaps[2].val") == {"listOfMaps": [{"val": "a0"}, {"val": "a2"}]}


def test_null_elements_are_kept_when_asked_for():
    assert project("listWithNull") == {"listWithNull": ["keep0", None, "keep2"]}
    assert project("listWithNull[1]") == {"listWithNull": [None]}
    assert project("listWithNull[0], listWithNull[2]") == {"listWithNull": ["keep0", "keep2"]}


def test_placeholders_in_paths():
    assert project("nestedList[0].#i[1]", {"#i": "inner"}) == {"nestedList": [{"inner": ["i1"]}]}


def test_paths_that_do_not_resolve_are_skipped():
    assert project("nope, a.nope, a.b[7], pk.x, mylist.x, deep[0]") == {}
    assert project("nope, pk") == {"pk": "p1"}


def test_key_attributes_only_when_asked():
    assert project("a.c") == {"a": {"c": N(3)}}


def test_result_shares_no_container_with_the_item():
    item = {"a": {"b": [N(1)]}, "s": {"x"}}
    out = projection("a, s").apply(item)
    out["a"]["b"].append(N(2))
    out["s"].add("y")
    assert item == {"a": {"b": [N(1)]}, "s": {"x"}}


@pytest.mark.parametrize("text, one, two", [
    ("a, a.b", "[a]", "[a, b]"),
    ("a.b, a", "[a, b]", "[a]"),
    ("a, a", "[a]", "[a]"),
    ("x, a.b, a", "[a, b]", "[a]"),
    ("alist[0], alist", "[alist, [0]]", "[alist]"),
    ("#p, #p.#q", "[a]", "[a, b]"),
])
def test_overlapping_paths(text, one, two):
    names = {"#p": "a", "#q": "b"} if "#" in text else None
    assert error("GetItem", projection=text, names=names) == \
        P + f"Two document paths overlap with each other; must remove or rewrite one of these paths; " \
            f"path one: {one}, path two: {two}"


def test_conflicting_paths():
    assert error("GetItem", projection="a.b, a[1]") == \
        P + "Two document paths conflict with each other; must remove or rewrite one of these paths; " \
            "path one: [a, b], path two: [a, [1]]"


def test_two_placeholders_for_one_name_overlap():
    assert error("GetItem", projection="#a, #b", names={"#a": "a", "#b": "a"}).startswith(
        P + "Two document paths overlap")


def test_projection_errors():
    assert error("GetItem", projection="") == P + "The expression can not be empty;"
    assert error("GetItem", projection="a, status") == P + \
        "Attribute name is a reserved keyword; reserved keyword: status"
    assert error("GetItem", projection=".".join(["a"] * 33)) == P + \
        "The document path has too many nesting levels; nesting levels: 33"
    assert error("GetItem", projection="size(a)").startswith(P + "Syntax error")


def test_top_level_names():
    p = projection("a.b, c[1], d")
    assert p.top_level_names == {"a", "c", "d"}
    assert p.nested_top_level_names == {"a", "c"}
