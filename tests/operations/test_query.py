"""Query: the items of one partition, in sort-key order, paged by Limit and 1 MB, filtered and projected."""

from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import Attr, Key

from .helpers import query_all, raises, unique_name, validation

INVALID = "One or more parameter values were invalid: "


@pytest.fixture
def table(range_table):
    """Partition 'a' with sk 0..9 (v = sk, odd flag), partition 'b' with sk 0..2."""
    for i in range(10):
        range_table.put_item(Item={"pk": "a", "sk": i, "v": i, "odd": i % 2 == 1, "text": f"t{i}"})
    for i in range(3):
        range_table.put_item(Item={"pk": "b", "sk": i})
    return range_table


def sks(response):
    return [int(item["sk"]) for item in response["Items"]]


def q(table, condition="pk = :p", values=None, **kwargs):
    values = {":p": "a", **(values or {})}
    return table.query(KeyConditionExpression=condition, ExpressionAttributeValues=values, **kwargs)


# -- selecting and ordering ------------------------------------------------------------------

def test_partition_in_sort_key_order(table):
    """A Query returns one partition's items in ascending sort-key order."""
    response = q(table)
    assert sks(response) == list(range(10))
    assert response["Count"] == 10
    assert response["ScannedCount"] == 10
    assert "LastEvaluatedKey" not in response


def test_descending_order(table):
    """ScanIndexForward=false walks the partition backwards."""
    assert sks(q(table, ScanIndexForward=False)) == list(range(9, -1, -1))


def test_unknown_partition_is_empty(table):
    """A partition key with no items gives no items (and no error)."""
    response = q(table, values={":p": "zzz"})
    assert response["Items"] == [] and response["Count"] == 0


@pytest.mark.parametrize("condition, values, expected", [
    ("pk = :p AND sk = :x", {":x": 3}, [3]),
    ("pk = :p AND sk < :x", {":x": 3}, [0, 1, 2]),
    ("pk = :p AND sk <= :x", {":x": 3}, [0, 1, 2, 3]),
    ("pk = :p AND sk > :x", {":x": 7}, [8, 9]),
    ("pk = :p AND sk >= :x", {":x": 7}, [7, 8, 9]),
    ("pk = :p AND sk BETWEEN :x AND :y", {":x": 2, ":y": 4}, [2, 3, 4]),
    ("sk < :x AND pk = :p", {":x": 2}, [0, 1]),
    (":x > sk AND pk = :p", {":x": 2}, [0, 1]),
    ("(pk = :p) AND (sk >= :x)", {":x": 9}, [9]),
    (":p = pk", {}, list(range(10))),
])
def test_range_conditions(table, condition, values, expected):
    """=, <, <=, >, >=, BETWEEN on the sort key, in either operand order, with parentheses."""
    assert sks(q(table, condition, values)) == expected


def test_begins_with_on_a_string_sort_key(string_range_table):
    """begins_with selects a prefix of a string sort key."""
    for sk in ["order#1", "order#2", "other", "ord"]:
        string_range_table.put_item(Item={"pk": "a", "sk": sk})
    response = string_range_table.query(KeyConditionExpression="pk = :p AND begins_with(sk, :pre)",
                                        ExpressionAttributeValues={":p": "a", ":pre": "order#"})
    assert [i["sk"] for i in response["Items"]] == ["order#1", "order#2"]


def test_key_condition_with_boto3_builders(table):
    """Key(...) conditions render to the same query."""
    response = table.query(KeyConditionExpression=Key("pk").eq("a") & Key("sk").between(3, 5))
    assert sks(response) == [3, 4, 5]


def test_number_sort_keys_order_numerically(range_table):
    """N sort keys sort by value: -1 < 0.5 < 2 < 10 < 1e20."""
    for sk in [Decimal("10"), Decimal("-1"), Decimal("2"), Decimal("0.5"), Decimal("1e20")]:
        range_table.put_item(Item={"pk": "a", "sk": sk})
    response = range_table.query(KeyConditionExpression=Key("pk").eq("a"))
    assert [item["sk"] for item in response["Items"]] == [-1, Decimal("0.5"), 2, 10, Decimal("1e20")]


