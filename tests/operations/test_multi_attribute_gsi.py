"""GSIs with multi-attribute keys (up to 4 HASH + 4 RANGE components): writes, Query, Scan.

Reference section 10.5.  Every test runs on every face (``dynamodb`` fixture).
The key-schema rules of CreateTable / UpdateTable are in
test_multi_attribute_gsi_schema.py.
"""

from decimal import Decimal

import pytest

from .helpers import raises, unique_name, validation

INVALID = "One or more parameter values were invalid: "
HASH_EQUALITY = "HASH key attributes {} must have equality conditions specified in the query"
RANGE_EQUALITY = ("RANGE key attributes {} must have equality conditions specified in the query because a "
                  "condition is present on key attribute {}")


def composite_table(db, hashes, ranges=(), table_keys=(("pk", "S"),), projection="ALL", index_name="idx",
                    non_key=None, more_gsis=(), more_defs=()):
    """A table with GSI ``index_name`` keyed on ``hashes`` then ``ranges`` (``(name, type)`` pairs)."""
    defs = dict(table_keys)
    defs.update(dict(hashes))
    defs.update(dict(ranges))
    defs.update(dict(more_defs))
    proj = {"ProjectionType": projection}
    if non_key:
        proj["NonKeyAttributes"] = list(non_key)
    key_schema = [{"AttributeName": table_keys[0][0], "KeyType": "HASH"}]
    if len(table_keys) > 1:
        key_schema.append({"AttributeName": table_keys[1][0], "KeyType": "RANGE"})
    table = db.create_table(
        TableName=unique_name(), BillingMode="PAY_PER_REQUEST", KeySchema=key_schema,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in defs.items()],
        GlobalSecondaryIndexes=[{
            "IndexName": index_name,
            "KeySchema": [{"AttributeName": n, "KeyType": "HASH"} for n, _ in hashes]
            + [{"AttributeName": n, "KeyType": "RANGE"} for n, _ in ranges],
            "Projection": proj}, *more_gsis])
    table.wait_until_exists()
    return table


def query(table, expression, values, index="idx", names=None, **extra):
    request = dict(IndexName=index, KeyConditionExpression=expression, ExpressionAttributeValues=values, **extra)
    if names:
        request["ExpressionAttributeNames"] = names
    return table.query(**request)


def scan_all(table, index="idx", **extra):
    items, start = [], {}
    while True:
        page = table.scan(IndexName=index, **extra, **start)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def pks(response_or_items):
    items = response_or_items["Items"] if isinstance(response_or_items, dict) else response_or_items
    return [i["pk"] for i in items]


# -- the pinned scenario: one HASH and four RANGE components, all S ------------------------

PINNED = [
    {"pk": "p1", "a": "T", "b": "live", "c": "b", "d": "r1"},
    {"pk": "p2", "a": "T", "b": "live", "c": "a", "d": "r2"},
    {"pk": "p3", "a": "T", "b": "live", "c": "a", "d": "r1"},
    {"pk": "p4", "a": "T", "b": "draft", "c": "c", "d": "r1"},
    {"pk": "p5", "a": "F", "b": "live", "c": "a", "d": "r0"},
    {"pk": "p6", "a": "T", "b": "live", "d": "r1"},                    # no c: not in the index
]
VALUES = {":h": "o1", ":a": "T", ":b": "live", ":c": "a", ":d": "r", ":x": "r1", ":y": "r1"}


@pytest.fixture
def pinned(dynamodb):
    table = composite_table(dynamodb, [("h", "S")], [("a", "S"), ("b", "S"), ("c", "S"), ("d", "S")])
    for item in PINNED:
        table.put_item(Item={"h": "o1", **item})
    return table


def pinned_query(table, expression, **extra):
    return pks(query(table, expression, {k: v for k, v in VALUES.items() if k in expression}, **extra))


