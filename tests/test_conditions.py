"""Key / Attr builders: boto3's method names, the same rendered expressions, boto3's own objects accepted."""

from decimal import Decimal

import pytest
from boto3.dynamodb import conditions as b3

from kvstore.conditions import (
    Attr, DynamoDBNeedsConditionError, DynamoDBNeedsKeyConditionError, DynamoDBOperationNotSupportedError, Key,
    build_expression,
)
from kvstore.expressions import compile_request
from kvstore.types import from_python


def both(make):
    """The same condition built with kvstore's and boto3's classes."""
    return make(Key, Attr), make(b3.Key, b3.Attr)


CASES = [
    lambda K, A: K("pk").eq("a"),
    lambda K, A: K("sk").lt(1), lambda K, A: K("sk").lte(1), lambda K, A: K("sk").gt(1),
    lambda K, A: K("sk").gte(1),
    lambda K, A: K("sk").begins_with("x"),
    lambda K, A: K("sk").between(1, 5),
    lambda K, A: K("pk").eq("a") & K("sk").between(1, 5),
    lambda K, A: A("a").ne(1),
    lambda K, A: A("a").is_in([1, "x", True]),
    lambda K, A: A("a").exists(),
    lambda K, A: A("a").not_exists(),
    lambda K, A: A("a").contains("x"),
    lambda K, A: A("a").size().gt(3),
    lambda K, A: A("a").attribute_type("S"),
    lambda K, A: A("a.b[2].c").eq(1),
    lambda K, A: A("a[1][2]").lt(1),
    lambda K, A: (A("a").eq(1) | A("b").eq(2)) & ~A("c").exists(),
    lambda K, A: ~(~A("a").eq(1)),
    lambda K, A: A("a").eq(1) & A("b").eq(2) & A("c").eq(3) | A("d").begins_with("z"),
]


@pytest.mark.parametrize("make", CASES)
def test_renders_exactly_like_boto3(make):
    ours, theirs = both(make)
    built = b3.ConditionExpressionBuilder().build_expression(theirs)
    expected = (built.condition_expression, built.attribute_name_placeholders, built.attribute_value_placeholders)
    for condition in (ours, theirs):                     # boto3's objects are accepted as they are
        text, names, values = build_expression(condition)
        assert (text, names or {}, values or {}) == expected


def test_key_conditions_reject_attr():
    with pytest.raises(DynamoDBNeedsKeyConditionError) as e:
        build_expression(Key("pk").eq("a") & Attr("x").eq(1), is_key_condition=True)
    assert "KeyConditionExpression only supports Attribute objects of type Key" in str(e.value)
    with pytest.raises(DynamoDBNeedsKeyConditionError):
        build_expression(b3.Attr("x").eq(1), is_key_condition=True)
    build_expression(b3.Key("pk").eq("a"), is_key_condition=True)


def test_operators_need_conditions():
    with pytest.raises(DynamoDBOperationNotSupportedError) as e:
        Attr("a").eq(1) & "b = :v"
    assert str(e.value).startswith("AND operation cannot be applied to value b = :v of type <class 'str'>")
    with pytest.raises(DynamoDBOperationNotSupportedError):
        Attr("a") | Attr("b")
    with pytest.raises(DynamoDBOperationNotSupportedError):
        ~Key("a")


def test_non_conditions_are_rejected():
    with pytest.raises(DynamoDBNeedsConditionError) as e:
        build_expression(42)
    assert str(e.value).startswith("Expecting a ConditionBase object. Got 42 of type <class 'int'>.")
    with pytest.raises(DynamoDBNeedsConditionError):
        build_expression(Attr("a"))


def test_strings_pass_through_unchanged():
    names = {"#a": "a"}
    assert build_expression("#a = :v", names=names, values=None) == ("#a = :v", names, None)


def test_numbering_continues_after_existing_placeholders():
    text, names, values = build_expression(Key("pk").eq("a"), True)
    assert (text, names, values) == ("#n0 = :v0", {"#n0": "pk"}, {":v0": "a"})
    text2, names2, values2 = build_expression(Attr("x").gt(1) & Attr("y").exists(), False, names, values)
    assert text2 == "(#n1 > :v1 AND attribute_exists(#n2))"
    assert names2 == {"#n0": "pk", "#n1": "x", "#n2": "y"}
    assert values2 == {":v0": "a", ":v1": 1}
    assert names == {"#n0": "pk"}                          # the caller's dicts are not modified


def test_user_placeholders_are_not_overwritten():
    text, names, values = build_expression(Attr("x").eq(1), names={"#n0": "taken", "#mine": "m"},
                                           values={":v0": "taken"})
    assert text == "#n1 = :v1"
    assert names == {"#n0": "taken", "#mine": "m", "#n1": "x"}
    assert values == {":v0": "taken", ":v1": 1}


def test_absent_maps_stay_absent_when_nothing_is_added():
    assert build_expression(Attr("a").exists()) == ("attribute_exists(#n0)", {"#n0": "a"}, None)


def test_builder_objects_compare_like_boto3():
    assert Attr("a") == Attr("a") and Attr("a") != Key("a")
    assert Attr("a").eq(1) == Attr("a").eq(1)
    assert Attr("a").eq(1) != Attr("a").eq(2)
    assert (Attr("a").eq(1) & Attr("b").eq(2)) == (Attr("a").eq(1) & Attr("b").eq(2))


def test_key_has_only_the_key_condition_methods():
    assert not hasattr(Key("pk"), "ne")
    assert not hasattr(Key("pk"), "exists")


def test_rendered_conditions_compile_and_evaluate():
    cond = (Attr("status").is_in(["open", "held"]) | Attr("rush").exists()) & Attr("total").between(10, 20) \
        & Attr("tags").contains("vip") & Attr("name").size().lte(5) & ~Attr("deleted").exists()
    text, names, values = build_expression(cond)
    native = {k: from_python(v) for k, v in values.items()}
    compiled = compile_request("Scan", filter=text, names=names, values=native).filter
    item = {"status": "held", "total": Decimal(15), "tags": {"vip"}, "name": "Zoë"}
    assert compiled.evaluate(item) is True
    assert compiled.evaluate(dict(item, deleted=True)) is False
    assert compiled.evaluate(dict(item, status="closed")) is False