def test_string_sort_keys_order_by_utf8_bytes(string_range_table):
    """S sort keys sort by their UTF-8 bytes (code-point order)."""
    values = ["a", "B", "é", "Z", "aa", "\U0001F600", "\uffff", "0"]
    for sk in values:
        string_range_table.put_item(Item={"pk": "a", "sk": sk})
    response = string_range_table.query(KeyConditionExpression=Key("pk").eq("a"))
    assert [i["sk"] for i in response["Items"]] == sorted(values, key=lambda s: s.encode("utf-8"))


def test_binary_sort_keys_order_unsigned(binary_table):
    """B sort keys compare bytes unsigned: 0x7f before 0x80."""
    values = [b"\x80", b"\x7f", b"\x00", b"\xff", b"\x00\x00"]
    for sk in values:
        binary_table.put_item(Item={"pk": b"p", "sk": sk})
    response = binary_table.query(KeyConditionExpression=Key("pk").eq(b"p"))
    assert [bytes(i["sk"].value if hasattr(i["sk"], "value") else i["sk"]) for i in response["Items"]] == sorted(values)


def test_hash_only_table(hash_table):
    """Query works on a hash-only table and returns at most one item."""
    hash_table.put_item(Item={"pk": "a", "v": 1})
    response = hash_table.query(KeyConditionExpression=Key("pk").eq("a"))
    assert response["Items"] == [{"pk": "a", "v": 1}]


def test_consistent_read_on_a_table(table):
    """ConsistentRead is allowed on a table."""
    assert q(table, ConsistentRead=True)["Count"] == 10


# -- filter, projection, Select -----------------------------------------------------------------

def test_filter_after_reading(table):
    """FilterExpression drops items after they are read: Count < ScannedCount."""
    response = q(table, FilterExpression="odd = :t", values={":t": True})
    assert sks(response) == [1, 3, 5, 7, 9]
    assert (response["Count"], response["ScannedCount"]) == (5, 10)


def test_filter_with_boto3_attr(table):
    """Attr(...) filters combine with a Key condition."""
    response = table.query(KeyConditionExpression=Key("pk").eq("a"), FilterExpression=Attr("v").gte(8))
    assert sks(response) == [8, 9]


def test_filter_on_a_key_attribute(table):
    """A Query filter may not use the table's key attributes."""
    with validation("Filter Expression can only contain non-primary key attributes: Primary key attribute: sk"):
        q(table, FilterExpression="sk > :x", values={":x": 1})


def test_filter_on_the_hash_key(table):
    """... neither the sort key nor the partition key."""
    with validation("Filter Expression can only contain non-primary key attributes: Primary key attribute: pk"):
        q(table, FilterExpression="pk = :p")


def test_legacy_query_filter_on_a_key_attribute(table):
    """Legacy QueryFilter has the same rule and its own name in the message."""
    with validation("QueryFilter can only contain non-primary key attributes: Primary key attribute: sk"):
        table.query(KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": ["a"]}},
                    QueryFilter={"sk": {"ComparisonOperator": "GT", "AttributeValueList": [1]}})


def test_projection(table):
    """ProjectionExpression returns only the named attributes."""
    response = q(table, "pk = :p AND sk = :x", {":x": 2}, ProjectionExpression="v, #t",
                 ExpressionAttributeNames={"#t": "text"})
    assert response["Items"] == [{"v": 2, "text": "t2"}]


def test_filter_may_use_unprojected_attributes(table):
    """The filter sees the whole item; the projection applies after it."""
    response = q(table, FilterExpression="odd = :t", values={":t": True}, ProjectionExpression="sk")
    assert response["Items"] == [{"sk": i} for i in (1, 3, 5, 7, 9)]


def test_select_count(table):
    """Select=COUNT returns counts and no Items."""
    response = q(table, Select="COUNT")
    assert "Items" not in response
    assert response["Count"] == 10