@pytest.mark.parametrize("expression, expected", [
    ("h = :h", ["p5", "p4", "p3", "p2", "p1"]),
    ("h = :h AND a = :a", ["p4", "p3", "p2", "p1"]),
    ("h = :h AND a = :a AND b = :b", ["p3", "p2", "p1"]),
    ("h = :h AND a = :a AND b = :b AND c = :c", ["p3", "p2"]),
    ("h = :h AND a = :a AND b = :b AND c > :c", ["p1"]),
    ("h = :h AND a = :a AND b = :b AND c = :c AND begins_with(d, :d)", ["p3", "p2"]),
    ("h = :h AND a = :a AND b = :b AND c = :c AND d BETWEEN :x AND :y", ["p3"]),
    ("h = :h AND a = :a AND b < :b", ["p4"]),
    ("b = :b AND h = :h AND a = :a", ["p3", "p2", "p1"]),                 # any textual order
    ("h = :h AND a >= :a", ["p4", "p3", "p2", "p1"]),
    ("h = :h AND a = :a AND b = :b AND c = :c AND d = :x", ["p3"]),      # last one named: `=`
])
def test_query_reads_a_left_to_right_prefix_in_tuple_order(pinned, expression, expected):
    """HASH equalities, then RANGE conditions on a prefix; items in the order of the RANGE tuple."""
    assert pinned_query(pinned, expression) == expected


def test_scan_index_forward_false_reverses(pinned):
    assert pinned_query(pinned, "h = :h AND a = :a", ScanIndexForward=False) == ["p1", "p2", "p3", "p4"]


@pytest.mark.parametrize("expression, x, y", [
    ("h = :h AND a = :a AND c = :c", "b", "c"),               # a gap
    ("h = :h AND a = :a AND b > :b AND c = :c", "b", "c"),    # a range condition before a later one
    ("h = :h AND b = :b", "a", "b"),                          # the first component skipped
    ("h = :h AND a > :a AND b > :b", "a", "b"),               # two range conditions
    ("h = :h AND begins_with(a, :a) AND b = :b", "a", "b"),   # begins_with before a later condition
    ("h = :h AND a = :a AND d = :x", "b", "d"),
])
def test_range_components_out_of_prefix_are_refused(pinned, expression, x, y):
    with validation(RANGE_EQUALITY.format(x, y)):
        pinned_query(pinned, expression)


def test_last_evaluated_key_carries_the_table_key_and_every_component(pinned):
    response = query(pinned, "h = :h AND a = :a", {":h": "o1", ":a": "T"}, Limit=2)
    assert pks(response) == ["p4", "p3"]
    assert response["LastEvaluatedKey"] == {"pk": "p3", "h": "o1", "a": "T", "b": "live", "c": "a", "d": "r1"}


@pytest.mark.parametrize("forward", [True, False])
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_paging_resumes_after_the_last_evaluated_key(pinned, forward, limit):
    expected = pinned_query(pinned, "h = :h", ScanIndexForward=forward)
    seen, start = [], {}
    while True:
        page = query(pinned, "h = :h", {":h": "o1"}, Limit=limit, ScanIndexForward=forward, **start)
        seen += pks(page)
        if "LastEvaluatedKey" not in page:
            break
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    assert seen == expected


@pytest.mark.parametrize("start", [
    {"pk": "p3", "h": "o1", "a": "T", "b": "live", "c": "a"},                      # a component missing
    {"pk": "p3", "h": "o1", "a": "T", "b": "live", "c": "a", "d": "r1", "x": "1"},  # an extra attribute
    {"pk": "p3", "h": "o1", "a": "T", "b": "live", "c": "a", "d": 1},              # a wrong type
])
def test_a_malformed_exclusive_start_key_is_refused(pinned, start):
    with validation("The provided starting key is invalid: The provided key element does not match the schema"):
        query(pinned, "h = :h", {":h": "o1"}, ExclusiveStartKey=start)
    with validation("The provided starting key is invalid: The provided key element does not match the schema"):
        pinned.scan(IndexName="idx", ExclusiveStartKey=start)


def test_an_exclusive_start_key_outside_the_condition_is_refused(pinned):
    key = {"pk": "p3", "h": "o1", "a": "T", "b": "live", "c": "a", "d": "r1"}
    with validation("The provided starting key is outside query boundaries based on provided conditions"):
        query(pinned, "h = :h", {":h": "o2"}, ExclusiveStartKey=key)
    with validation("The provided starting key does not match the range key predicate"):
        query(pinned, "h = :h AND a = :a", {":h": "o1", ":a": "F"}, ExclusiveStartKey=key)
    with validation("The provided starting key does not match the range key predicate"):
        query(pinned, "h = :h AND a = :a AND b > :b", {":h": "o1", ":a": "T", ":b": "live"}, ExclusiveStartKey=key)


