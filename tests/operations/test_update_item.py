"""UpdateItem: an atomic read-modify-write upsert of one item, its ReturnValues, conditions and errors."""

from decimal import Decimal

import pytest

from .helpers import raises, same_item, unique_name, validation

INVALID = "One or more parameter values were invalid: "
NO_MATCH = "The provided key element does not match the schema"
KEY = {"pk": "a", "sk": 1}


def update(table, expression=None, values=None, names=None, **kwargs):
    if expression is not None:
        kwargs["UpdateExpression"] = expression
    if values is not None:
        kwargs["ExpressionAttributeValues"] = values
    if names is not None:
        kwargs["ExpressionAttributeNames"] = names
    return table.update_item(Key=KEY, **kwargs)


def current(table):
    return table.get_item(Key=KEY).get("Item")


@pytest.fixture
def table(range_table):
    return range_table


@pytest.fixture
def stored(range_table):
    range_table.put_item(Item={**KEY, "a": 1, "b": "bee", "n": 10, "s": {"x", "y"}, "ns": {1, 2, 3},
                               "m": {"c": [1, 2, 3], "d": {"e": "f"}}, "l": ["p", "q", "r"]})
    return range_table


# -- upsert -----------------------------------------------------------------------------

def test_update_creates_a_missing_item(table):
    """An update of a missing item creates it from the key plus the changes."""
    update(table, "SET v = :v", {":v": "new"})
    assert current(table) == {**KEY, "v": "new"}


def test_update_without_expression_creates_a_key_only_item(table):
    """No UpdateExpression at all: the item is created with its key only."""
    assert "Attributes" not in table.update_item(Key=KEY)
    assert current(table) == KEY


def test_update_without_expression_leaves_an_existing_item(stored):
    """... and an existing item is left as it is."""
    before = current(stored)
    stored.update_item(Key=KEY)
    assert current(stored) == before


def test_remove_only_update_does_not_create(table):
    """An update that only removes does not create a missing item."""
    update(table, "REMOVE a, b")
    assert current(table) is None


def test_delete_only_update_does_not_create(table):
    """Nor does one that only deletes set members."""
    update(table, "DELETE s :v", {":v": {"x"}})
    assert current(table) is None


def test_update_keeps_other_attributes(stored):
    """Only the named attributes change."""
    update(stored, "SET a = :v", {":v": 2})
    item = current(stored)
    assert item["a"] == 2 and item["b"] == "bee" and item["l"] == ["p", "q", "r"]


# -- the four clauses ---------------------------------------------------------------------

def test_set_several_attributes(stored):
    """SET writes top-level attributes, creating or overwriting."""
    update(stored, "SET a = :one, new_attr = :two", {":one": "one", ":two": [1, 2]})
    item = current(stored)
    assert item["a"] == "one" and item["new_attr"] == [1, 2]


def test_set_nested_map_member_and_list_element(stored):
    """SET on a nested path replaces the value there."""
    update(stored, "SET m.d.e = :v, l[1] = :w", {":v": "g", ":w": "Q"})
    item = current(stored)
    assert item["m"]["d"] == {"e": "g"}
    assert item["l"] == ["p", "Q", "r"]


def test_set_list_index_past_the_end_appends(stored):
    """SET l[i] with i beyond the end appends."""
    update(stored, "SET l[10] = :v", {":v": "s"})
    assert current(stored)["l"] == ["p", "q", "r", "s"]


def test_set_into_a_missing_map(stored):
    """SET a.b needs ``a`` to exist as a map."""
    with validation("The document path provided in the update expression is invalid for update"):
        update(stored, "SET nothing.b = :v", {":v": 1})


def test_set_into_a_missing_item_path(table):
    """... also when the item itself does not exist."""
    with validation("The document path provided in the update expression is invalid for update"):
        update(table, "SET m.b = :v", {":v": 1})


def test_remove_attributes_and_list_elements(stored):
    """REMOVE drops attributes; removing list elements shifts the rest left."""
    update(stored, "REMOVE a, l[0], l[2], m.d")
    item = current(stored)
    assert "a" not in item
    assert item["l"] == ["q"]
    assert item["m"] == {"c": [1, 2, 3]}


def test_remove_missing_attribute_is_a_no_op(stored):
    """REMOVE of a missing attribute changes nothing."""
    before = current(stored)
    update(stored, "REMOVE nothing, m.nothing")
    assert current(stored) == before