def test_select_count_with_filter(table):
    """COUNT counts after the filter; ScannedCount before."""
    response = q(table, Select="COUNT", FilterExpression="odd = :t", values={":t": True})
    assert (response["Count"], response["ScannedCount"]) == (5, 10)


def test_select_all_attributes(table):
    """ALL_ATTRIBUTES is the default on a table."""
    assert q(table, Select="ALL_ATTRIBUTES")["Items"] == q(table)["Items"]


def test_select_specific_attributes_with_projection(table):
    """SPECIFIC_ATTRIBUTES goes with a projection."""
    assert q(table, Select="SPECIFIC_ATTRIBUTES", ProjectionExpression="sk")["Items"][0] == {"sk": 0}


def test_select_specific_attributes_without_projection(table):
    """SPECIFIC_ATTRIBUTES needs ProjectionExpression or AttributesToGet."""
    with validation():
        q(table, Select="SPECIFIC_ATTRIBUTES")


def test_select_all_projected_attributes_on_a_table(table):
    """ALL_PROJECTED_ATTRIBUTES exists only for indexes."""
    with validation():
        q(table, Select="ALL_PROJECTED_ATTRIBUTES")


@pytest.mark.parametrize("select", ["ALL_ATTRIBUTES", "COUNT"])
def test_projection_with_incompatible_select(table, select):
    """A projection combined with ALL_ATTRIBUTES or COUNT is rejected, naming the projection."""
    with validation(contains="ProjectionExpression"):
        q(table, Select=select, ProjectionExpression="sk")


def test_invalid_select(table):
    """Select is an enum."""
    with validation("1 validation error detected: Value 'INVALID_VALUE' at 'select' failed to satisfy constraint: "
                    "Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, "
                    "ALL_PROJECTED_ATTRIBUTES]"):
        q(table, Select="INVALID_VALUE")


# -- pagination -------------------------------------------------------------------------------

def test_limit_pages(table):
    """Limit bounds a page; LastEvaluatedKey (the table key of the last item) resumes after it."""
    first = q(table, Limit=4)
    assert sks(first) == [0, 1, 2, 3]
    assert first["LastEvaluatedKey"] == {"pk": "a", "sk": 3}
    second = q(table, Limit=4, ExclusiveStartKey=first["LastEvaluatedKey"])
    assert sks(second) == [4, 5, 6, 7]


def test_paging_visits_every_item_once(table):
    """Following LastEvaluatedKey to the end yields the partition exactly once."""
    for limit in (1, 3, 10, 11):
        items, _ = query_all(table, KeyConditionExpression=Key("pk").eq("a"), Limit=limit)
        assert [int(i["sk"]) for i in items] == list(range(10))


def test_paging_backwards(table):
    """Descending pages resume below the last key."""
    items, pages = query_all(table, KeyConditionExpression=Key("pk").eq("a"), Limit=3, ScanIndexForward=False)
    assert [int(i["sk"]) for i in items] == list(range(9, -1, -1))
    assert pages >= 4


def test_limit_counts_items_before_the_filter(table):
    """Limit counts items read: a page may hold no matches yet carry a LastEvaluatedKey."""
    response = q(table, Limit=2, FilterExpression="v > :big", values={":big": 100})
    assert response["Items"] == []
    assert (response["Count"], response["ScannedCount"]) == (0, 2)
    assert response["LastEvaluatedKey"] == {"pk": "a", "sk": 1}