def test_scan_returns_exactly_the_indexed_items_page_by_page(pinned):
    for limit in (1, 2, 5, 10):
        assert sorted(pks(scan_all(pinned, Limit=limit))) == ["p1", "p2", "p3", "p4", "p5"]
    page = pinned.scan(IndexName="idx", Limit=1)
    assert set(page["LastEvaluatedKey"]) == {"pk", "h", "a", "b", "c", "d"}


# -- HASH components ------------------------------------------------------------------------

@pytest.fixture
def two_by_two(dynamodb):
    return composite_table(dynamodb, [("h1", "S"), ("h2", "N")], [("r1", "N"), ("r2", "B")])


@pytest.mark.parametrize("expression, values, name", [
    ("h1 = :a", {":a": "x"}, "h2"),                                       # one HASH component missing
    ("h2 = :b", {":b": 1}, "h1"),
    ("h1 = :a AND h2 > :b", {":a": "x", ":b": 1}, "h2"),                  # not `=`
    ("h1 = :a AND h2 BETWEEN :b AND :c", {":a": "x", ":b": 1, ":c": 2}, "h2"),
    ("h1 > :a AND h2 = :b", {":a": "x", ":b": 1}, "h1"),
    ("h2 = :b AND begins_with(h1, :a)", {":a": "x", ":b": 1}, "h1"),
    ("r1 = :b", {":b": 1}, "h1"),                                         # only RANGE conditions
])
def test_every_hash_component_needs_an_equality(two_by_two, expression, values, name):
    with validation(HASH_EQUALITY.format(name)):
        query(two_by_two, expression, values)


def test_condition_values_must_have_each_component_type(two_by_two):
    with validation(INVALID + "Condition parameter type does not match schema type"):
        query(two_by_two, "h1 = :a AND h2 = :a", {":a": "x"})
    with validation(INVALID + "Condition parameter type does not match schema type"):
        query(two_by_two, "h1 = :a AND h2 = :b AND r1 = :a", {":a": "x", ":b": 1})
    with validation("Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
                    "operator or function: begins_with, operand type: N"):
        query(two_by_two, "h1 = :a AND h2 = :b AND begins_with(r1, :b)", {":a": "x", ":b": 1})


def test_more_conditions_than_components_or_a_non_key_attribute(two_by_two):
    with validation("Query condition missed key schema element: r1"):
        query(two_by_two, "h1 = :a AND h2 = :b AND x = :b", {":a": "x", ":b": 1})
    with validation("The number of query conditions (5) exceeds the number of key attributes defined in the "
                    "schema (4)"):
        query(two_by_two, "h1 = :a AND h2 = :b AND r1 = :b AND r2 = :c AND x = :b",
              {":a": "x", ":b": 1, ":c": b"\x01"})


def test_an_empty_string_condition_value(two_by_two):
    with validation("One or more parameter values are not valid. A value specified for a secondary index key is "
                    "not supported. The AttributeValue for a key attribute cannot contain an empty string "
                    "value. IndexName: idx, IndexKey: h1"):
        query(two_by_two, "h1 = :a AND h2 = :b", {":a": "", ":b": 1})


def test_placeholders_name_components(two_by_two):
    two_by_two.put_item(Item={"pk": "p", "h1": "x", "h2": 1, "r1": 2, "r2": b"\x01"})
    response = query(two_by_two, "#a = :a AND #b = :b AND #c > :c", {":a": "x", ":b": 1, ":c": 1},
                     names={"#a": "h1", "#b": "h2", "#c": "r1"})
    assert pks(response) == ["p"]


def test_consistent_read_is_refused(two_by_two):
    with validation("Consistent reads are not supported on global secondary indexes"):
        query(two_by_two, "h1 = :a AND h2 = :b", {":a": "x", ":b": 1}, ConsistentRead=True)