def test_add_to_a_number(stored):
    """ADD adds to a number; a missing attribute counts as 0."""
    update(stored, "ADD n :five, fresh :five", {":five": 5})
    item = current(stored)
    assert item["n"] == 15 and item["fresh"] == 5


def test_add_to_a_set(stored):
    """ADD unions into a set; a missing attribute counts as the empty set."""
    update(stored, "ADD s :v, t :v", {":v": {"y", "z"}})
    item = current(stored)
    assert item["s"] == {"x", "y", "z"} and item["t"] == {"y", "z"}


def test_number_set_members_compare_by_value(stored):
    """ADD {1.0, 2.00} to {1, 2, 3} leaves 3 members; DELETE {1e0} removes 1."""
    update(stored, "ADD ns :v", {":v": {Decimal("1.0"), Decimal("2.00")}})
    assert current(stored)["ns"] == {1, 2, 3}
    update(stored, "DELETE ns :v", {":v": {Decimal("1e0")}})
    assert current(stored)["ns"] == {2, 3}


def test_delete_from_a_set(stored):
    """DELETE removes members; members not present are ignored."""
    update(stored, "DELETE s :v", {":v": {"x", "absent"}})
    assert current(stored)["s"] == {"y"}


def test_delete_last_members_removes_the_attribute(stored):
    """A set never becomes empty: removing the last member removes the attribute."""
    update(stored, "DELETE s :v", {":v": {"x", "y"}})
    assert "s" not in current(stored)


def test_delete_from_a_missing_attribute(stored):
    """DELETE on a missing attribute is a no-op."""
    update(stored, "DELETE nothing :v", {":v": {"x"}})
    assert "nothing" not in current(stored)


def test_all_clauses_together(stored):
    """SET, REMOVE, ADD and DELETE combine in one expression, in any order."""
    update(stored, "DELETE s :x ADD n :one REMOVE b SET a = :two", {":x": {"x"}, ":one": 1, ":two": 2})
    item = current(stored)
    assert (item["a"], item["n"], item["s"], "b" in item) == (2, 11, {"y"}, False)


# -- right-hand sides -------------------------------------------------------------------------

def test_right_hand_sides_read_the_old_item(stored):
    """All right-hand sides see the item as it was before the update."""
    update(stored, "SET a = :v, olda = a", {":v": 100})
    item = current(stored)
    assert item["a"] == 100 and item["olda"] == 1


def test_remove_then_copy_reads_old_value(stored):
    """REMOVE a SET b = a copies the old a."""
    update(stored, "REMOVE a SET b = a")
    item = current(stored)
    assert "a" not in item and item["b"] == 1


def test_missing_right_hand_side(stored):
    """A right-hand path that does not resolve is an error."""
    with validation("The provided expression refers to an attribute that does not exist in the item"):
        update(stored, "SET a = nothing")


def test_set_plus_and_minus(stored):
    """SET a = a + :v and n - :v do exact decimal arithmetic."""
    update(stored, "SET a = a + :v, n = n - :w", {":v": Decimal("0.1"), ":w": Decimal("20.5")})
    item = current(stored)
    assert str(item["a"]) == "1.1" and str(item["n"]) == "-10.5"


def test_arithmetic_on_a_non_number(stored):
    """Arithmetic on an item-side string is an incorrect data type."""
    with validation("An operand in the update expression has an incorrect data type"):
        update(stored, "SET b = b + :v", {":v": 1})


def test_arithmetic_overflow(stored):
    """Results must stay within the number range."""
    with validation("Number overflow. Attempting to store a number with magnitude larger than supported range"):
        update(stored, "SET a = :big + :big", {":big": Decimal("9e125")})


def test_arithmetic_needing_more_than_38_digits(stored):
    """1e50 + 1 needs 51 significant digits: rejected, never rounded, in DynamoDB's words (reference 1.3)."""
    with validation("Number overflow. Attempting to store a number with magnitude larger than supported range"):
        update(stored, "SET a = :big + :one", {":big": Decimal("1e50"), ":one": 1})
    assert current(stored)["a"] == 1