def test_select_count_pages_too(table):
    """COUNT pages the same way: clients sum Count."""
    total, kwargs = 0, {}
    while True:
        page = q(table, Select="COUNT", Limit=3, **kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert total == 10


def test_exclusive_start_key_need_not_exist(table):
    """ExclusiveStartKey need not be an existing item: the query restarts strictly after it."""
    response = q(table, ExclusiveStartKey={"pk": "a", "sk": Decimal("4.5")})
    assert sks(response) == [5, 6, 7, 8, 9]


def test_one_megabyte_pages(range_table):
    """A page stops once the items read reach 1 MB, with a LastEvaluatedKey; paging still sees everything."""
    big = "x" * 100_000
    for i in range(25):
        range_table.put_item(Item={"pk": "big", "sk": i, "data": big})
    first = range_table.query(KeyConditionExpression=Key("pk").eq("big"))
    assert "LastEvaluatedKey" in first
    assert 9 <= first["Count"] <= 12
    items, pages = query_all(range_table, KeyConditionExpression=Key("pk").eq("big"), ProjectionExpression="sk")
    assert [int(i["sk"]) for i in items] == list(range(25))
    assert pages >= 3


def test_limit_zero(table):
    """Limit must be at least 1 (Query's message has no value and a capital L)."""
    with validation("1 validation error detected: Value at 'Limit' failed to satisfy constraint: "
                    "Member must have value greater than or equal to 1"):
        q(table, Limit=0)


# -- ExclusiveStartKey errors ------------------------------------------------------------------

@pytest.mark.parametrize("start", [{"pk": "a"}, {"pk": "a", "sk": 1, "x": 1}, {"pk": "a", "sk": "1"}, {"sk": 1}])
def test_malformed_exclusive_start_key(table, start):
    """ExclusiveStartKey must hold exactly the key attributes with their types."""
    with validation(startswith="The provided starting key is invalid"):
        q(table, ExclusiveStartKey=start)


def test_exclusive_start_key_of_another_partition(table):
    """The start key must lie in the queried partition."""
    with validation("The provided starting key is outside query boundaries based on provided conditions"):
        q(table, ExclusiveStartKey={"pk": "b", "sk": 1})


def test_exclusive_start_key_outside_the_range_condition(table):
    """... and inside the range condition."""
    with validation("The provided starting key does not match the range key predicate"):
        q(table, "pk = :p AND sk > :x", {":x": 5}, ExclusiveStartKey={"pk": "a", "sk": 2})


def test_paging_a_table_without_a_sort_key_accepts_the_last_evaluated_key_it_returned(hash_table):
    """Issue 14: the LastEvaluatedKey of a Limit-ed Query on a hash-only table pages on (to an empty page)."""
    hash_table.put_item(Item={"pk": "a", "v": 1})
    hash_table.put_item(Item={"pk": "b"})
    first = hash_table.query(KeyConditionExpression=Key("pk").eq("a"), Limit=1)
    assert first["Items"] == [{"pk": "a", "v": 1}] and first["LastEvaluatedKey"] == {"pk": "a"}
    second = hash_table.query(KeyConditionExpression=Key("pk").eq("a"), Limit=1,
                              ExclusiveStartKey=first["LastEvaluatedKey"])
    assert second["Items"] == [] and second["Count"] == 0 and "LastEvaluatedKey" not in second
    assert query_all(hash_table, KeyConditionExpression=Key("pk").eq("a"), Limit=1) == ([{"pk": "a", "v": 1}], 2)


def test_exclusive_start_key_of_another_partition_on_a_table_without_a_sort_key(hash_table):
    """The start key must still lie in the queried partition."""
    with validation("The provided starting key is outside query boundaries based on provided conditions"):
        hash_table.query(KeyConditionExpression=Key("pk").eq("a"), ExclusiveStartKey={"pk": "b"})


# -- key condition errors ----------------------------------------------------------------------

def test_missing_key_condition(table):
    """A Query needs KeyConditionExpression (or legacy KeyConditions)."""
    with validation():
        table.query()


def test_empty_key_condition(table):
    """An empty KeyConditionExpression is rejected."""
    with validation("Invalid KeyConditionExpression: The expression can not be empty;"):
        table.query(KeyConditionExpression="")


def test_no_condition_on_the_hash_key(table):
    """The hash key must be constrained."""
    with validation("Query condition missed key schema element: pk"):
        table.query(KeyConditionExpression="sk = :x", ExpressionAttributeValues={":x": 1})


def test_condition_only_on_a_non_key_attribute(table):
    """A condition on a non-key attribute reports the missing hash key."""
    with validation("Query condition missed key schema element: pk"):
        table.query(KeyConditionExpression="attr1 = :v", ExpressionAttributeValues={":v": "x"})


def test_hash_key_not_equality(table):
    """The hash key takes only '='."""
    with validation("Query key condition not supported"):
        table.query(KeyConditionExpression="pk > :p", ExpressionAttributeValues={":p": "a"})


@pytest.mark.parametrize("operator, condition", [
    ("OR", "pk = :p OR sk = :x"),
    ("<>", "pk = :p AND sk <> :x"),
    ("NOT", "pk = :p AND NOT sk = :x"),
])
def test_invalid_operators(table, operator, condition):
    """OR, NOT, IN and <> are not key conditions."""
    with validation(f"Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: {operator}"):
        q(table, condition, {":x": 1})


def test_value_of_the_wrong_type(table):
    """The key condition value must have the key's type."""
    with validation(INVALID + "Condition parameter type does not match schema type"):
        q(table, values={":p": 1})


def test_legacy_key_conditions(table):
    """Legacy KeyConditions query the same way."""
    response = table.query(KeyConditions={
        "pk": {"ComparisonOperator": "EQ", "AttributeValueList": ["a"]},
        "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [2, 3]}})
    assert sks(response) == [2, 3]


def test_mixing_key_conditions_and_expression(table):
    """KeyConditions and KeyConditionExpression cannot be mixed."""
    with validation("Can not use both expression and non-expression parameters in the same request: "
                    "Non-expression parameters: {KeyConditions} Expression parameters: {KeyConditionExpression}"):
        table.query(KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": ["a"]}},
                    KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "a"})


# -- other errors ------------------------------------------------------------------------------

def test_unknown_index(table):
    """Querying an index the table does not have."""
    with validation("The table does not have the specified index: nope"):
        q(table, IndexName="nope")


def test_missing_table(db):
    """Query on a missing table."""
    with raises("ResourceNotFoundException", "Requested resource not found"):
        db.Table(unique_name()).query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "a"})