@pytest.mark.parametrize("name", ["h1", "h2", "r1", "r2"])
def test_a_filter_may_not_name_any_component(two_by_two, name):
    message = f"Filter Expression can only contain non-primary key attributes: Primary key attribute: {name}"
    with validation(message):
        query(two_by_two, "h1 = :a AND h2 = :b", {":a": "x", ":b": 1}, FilterExpression="attribute_exists(#n)",
              names={"#n": name})


def test_a_filter_may_name_the_table_key(two_by_two):
    two_by_two.put_item(Item={"pk": "p", "h1": "x", "h2": 1, "r1": 2, "r2": b"\x01"})
    two_by_two.put_item(Item={"pk": "q", "h1": "x", "h2": 1, "r1": 3, "r2": b"\x01"})
    response = query(two_by_two, "h1 = :a AND h2 = :b", {":a": "x", ":b": 1, ":p": "q"}, FilterExpression="pk = :p")
    assert pks(response) == ["q"] and response["ScannedCount"] == 2


def test_hash_components_of_several_types_select_one_partition(two_by_two):
    for i, (h1, h2) in enumerate([("x", 1), ("x", 2), ("y", 1), ("x", 1)]):
        two_by_two.put_item(Item={"pk": f"p{i}", "h1": h1, "h2": h2, "r1": i, "r2": b"\x00"})
    assert pks(query(two_by_two, "h1 = :a AND h2 = :b", {":a": "x", ":b": 1})) == ["p0", "p3"]
    assert pks(query(two_by_two, "h2 = :b AND h1 = :a", {":a": "y", ":b": 1})) == ["p2"]
    assert pks(query(two_by_two, "h1 = :a AND h2 = :b", {":a": "x", ":b": 3})) == []


def test_range_tuple_orders_numbers_numerically_and_binary_unsigned(two_by_two):
    rows = [(10, b"\x01"), (9, b"\xff"), (9, b"\x7f"), (-1, b"\x00"), (Decimal("9.5"), b"")]
    for i, (r1, r2) in enumerate(rows):
        item = {"pk": f"p{i}", "h1": "x", "h2": 1, "r1": r1}
        if r2:
            item["r2"] = r2
        two_by_two.put_item(Item=item)
    items = query(two_by_two, "h1 = :a AND h2 = :b", {":a": "x", ":b": 1})["Items"]
    assert [(i["r1"], bytes(i["r2"].value if hasattr(i["r2"], "value") else i["r2"])) for i in items] == [
        (-1, b"\x00"), (9, b"\x7f"), (9, b"\xff"), (10, b"\x01")]
    assert pks(query(two_by_two, "h1 = :a AND h2 = :b AND r1 = :r", {":a": "x", ":b": 1, ":r": 9},
                     ScanIndexForward=False)) == ["p1", "p2"]
    assert pks(query(two_by_two, "h1 = :a AND h2 = :b AND r1 BETWEEN :lo AND :hi",
                     {":a": "x", ":b": 1, ":lo": 0, ":hi": 9})) == ["p2", "p1"]


def test_four_hash_and_four_range_components(dynamodb):
    table = composite_table(dynamodb, [("h1", "S"), ("h2", "S"), ("h3", "S"), ("h4", "S")],
                            [("r1", "N"), ("r2", "S"), ("r3", "B"), ("r4", "S")])
    item = {"pk": "p", "h1": "a", "h2": "b", "h3": "c", "h4": "d", "r1": 1, "r2": "x", "r3": b"\x00", "r4": "y"}
    table.put_item(Item=item)
    values = {":h1": "a", ":h2": "b", ":h3": "c", ":h4": "d", ":r1": 1, ":r2": "x", ":r3": b"\x00", ":r4": "y"}
    response = query(table, "h1 = :h1 AND h2 = :h2 AND h3 = :h3 AND h4 = :h4 AND r1 = :r1 AND r2 = :r2 AND "
                     "r3 = :r3 AND r4 = :r4", values)
    assert pks(response) == ["p"]


# -- legacy KeyConditions -------------------------------------------------------------------

def legacy(table, conditions, **extra):
    return table.query(IndexName="idx", KeyConditions={
        name: {"ComparisonOperator": op, "AttributeValueList": list(values)}
        for name, (op, values) in conditions.items()}, **extra)