def test_if_not_exists(stored):
    """if_not_exists(p, v) keeps an existing value and fills a missing one."""
    update(stored, "SET a = if_not_exists(a, :v), z = if_not_exists(z, :v)", {":v": 99})
    item = current(stored)
    assert item["a"] == 1 and item["z"] == 99


def test_list_append(stored):
    """list_append concatenates lists, in either order."""
    update(stored, "SET l = list_append(l, :tail), k = list_append(:head, l)", {":tail": ["s"], ":head": ["o"]})
    item = current(stored)
    assert item["l"] == ["p", "q", "r", "s"] and item["k"] == ["o", "p", "q", "r"]


def test_counter_idiom_on_a_missing_item(table):
    """SET c = if_not_exists(c, :zero) + :one creates a counter."""
    for _ in range(3):
        update(table, "SET c = if_not_exists(c, :zero) + :one", {":zero": 0, ":one": 1})
    assert current(table)["c"] == 3


# -- ReturnValues ---------------------------------------------------------------------------------

def test_return_values_none(stored):
    """NONE (default) returns no Attributes."""
    assert "Attributes" not in update(stored, "SET a = :v", {":v": 2})


def test_return_values_all_old(stored):
    """ALL_OLD returns the whole item as it was."""
    before = current(stored)
    assert update(stored, "SET a = :v", {":v": 2}, ReturnValues="ALL_OLD")["Attributes"] == before


def test_return_values_all_old_for_a_new_item(table):
    """ALL_OLD when there was no item: Attributes is omitted."""
    assert "Attributes" not in update(table, "SET a = :v", {":v": 2}, ReturnValues="ALL_OLD")


def test_return_values_all_new(stored):
    """ALL_NEW returns the whole new item."""
    response = update(stored, "SET a = :v", {":v": 2}, ReturnValues="ALL_NEW")
    assert response["Attributes"] == current(stored)


def test_return_values_all_new_for_a_created_item(table):
    """ALL_NEW of a created item includes its key."""
    assert update(table, "SET a = :v", {":v": 2}, ReturnValues="ALL_NEW")["Attributes"] == {**KEY, "a": 2}


def test_return_values_updated_old(stored):
    """UPDATED_OLD: old values of the written attributes that existed (removed ones included)."""
    response = update(stored, "SET a = :v, fresh = :v REMOVE b", {":v": 2}, ReturnValues="UPDATED_OLD")
    assert response["Attributes"] == {"a": 1, "b": "bee"}


def test_return_values_updated_new(stored):
    """UPDATED_NEW: new values of the written attributes (removed ones omitted)."""
    response = update(stored, "SET a = :v, fresh = :v REMOVE b", {":v": 2}, ReturnValues="UPDATED_NEW")
    assert response["Attributes"] == {"a": 2, "fresh": 2}


def test_updated_new_returns_only_touched_sub_paths(stored):
    """For nested updates only the touched paths come back, inside their containers."""
    response = update(stored, "SET m.c[1] = :v", {":v": 20}, ReturnValues="UPDATED_NEW")
    assert response["Attributes"] == {"m": {"c": [20]}}
    response = update(stored, "SET m.c[1] = :v", {":v": 21}, ReturnValues="UPDATED_OLD")
    assert response["Attributes"] == {"m": {"c": [20]}}


def test_updated_new_with_only_removals(stored):
    """UPDATED_NEW after removing only: nothing to return."""
    assert "Attributes" not in update(stored, "REMOVE a", ReturnValues="UPDATED_NEW")


def test_return_values_enum(stored):
    """ReturnValues is an enum (case-sensitive)."""
    with validation("1 validation error detected: Value 'all_new' at 'returnValues' failed to satisfy constraint: "
                    "Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"):
        update(stored, "SET a = :v", {":v": 1}, ReturnValues="all_new")


# -- conditions ----------------------------------------------------------------------------------

def test_condition_true(stored):
    """A true condition applies the update."""
    update(stored, "SET a = :v", {":v": 2, ":old": 1}, ConditionExpression="a = :old")
    assert current(stored)["a"] == 2


def test_condition_false(stored):
    """A false condition fails and changes nothing."""
    with raises("ConditionalCheckFailedException", "The conditional request failed"):
        update(stored, "SET a = :v", {":v": 2, ":old": 5}, ConditionExpression="a = :old")
    assert current(stored)["a"] == 1