def test_consumed_capacity(table):
    """ReturnConsumedCapacity TOTAL reports read units for the page."""
    response = q(table, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"]["TableName"] == table.name
    assert response["ConsumedCapacity"]["CapacityUnits"] == 0.5


def test_begins_with_on_a_number_sort_key(table):
    """begins_with needs a string or binary sort key."""
    with validation("Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
                    "operator or function: begins_with, operand type: N"):
        q(table, "pk = :p AND begins_with(sk, :x)", {":x": 1})


def test_two_conditions_on_one_key(table):
    """Each key attribute takes one condition."""
    with validation("Invalid KeyConditionExpression: " "KeyConditionExpressions must only contain one condition per key"):
        q(table, "pk = :p AND sk > :x AND sk < :y", {":x": 1, ":y": 5})


def test_nested_key_attribute_path(table):
    """Key conditions cannot address nested attributes."""
    with validation("Invalid KeyConditionExpression: " "KeyConditionExpressions cannot have conditions on nested attributes"):
        q(table, "pk = :p AND sk.x = :x", {":x": 1})


def test_size_in_a_key_condition(table):
    """Key conditions take no nested operations such as size()."""
    with validation("Invalid KeyConditionExpression: " "KeyConditionExpressions cannot contain nested operations"):
        q(table, "pk = :p AND size(sk) = :x", {":x": 1})


def test_between_with_reversed_bounds(table):
    """BETWEEN needs lower <= upper."""
    with validation("Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or "
                    "equal to lower bound; lower bound operand: AttributeValue: {N:10}, upper bound operand: "
                    "AttributeValue: {N:1}"):
        q(table, "pk = :p AND sk BETWEEN :lo AND :hi", {":lo": 10, ":hi": 1})


def test_query_on_a_table_with_a_binary_hash_key(binary_table):
    """Binary partition keys are queried by their bytes."""
    binary_table.put_item(Item={"pk": b"\x00\xff", "sk": b"a"})
    binary_table.put_item(Item={"pk": b"\x00", "sk": b"a"})
    assert binary_table.query(KeyConditionExpression=Key("pk").eq(b"\x00\xff"))["Count"] == 1