def test_legacy_key_conditions(pinned):
    assert pks(legacy(pinned, {"h": ("EQ", ["o1"])})) == ["p5", "p4", "p3", "p2", "p1"]
    assert pks(legacy(pinned, {"h": ("EQ", ["o1"]), "a": ("EQ", ["T"]), "b": ("GT", ["draft"])})) == \
        ["p3", "p2", "p1"]
    with validation(RANGE_EQUALITY.format("a", "b")):
        legacy(pinned, {"h": ("EQ", ["o1"]), "b": ("EQ", ["live"])})
    with validation("Attempted conditional constraint is not an indexable operation"):
        legacy(pinned, {"h": ("EQ", ["o1"]), "a": ("NE", ["T"])})
    with validation("Can not use both expression and non-expression parameters in the same request: "
                    "Non-expression parameters: {KeyConditions} Expression parameters: {KeyConditionExpression}"):
        legacy(pinned, {"h": ("EQ", ["o1"])}, KeyConditionExpression="h = :h",
               ExpressionAttributeValues={":h": "o1"})


def test_legacy_hash_rules(two_by_two):
    with validation(HASH_EQUALITY.format("h2")):
        legacy(two_by_two, {"h1": ("EQ", ["x"])})
    with validation(HASH_EQUALITY.format("h2")):
        legacy(two_by_two, {"h1": ("EQ", ["x"]), "h2": ("GT", [1])})


# -- projections --------------------------------------------------------------------------

def test_keys_only_projects_the_table_key_and_every_component(dynamodb):
    table = composite_table(dynamodb, [("h1", "S"), ("h2", "S")], [("r1", "N")],
                            table_keys=(("pk", "S"), ("sk", "N")), projection="KEYS_ONLY")
    table.put_item(Item={"pk": "p", "sk": 1, "h1": "a", "h2": "b", "r1": 5, "extra": "no"})
    expected = [{"pk": "p", "sk": 1, "h1": "a", "h2": "b", "r1": 5}]
    assert query(table, "h1 = :a AND h2 = :b", {":a": "a", ":b": "b"})["Items"] == expected
    assert scan_all(table) == expected


def test_include_projects_listed_attributes_and_the_keys(dynamodb):
    table = composite_table(dynamodb, [("h1", "S"), ("h2", "S")], projection="INCLUDE", non_key=["x"])
    table.put_item(Item={"pk": "p", "h1": "a", "h2": "b", "x": 1, "y": 2})
    assert scan_all(table) == [{"pk": "p", "h1": "a", "h2": "b", "x": 1}]
    with validation(INVALID + "Global secondary index idx does not project the requested attribute(s) [y]: "
                    "the projection of a GSI query may only use projected attributes"):
        query(table, "h1 = :a AND h2 = :b", {":a": "a", ":b": "b"}, ProjectionExpression="y")


# -- writes ---------------------------------------------------------------------------------

FULL = {"pk": "p", "h1": "x", "h2": 1, "r1": 2, "r2": b"\x01"}


def indexed(table):
    return pks(scan_all(table))


@pytest.mark.parametrize("name, value, actual", [
    ("h1", 1, "N"), ("h2", "1", "S"), ("r1", b"\x01", "B"), ("r2", "x", "S"), ("h2", True, "BOOL"),
    ("r1", None, "NULL"), ("r2", {"m": 1}, "M"), ("h1", ["l"], "L"), ("r1", {"a"}, "SS"),
])
def test_a_wrongly_typed_component_rejects_the_write(two_by_two, name, value, actual):
    expected = {"h1": "S", "h2": "N", "r1": "N", "r2": "B"}[name]
    message = f"{INVALID}Type mismatch for Index Key {name} Expected: {expected} Actual: {actual} IndexName: idx"
    with validation(message):
        two_by_two.put_item(Item={**FULL, name: value})
    with validation(message):
        two_by_two.update_item(Key={"pk": "p"}, UpdateExpression="SET #n = :v", ExpressionAttributeNames={"#n": name},
                               ExpressionAttributeValues={":v": value})
    with validation(message):     # also when another component is missing (the item would not be indexed)
        two_by_two.put_item(Item={"pk": "p", name: value})
    assert "Item" not in two_by_two.get_item(Key={"pk": "p"})


