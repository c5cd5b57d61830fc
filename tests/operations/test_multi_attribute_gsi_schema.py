"""Multi-attribute GSI keys in CreateTable, UpdateTable ``Create`` and DescribeTable (reference 10.5).

Reads and writes on such indexes are in test_multi_attribute_gsi.py.  Every
test runs on every face (``dynamodb`` fixture).
"""

import pytest

from .helpers import describe, gsi_description, raises, unique_name, validation, wait_for_index
from .test_multi_attribute_gsi import query

INVALID = "One or more parameter values were invalid: "
TOO_MANY_HASH = INVALID + "The KeySchema exceeds the maximum allowed number of HASH key attributes"
TOO_MANY_RANGE = INVALID + "The KeySchema exceeds the maximum allowed number of RANGE key attributes"
PRECEDE = INVALID + "All HASH key attributes must precede RANGE key attributes in the KeySchema"
FIRST_NOT_HASH = "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"
SAME_NAME = "The KeySchema contains multiple key attributes with the same name"


def elements(*pairs):
    return [{"AttributeName": n, "KeyType": t} for n, t in pairs]


def h(*names):
    return [(n, "HASH") for n in names]


def r(*names):
    return [(n, "RANGE") for n in names]


def create(db, gsi_keys, defined=None, table_keys=(("pk", "HASH"),), lsis=None, types=None):
    names = defined if defined is not None else list(dict.fromkeys(n for n, _ in list(table_keys) + gsi_keys))
    types = types or {}
    request = dict(
        TableName=unique_name(), BillingMode="PAY_PER_REQUEST", KeySchema=elements(*table_keys),
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": types.get(n, "S")} for n in names],
        GlobalSecondaryIndexes=[{"IndexName": "idx", "KeySchema": elements(*gsi_keys),
                                 "Projection": {"ProjectionType": "ALL"}}])
    if lsis is not None:
        request["LocalSecondaryIndexes"] = lsis
    table = db.create_table(**request)
    table.wait_until_exists()
    return table


# -- accepted shapes ---------------------------------------------------------------------

@pytest.mark.parametrize("keys", [
    h("a", "b"),
    h("a") + r("b", "c"),
    h("a", "b") + r("c", "d"),
    h("a", "b", "c", "d") + r("e", "f", "g", "i"),
    h("a", "b", "c", "d"),
    h("a") + r("b", "c", "d", "e"),
    h("pk", "a") + r("b"),                       # a table key attribute as a component
])
def test_accepted_key_schemas_are_described_in_order(dynamodb, keys):
    table = create(dynamodb, keys)
    gsi = gsi_description(table, "idx")
    assert gsi["KeySchema"] == elements(*keys)
    assert gsi["IndexStatus"] == "ACTIVE" and gsi["Projection"] == {"ProjectionType": "ALL"}
    defined = {d["AttributeName"] for d in describe(table)["AttributeDefinitions"]}
    assert defined == {n for n, _ in keys} | {"pk"}


def test_components_of_several_types_and_indexes_sharing_attributes(dynamodb):
    table = dynamodb.create_table(
        TableName=unique_name(), BillingMode="PAY_PER_REQUEST", KeySchema=elements(("pk", "HASH")),
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t}
                              for n, t in (("pk", "S"), ("a", "S"), ("b", "N"), ("c", "N"), ("d", "B"))],
        GlobalSecondaryIndexes=[
            {"IndexName": "composite", "KeySchema": elements(("a", "HASH"), ("b", "HASH"), ("c", "RANGE"),
                                                             ("d", "RANGE")),
             "Projection": {"ProjectionType": "KEYS_ONLY"}},
            {"IndexName": "single", "KeySchema": elements(("c", "HASH"), ("a", "RANGE")),
             "Projection": {"ProjectionType": "ALL"}}])
    table.wait_until_exists()
    assert gsi_description(table, "composite")["KeySchema"] == elements(("a", "HASH"), ("b", "HASH"),
                                                                        ("c", "RANGE"), ("d", "RANGE"))
    assert gsi_description(table, "single")["KeySchema"] == elements(("c", "HASH"), ("a", "RANGE"))