def test_condition_on_missing_item_does_not_create(table):
    """attribute_exists on a missing item fails: no item is created."""
    with raises("ConditionalCheckFailedException"):
        update(table, "SET a = :v", {":v": 2}, ConditionExpression="attribute_exists(pk)")
    assert current(table) is None


def test_condition_failure_returns_old_item(stored):
    """ReturnValuesOnConditionCheckFailure ALL_OLD carries the item."""
    with raises("ConditionalCheckFailedException") as excinfo:
        update(stored, "SET a = :v", {":v": 2}, ConditionExpression="attribute_not_exists(a)",
               ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert same_item(excinfo.value.response["Item"], current(stored))


def test_legacy_attribute_updates(stored):
    """Legacy AttributeUpdates PUT/ADD/DELETE still work."""
    stored.update_item(Key=KEY, AttributeUpdates={
        "a": {"Action": "PUT", "Value": "put"}, "n": {"Action": "ADD", "Value": 1},
        "s": {"Action": "DELETE", "Value": {"x"}}, "b": {"Action": "DELETE"}, "l": {"Action": "ADD", "Value": ["t"]}})
    item = current(stored)
    assert (item["a"], item["n"], item["s"], "b" in item, item["l"]) == ("put", 11, {"y"}, False, ["p", "q", "r", "t"])


def test_legacy_empty_attribute_updates_creates_the_item(table):
    """An empty AttributeUpdates creates the item if absent."""
    table.update_item(Key=KEY, AttributeUpdates={})
    assert current(table) == KEY


def test_legacy_expected_with_attribute_updates(stored):
    """Expected goes with AttributeUpdates."""
    with raises("ConditionalCheckFailedException"):
        stored.update_item(Key=KEY, AttributeUpdates={"a": {"Value": 5}}, Expected={"a": {"Value": 2}})
    stored.update_item(Key=KEY, AttributeUpdates={"a": {"Value": 5}}, Expected={"a": {"Value": 1}})
    assert current(stored)["a"] == 5


def test_mixing_attribute_updates_and_update_expression(stored):
    """AttributeUpdates and UpdateExpression cannot be mixed."""
    with validation("Can not use both expression and non-expression parameters in the same request: "
                    "Non-expression parameters: {AttributeUpdates} Expression parameters: {UpdateExpression}"):
        stored.update_item(Key=KEY, AttributeUpdates={"a": {"Value": 5}}, UpdateExpression="SET a = :v",
                           ExpressionAttributeValues={":v": 1})


def test_values_without_expressions(stored):
    """ExpressionAttributeValues without UpdateExpression or ConditionExpression."""
    with validation("ExpressionAttributeValues can only be specified when using expressions: "
                    "UpdateExpression and ConditionExpression are null"):
        stored.update_item(Key=KEY, ExpressionAttributeValues={":v": 1})


def test_unused_value(stored):
    """Every value placeholder must be used by some expression of the request."""
    with validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"):
        update(stored, "SET a = :v", {":v": 1, ":w": 2})


def test_value_used_only_by_the_condition_counts(stored):
    """Placeholders are shared by the update and the condition."""
    update(stored, "SET #a = :v", {":v": 5, ":c": 1}, {"#a": "a"}, ConditionExpression="#a = :c")
    assert current(stored)["a"] == 5


# -- static errors ---------------------------------------------------------------------------------

def test_empty_update_expression(stored):
    """An empty UpdateExpression is rejected."""
    with validation("Invalid UpdateExpression: The expression can not be empty;"):
        update(stored, "")


@pytest.mark.parametrize("attribute", ["pk", "sk"])
def test_key_attributes_cannot_be_updated(stored, attribute):
    """Neither key attribute can be SET, REMOVEd, ADDed to or DELETEd from."""
    message = INVALID + f"Cannot update attribute {attribute}. This attribute is part of the key"
    with validation(message):
        update(stored, f"SET {attribute} = :v", {":v": 1 if attribute == "sk" else "x"})
    with validation(message):
        update(stored, f"REMOVE {attribute}")
    with validation(message):
        update(stored, f"ADD {attribute} :v", {":v": 1})


def test_nested_path_into_a_key(stored):
    """A nested path into a key attribute is rejected."""
    with validation("Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: "
                    "Key: pk"):
        update(stored, "SET pk.x = :v", {":v": 1})


def test_section_twice(stored):
    """Each clause appears at most once."""
    with validation('Invalid UpdateExpression: The "SET" section can only be used once in an update expression;'):
        update(stored, "SET a = :v SET b = :v", {":v": 1})


def test_overlapping_paths(stored):
    """Two target paths may not overlap."""
    with validation("Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite "
                    "one of these paths; path one: [m], path two: [m, d]"):
        update(stored, "SET m = :v, m.d = :v", {":v": {}})


def test_add_with_a_string(stored):
    """ADD takes a number or a set (DynamoDB may append the allowed type set to the text)."""
    with validation(startswith="Invalid UpdateExpression: Incorrect operand type for operator or function; "
                               "operator: ADD, operand type: STRING"):
        update(stored, "ADD a :v", {":v": "x"})


def test_add_to_an_item_string(stored):
    """ADD of a number to an item-side string is an incorrect data type."""
    with validation("An operand in the update expression has an incorrect data type"):
        update(stored, "ADD b :v", {":v": 1})


# -- key and request validation ----------------------------------------------------------------------

@pytest.mark.parametrize("key", [{"pk": "a"}, {"pk": "a", "sk": 1, "x": 1}, {"pk": "a", "sk": "1"}, {}])
def test_key_not_matching_the_schema(table, key):
    """Missing, extra or mistyped key attributes."""
    with validation(NO_MATCH):
        table.update_item(Key=key, UpdateExpression="SET a = :v", ExpressionAttributeValues={":v": 1})


def test_empty_string_key(string_range_table):
    """An empty string key value is rejected."""
    with validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                    "contain an empty string value. Key: sk"):
        string_range_table.update_item(Key={"pk": "a", "sk": ""})