@pytest.mark.parametrize("name", ["h1", "r2"])
def test_an_empty_component_rejects_the_write(two_by_two, name):
    value, kind = ("", "string") if name == "h1" else (b"", "binary")
    with validation("One or more parameter values are not valid. A value specified for a secondary index key is "
                    f"not supported. The AttributeValue for a key attribute cannot contain an empty {kind} value. "
                    f"IndexName: idx, IndexKey: {name}"):
        two_by_two.put_item(Item={**FULL, name: value})
    assert "Item" not in two_by_two.get_item(Key={"pk": "p"})


def test_a_batch_with_one_wrongly_typed_component_is_rejected_whole(dynamodb, two_by_two):
    requests = [{"PutRequest": {"Item": {**FULL, "pk": f"p{i}"}}} for i in range(3)]
    requests.append({"PutRequest": {"Item": {**FULL, "pk": "bad", "r1": "one"}}})
    with validation(f"{INVALID}Type mismatch for Index Key r1 Expected: N Actual: S IndexName: idx"):
        dynamodb.batch_write_item(RequestItems={two_by_two.name: requests})
    assert two_by_two.scan()["Items"] == [] and indexed(two_by_two) == []


def test_a_transaction_with_a_wrongly_typed_component_is_rejected(dynamodb, two_by_two):
    with raises("TransactionCanceledException", "Transaction cancelled, please refer cancellation reasons for "
                "specific reasons [None, ValidationError]") as excinfo:
        dynamodb.meta.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": two_by_two.name, "Item": {**FULL, "pk": "q"}}},
            {"Put": {"TableName": two_by_two.name, "Item": {**FULL, "h2": "1"}}}])
    reasons = excinfo.value.response["CancellationReasons"]
    assert reasons[1]["Message"] == f"{INVALID}Type mismatch for Index Key h2 Expected: N Actual: S IndexName: idx"
    assert two_by_two.scan()["Items"] == []


@pytest.mark.parametrize("missing", ["h1", "h2", "r1", "r2"])
def test_an_item_lacking_any_component_is_not_indexed(dynamodb, two_by_two, missing):
    item = {k: v for k, v in FULL.items() if k != missing}
    two_by_two.put_item(Item=item)
    dynamodb.batch_write_item(RequestItems={two_by_two.name: [{"PutRequest": {"Item": {**item, "pk": "q"}}}]})
    assert len(two_by_two.scan()["Items"]) == 2 and indexed(two_by_two) == []


REMOVALS = [("h1",), ("r2",), ("h2", "r1"), ("h1", "h2", "r1", "r2")]


@pytest.mark.parametrize("removed", REMOVALS)
def test_remove_takes_the_item_out_and_set_puts_it_back(two_by_two, removed):
    two_by_two.put_item(Item=FULL)
    two_by_two.update_item(Key={"pk": "p"}, UpdateExpression="REMOVE " + ", ".join(removed))
    assert indexed(two_by_two) == []
    assert pks(query(two_by_two, "h1 = :a AND h2 = :b", {":a": "x", ":b": 1})) == []
    sets = ", ".join(f"{n} = :{n}" for n in removed)
    two_by_two.update_item(Key={"pk": "p"}, UpdateExpression="SET " + sets,
                           ExpressionAttributeValues={f":{n}": FULL[n] for n in removed})
    assert pks(query(two_by_two, "h1 = :a AND h2 = :b", {":a": "x", ":b": 1})) == ["p"]