# -- refused shapes ----------------------------------------------------------------------

@pytest.mark.parametrize("keys, message", [
    (h("a", "b", "c", "d", "e"), TOO_MANY_HASH),
    (h("a", "b", "c", "d", "e") + r("f"), TOO_MANY_HASH),
    (h("a") + r("b", "c", "d", "e", "f"), TOO_MANY_RANGE),
    (h("a") + r("b") + h("c"), PRECEDE),
    (h("a", "b") + r("c") + h("d") + r("e"), PRECEDE),
    (r("a"), FIRST_NOT_HASH),
    (r("a") + h("b"), FIRST_NOT_HASH),
    (r("a", "b"), FIRST_NOT_HASH),
    (h("a", "a"), SAME_NAME),
    (h("a", "b") + r("a"), SAME_NAME),
    (h("a") + r("b", "b"), SAME_NAME),
])
def test_refused_key_schemas(dynamodb, keys, message):
    names = list(dict.fromkeys(["pk"] + [n for n, _ in keys]))
    with validation(message):
        create(dynamodb, keys, defined=names)
    assert list(dynamodb.tables.all()) == []


def test_a_component_without_definition(dynamodb):
    with validation(INVALID + "Some index key attributes are not defined in AttributeDefinitions. Keys: [a, b], "
                    "AttributeDefinitions: [pk, a, c]"):
        create(dynamodb, h("a", "b"), defined=["pk", "a", "c"])


def test_unused_definitions_are_still_refused(dynamodb):
    with validation(INVALID + "Some AttributeDefinitions are not used. AttributeDefinitions: [pk, a, b, x], "
                    "keys used: [a, b, pk]"):
        create(dynamodb, h("a", "b"), defined=["pk", "a", "b", "x"])


def test_table_keys_keep_their_limits(dynamodb):
    with validation(startswith="1 validation error detected: Value '[KeySchemaElement(attributeName=pk, "
                    "keyType=HASH), KeySchemaElement(attributeName=a, keyType=RANGE), KeySchemaElement("
                    "attributeName=b, keyType=RANGE)]' at 'keySchema' failed to satisfy constraint: Member must "
                    "have length less than or equal to 2"):
        create(dynamodb, h("a"), table_keys=(("pk", "HASH"), ("a", "RANGE"), ("b", "RANGE")),
               defined=["pk", "a", "b"])
    with validation("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"):
        create(dynamodb, h("b"), table_keys=(("pk", "HASH"), ("a", "HASH")), defined=["pk", "a", "b"])


def test_lsis_keep_their_limits(dynamodb):
    lsi = {"IndexName": "lsi", "KeySchema": elements(("pk", "HASH"), ("sk", "RANGE"), ("l", "RANGE")),
           "Projection": {"ProjectionType": "ALL"}}
    with validation("1 validation error detected: Value '[KeySchemaElement(attributeName=pk, keyType=HASH), "
                    "KeySchemaElement(attributeName=sk, keyType=RANGE), KeySchemaElement(attributeName=l, "
                    "keyType=RANGE)]' at 'localSecondaryIndexes.1.member.keySchema' failed to satisfy constraint: "
                    "Member must have length less than or equal to 2"):
        create(dynamodb, h("a"), table_keys=(("pk", "HASH"), ("sk", "RANGE")), lsis=[lsi],
               defined=["pk", "sk", "a", "l"])
    lsi["KeySchema"] = elements(("pk", "HASH"), ("l", "HASH"))
    with validation("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"):
        create(dynamodb, h("a"), table_keys=(("pk", "HASH"), ("sk", "RANGE")), lsis=[lsi],
               defined=["pk", "sk", "a", "l"])


# -- UpdateTable Create ------------------------------------------------------------------