def test_missing_table(db):
    """UpdateItem on a missing table."""
    with raises("ResourceNotFoundException", "Requested resource not found"):
        db.Table(unique_name()).update_item(Key={"pk": "a"}, UpdateExpression="SET a = :v",
                                            ExpressionAttributeValues={":v": 1})


def test_item_too_large_after_update(stored):
    """The updated item must stay within 400 KB."""
    big = "x" * 300_000
    update(stored, "SET big1 = :v", {":v": big})
    with validation("Item size to update has exceeded the maximum allowed size"):
        update(stored, "SET big2 = :v", {":v": big})
    assert "big2" not in current(stored)


def test_consumed_capacity(stored):
    """ReturnConsumedCapacity TOTAL reports write units."""
    response = update(stored, "SET a = :v", {":v": 2}, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"]["TableName"] == stored.name
    assert response["ConsumedCapacity"]["CapacityUnits"] >= 1.0


def test_number_key_is_returned_canonical(number_table):
    """A number key written as 1E3 comes back as 1000."""
    response = number_table.update_item(Key={"pk": Decimal("1E3")}, UpdateExpression="SET a = :v",
                                        ExpressionAttributeValues={":v": 1}, ReturnValues="ALL_NEW")
    assert str(response["Attributes"]["pk"]) == "1000"


def test_updated_new_quirk_of_appending(stored):
    """An element appended via SET l[100] is not part of UPDATED_NEW."""
    response = update(stored, "SET l[100] = :v, a = :w", {":v": "s", ":w": 2}, ReturnValues="UPDATED_NEW")
    assert response["Attributes"] == {"a": 2}


def test_updated_new_quirk_of_removing_a_list_element(stored):
    """After REMOVE l[1], UPDATED_NEW shows the element that shifted into index 1."""
    response = update(stored, "REMOVE l[1]", ReturnValues="UPDATED_NEW")
    assert response["Attributes"] == {"l": ["r"]}


def test_update_of_a_missing_key_with_no_change_still_answers(table):
    """An update that only removes, on a missing item, returns no Attributes and creates nothing."""
    response = update(table, "REMOVE a", ReturnValues="ALL_NEW")
    assert "Attributes" not in response
    assert current(table) is None


def test_boolean_replacing_an_equal_number_is_written(hash_table):
    """SET u = true on u = 1 changes the item (Python's True == 1 must not make it a no-op)."""
    hash_table.put_item(Item={"pk": "a", "u": 1})
    hash_table.update_item(Key={"pk": "a"}, UpdateExpression="SET u = :v", ExpressionAttributeValues={":v": True})
    assert hash_table.get_item(Key={"pk": "a"})["Item"]["u"] is True