def test_changing_a_component_moves_the_entry(dynamodb, two_by_two):
    two_by_two.put_item(Item=FULL)
    two_by_two.update_item(Key={"pk": "p"}, UpdateExpression="SET h2 = :v", ExpressionAttributeValues={":v": 7})
    assert pks(query(two_by_two, "h1 = :a AND h2 = :b", {":a": "x", ":b": 1})) == []
    assert pks(query(two_by_two, "h1 = :a AND h2 = :b", {":a": "x", ":b": 7})) == ["p"]
    two_by_two.update_item(Key={"pk": "p"}, UpdateExpression="SET r1 = :v", ExpressionAttributeValues={":v": 3})
    assert pks(query(two_by_two, "h1 = :a AND h2 = :b AND r1 = :r", {":a": "x", ":b": 7, ":r": 2})) == []
    assert pks(query(two_by_two, "h1 = :a AND h2 = :b AND r1 = :r", {":a": "x", ":b": 7, ":r": 3})) == ["p"]
    two_by_two.delete_item(Key={"pk": "p"})
    assert indexed(two_by_two) == []
    two_by_two.put_item(Item=FULL)
    dynamodb.batch_write_item(RequestItems={two_by_two.name: [{"DeleteRequest": {"Key": {"pk": "p"}}}]})
    assert indexed(two_by_two) == []


def test_a_nested_update_of_a_component_is_refused(two_by_two):
    two_by_two.put_item(Item=FULL)
    with raises("ValidationException", contains="IndexKey: h1"):
        two_by_two.update_item(Key={"pk": "p"}, UpdateExpression="SET h1.x = :v", ExpressionAttributeValues={":v": 1})


def test_components_shared_with_other_indexes_in_other_roles(dynamodb):
    other = {"IndexName": "single", "KeySchema": [{"AttributeName": "r1", "KeyType": "HASH"},
                                                  {"AttributeName": "h1", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}}
    table = composite_table(dynamodb, [("h1", "S"), ("h2", "S")], [("r1", "N")], more_gsis=[other])
    table.put_item(Item={"pk": "p", "h1": "a", "h2": "b", "r1": 1})
    table.put_item(Item={"pk": "q", "h1": "a", "r1": 1})
    assert pks(query(table, "h1 = :a AND h2 = :b", {":a": "a", ":b": "b"})) == ["p"]
    assert sorted(pks(query(table, "r1 = :r", {":r": 1}, index="single"))) == ["p", "q"]
    with validation(f"{INVALID}Type mismatch for Index Key r1 Expected: N Actual: S IndexName: idx"):
        table.put_item(Item={"pk": "z", "r1": "1"})


# -- capacity and Select ---------------------------------------------------------------------

def test_consumed_capacity_names_the_composite_index(two_by_two):
    response = two_by_two.put_item(Item=FULL, ReturnConsumedCapacity="INDEXES")
    assert response["ConsumedCapacity"]["GlobalSecondaryIndexes"] == {"idx": {"CapacityUnits": 1.0}}
    assert response["ConsumedCapacity"]["CapacityUnits"] == 2.0
    response = query(two_by_two, "h1 = :a AND h2 = :b", {":a": "x", ":b": 1}, ReturnConsumedCapacity="INDEXES")
    assert response["ConsumedCapacity"]["GlobalSecondaryIndexes"] == {"idx": {"CapacityUnits": 0.5}}


def test_select_count_and_unprojected_attributes(dynamodb):
    table = composite_table(dynamodb, [("h1", "S"), ("h2", "S")], [("r1", "N")], projection="KEYS_ONLY")
    for i in range(3):
        table.put_item(Item={"pk": f"p{i}", "h1": "a", "h2": "b", "r1": i, "x": 1})
    response = query(table, "h1 = :a AND h2 = :b AND r1 >= :r", {":a": "a", ":b": "b", ":r": 1}, Select="COUNT")
    assert response["Count"] == 2 and "Items" not in response
    with validation(INVALID + "Select type ALL_ATTRIBUTES is not supported for global secondary index idx "
                    "because its projection type is not ALL"):
        query(table, "h1 = :a AND h2 = :b", {":a": "a", ":b": "b"}, Select="ALL_ATTRIBUTES")


def test_parallel_scan_segments_cover_the_index_once(two_by_two):
    for i in range(40):
        two_by_two.put_item(Item={"pk": f"p{i}", "h1": f"x{i % 7}", "h2": i % 3, "r1": i, "r2": b"\x01"})
    seen = []
    for segment in range(3):
        seen += pks(scan_all(two_by_two, Segment=segment, TotalSegments=3, Limit=4))
    assert sorted(seen) == sorted(f"p{i}" for i in range(40))