def plain_table(db):
    table = db.create_table(TableName=unique_name(), BillingMode="PAY_PER_REQUEST",
                            KeySchema=elements(("pk", "HASH")),
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    table.wait_until_exists()
    return table


def add_gsi(table, keys, types=None, name="idx", extra=()):
    types = types or {}
    return table.update(
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": types.get(n, "S")}
                              for n in dict.fromkeys([n for n, _ in keys] + list(extra))],
        GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": name, "KeySchema": elements(*keys),
                                                 "Projection": {"ProjectionType": "ALL"}}}])


def test_update_table_creates_and_backfills_a_composite_gsi(dynamodb):
    table = plain_table(dynamodb)
    rows = [{"pk": f"p{i}", "a": "x", "b": i % 2, "c": f"c{i}"} for i in range(6)]
    for row in rows:
        table.put_item(Item=row)
    table.put_item(Item={"pk": "lacks-c", "a": "x", "b": 1})          # not indexed
    table.put_item(Item={"pk": "wrong", "a": "x", "b": "1", "c": "c"})  # wrong type: skipped by the backfill
    add_gsi(table, h("a", "b") + r("c"), types={"b": "N"})
    gsi = wait_for_index(table, "idx")
    assert gsi["KeySchema"] == elements(("a", "HASH"), ("b", "HASH"), ("c", "RANGE"))
    items = query(table, "a = :a AND b = :b", {":a": "x", ":b": 1})["Items"]
    assert [i["pk"] for i in items] == ["p1", "p3", "p5"]
    with validation(INVALID + "Type mismatch for Index Key b Expected: N Actual: S IndexName: idx"):
        table.put_item(Item={"pk": "new", "b": "1"})


@pytest.mark.parametrize("keys, message", [
    (h("a", "b", "c", "d", "e"), TOO_MANY_HASH),
    (h("a") + r("b", "c", "d", "e", "f"), TOO_MANY_RANGE),
    (h("a") + r("b") + h("c"), PRECEDE),
    (r("a") + h("b"), FIRST_NOT_HASH),
    (h("a", "a"), SAME_NAME),
])
def test_update_table_refuses_the_same_shapes(dynamodb, keys, message):
    table = plain_table(dynamodb)
    with validation(message):
        add_gsi(table, keys, extra=["z"])    # UpdateTable ignores definitions no key uses
    assert "GlobalSecondaryIndexes" not in describe(table)


def test_deleting_a_composite_gsi_frees_its_components(dynamodb):
    table = plain_table(dynamodb)
    add_gsi(table, h("a", "b") + r("c"))
    wait_for_index(table, "idx")
    table.update(GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "idx"}}])
    with validation("The table does not have the specified index: idx"):
        query(table, "a = :a AND b = :b", {":a": "x", ":b": "y"})
    table.put_item(Item={"pk": "p", "a": 1, "b": True, "c": None})
    assert table.get_item(Key={"pk": "p"})["Item"]["a"] == 1
    assert [d["AttributeName"] for d in describe(table)["AttributeDefinitions"]] == ["pk"]


def test_a_composite_gsi_counts_items_and_bytes(dynamodb):
    table = create(dynamodb, h("a", "b") + r("c"))
    table.put_item(Item={"pk": "p", "a": "x", "b": "y", "c": "z"})
    table.put_item(Item={"pk": "q", "a": "x", "b": "y"})
    gsi = gsi_description(table, "idx")
    assert gsi["ItemCount"] == 1 and gsi["IndexSizeBytes"] > 0



def test_partiql_refuses_to_read_a_composite_gsi(dynamodb):
    table = create(dynamodb, h("a", "b"))
    table.put_item(Item={"pk": "p", "a": "x", "b": "y"})
    with validation("PartiQL statements cannot be executed on tables with multi-attribute HASH keys or "
                    "multi-attribute RANGE keys."):
        dynamodb.meta.client.execute_statement(Statement=f'SELECT * FROM "{table.name}"."idx" WHERE a = \'x\'')
    items = dynamodb.meta.client.execute_statement(Statement=f'SELECT * FROM "{table.name}" WHERE pk = \'p\'')
    assert items["Items"] == [{"pk": "p", "a": "x", "b": "y"}]
