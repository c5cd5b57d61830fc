"""Secondary indexes: GSI and LSI reads, projections, sparse maintenance, write-time key checks, paging keys."""

import pytest
from boto3.dynamodb.conditions import Key

from .helpers import create_table, index, keys_of, query_all, scan_all, transact_write, validation

INVALID = "One or more parameter values were invalid: "


def gq(table, index_name, value, **kwargs):
    """Query index ``index_name`` for hash key g = value."""
    return table.query(IndexName=index_name, KeyConditionExpression=Key("g").eq(value), **kwargs)


@pytest.fixture
def gsi_items(gsi_table):
    """Items with g in {x, y}, h numbers, x/y payload; two items lack g (not indexed)."""
    for i in range(6):
        gsi_table.put_item(Item={"pk": f"p{i}", "sk": i, "g": "x" if i < 4 else "y", "h": 10 - i,
                                 "x": f"inc{i}", "y": f"other{i}"})
    gsi_table.put_item(Item={"pk": "sparse", "sk": 0, "x": "no g"})
    gsi_table.put_item(Item={"pk": "sparse", "sk": 1, "h": 5})
    return gsi_table


@pytest.fixture
def lsi_items(lsi_table):
    for i in range(5):
        lsi_table.put_item(Item={"pk": "a", "sk": i, "l": f"l{4 - i}", "m": i * 10, "payload": i})
    lsi_table.put_item(Item={"pk": "a", "sk": 9, "payload": "no lsi keys"})
    lsi_table.put_item(Item={"pk": "b", "sk": 0, "l": "l0", "m": 0})
    return lsi_table


# -- GSI reads and projections ------------------------------------------------------------

def test_gsi_query_by_index_key(gsi_items):
    """A GSI is queried by its own hash key; many items may share it."""
    response = gq(gsi_items, "gsi_all", "x")
    assert keys_of(response["Items"], "pk", "sk") == [(f"p{i}", i) for i in range(4)]


def test_gsi_range_key_order(gsi_items):
    """Items come back in index sort-key order."""
    response = gq(gsi_items, "gsi_keys", "x")
    assert [int(i["h"]) for i in response["Items"]] == [7, 8, 9, 10]
    response = gq(gsi_items, "gsi_keys", "x", ScanIndexForward=False)
    assert [int(i["h"]) for i in response["Items"]] == [10, 9, 8, 7]


def test_gsi_range_condition(gsi_items):
    """Range conditions apply to the index sort key."""
    response = gsi_items.query(IndexName="gsi_keys", KeyConditionExpression=Key("g").eq("x") & Key("h").gt(8))
    assert sorted(int(i["h"]) for i in response["Items"]) == [9, 10]


def test_projection_all(gsi_items):
    """ALL projects the whole item."""
    item = gq(gsi_items, "gsi_all", "y")["Items"][0]
    assert set(item) == {"pk", "sk", "g", "h", "x", "y"}


def test_projection_keys_only(gsi_items):
    """KEYS_ONLY projects the table key and the index key."""
    for item in gq(gsi_items, "gsi_keys", "x")["Items"]:
        assert set(item) == {"pk", "sk", "g", "h"}


def test_projection_include(gsi_items):
    """INCLUDE projects the keys plus NonKeyAttributes."""
    for item in gq(gsi_items, "gsi_include", "x")["Items"]:
        assert set(item) == {"pk", "sk", "g", "x"}


def test_sparse_gsi(gsi_items):
    """Items without the index key attribute are not in the index."""
    items, _ = scan_all(gsi_items, IndexName="gsi_all")
    assert len(items) == 6
    assert all(i["pk"] != "sparse" for i in items)


def test_sparse_composite_gsi_needs_every_key_attribute(gsi_items):
    """An item is indexed only if it has all the index key attributes."""
    gsi_items.put_item(Item={"pk": "only-g", "sk": 0, "g": "x"})
    items, _ = scan_all(gsi_items, IndexName="gsi_keys")
    assert "only-g" not in {i["pk"] for i in items}
    assert "only-g" in {i["pk"] for i in scan_all(gsi_items, IndexName="gsi_all")[0]}


def test_default_select_is_all_projected(gsi_items):
    """Without Select an index query returns the projected attributes."""
    explicit = gq(gsi_items, "gsi_keys", "x", Select="ALL_PROJECTED_ATTRIBUTES")["Items"]
    assert explicit == gq(gsi_items, "gsi_keys", "x")["Items"]


def test_select_all_attributes_on_a_gsi_with_all_projection(gsi_items):
    """ALL_ATTRIBUTES is fine on a GSI that projects everything."""
    assert len(gq(gsi_items, "gsi_all", "x", Select="ALL_ATTRIBUTES")["Items"]) == 4


@pytest.mark.parametrize("name", ["gsi_keys", "gsi_include"])
def test_select_all_attributes_on_a_partial_gsi(gsi_items, name):
    """ALL_ATTRIBUTES on a GSI without ALL projection is rejected."""
    with validation(INVALID + f"Select type ALL_ATTRIBUTES is not supported for global secondary index {name} "
                    "because its projection type is not ALL"):
        gsi_items.query(IndexName=name, KeyConditionExpression=Key("g").eq("x"), Select="ALL_ATTRIBUTES")


def test_projecting_an_unprojected_gsi_attribute(gsi_items):
    """Asking a GSI for an attribute it does not project is rejected (the message is about projection)."""
    with validation() as excinfo:
        gq(gsi_items, "gsi_keys", "x", ProjectionExpression="y")
    assert "project" in excinfo.value.response["Error"]["Message"].lower()


def test_projecting_projected_attributes(gsi_items):
    """A projection within the GSI's attributes is fine."""
    items = gq(gsi_items, "gsi_include", "x", ProjectionExpression="x, pk")["Items"]
    assert all(set(i) == {"x", "pk"} for i in items)


def test_select_count_on_an_index(gsi_items):
    """COUNT works on indexes."""
    response = gq(gsi_items, "gsi_keys", "x", Select="COUNT")
    assert response["Count"] == 4 and "Items" not in response


def test_consistent_read_on_gsi_query(gsi_items):
    """GSIs are eventually consistent only: ConsistentRead=true is rejected."""
    with validation("Consistent reads are not supported on global secondary indexes"):
        gq(gsi_items, "gsi_all", "x", ConsistentRead=True)


def test_consistent_read_on_gsi_scan(gsi_items):
    """Also for Scan."""
    with validation("Consistent reads are not supported on global secondary indexes"):
        gsi_items.scan(IndexName="gsi_all", ConsistentRead=True)


def test_consistent_read_false_on_gsi(gsi_items):
    """ConsistentRead=false is fine."""
    assert gq(gsi_items, "gsi_all", "x", ConsistentRead=False)["Count"] == 4


def test_query_gsi_by_table_key(gsi_items):
    """On an index 'key' means the index's key: the table's hash key is not one."""
    with validation("Query condition missed key schema element: g"):
        gsi_items.query(IndexName="gsi_all", KeyConditionExpression=Key("pk").eq("p0"))


def test_filter_on_an_index_key(gsi_items):
    """A filter may not use the queried index's key attributes."""
    with validation("Filter Expression can only contain non-primary key attributes: Primary key attribute: h"):
        gq(gsi_items, "gsi_keys", "x", FilterExpression="h > :v", ExpressionAttributeValues={":v": 1})


def test_filter_on_a_table_key_in_a_gsi_query(gsi_items):
    """A table key attribute that is not an index key may be filtered on."""
    response = gq(gsi_items, "gsi_all", "x", FilterExpression="sk >= :v", ExpressionAttributeValues={":v": 2})
    assert sorted(int(i["sk"]) for i in response["Items"]) == [2, 3]


def test_gsi_on_a_table_key_attribute(db):
    """A GSI may be keyed by the table's sort key."""
    table = create_table(db, range_key=("sk", "N"), gsis=[index("by_sk", ("sk", "N"))])
    table.put_item(Item={"pk": "a", "sk": 1})
    table.put_item(Item={"pk": "b", "sk": 1})
    table.put_item(Item={"pk": "c", "sk": 2})
    response = table.query(IndexName="by_sk", KeyConditionExpression=Key("sk").eq(1))
    assert sorted(i["pk"] for i in response["Items"]) == ["a", "b"]


# -- LSI reads ---------------------------------------------------------------------------------

def test_lsi_query_in_lsi_order(lsi_items):
    """An LSI query keeps the table's partition and sorts by the LSI's sort key."""
    response = lsi_items.query(IndexName="lsi_all", KeyConditionExpression=Key("pk").eq("a"))
    assert [i["l"] for i in response["Items"]] == ["l0", "l1", "l2", "l3", "l4"]
    assert [int(i["sk"]) for i in response["Items"]] == [4, 3, 2, 1, 0]


def test_sparse_lsi(lsi_items):
    """Items without the LSI sort key are not in the LSI."""
    response = lsi_items.query(IndexName="lsi_keys", KeyConditionExpression=Key("pk").eq("a"))
    assert [int(i["m"]) for i in response["Items"]] == [0, 10, 20, 30, 40]


def test_lsi_keys_only_projection(lsi_items):
    """A KEYS_ONLY LSI returns the table and index keys by default."""
    for item in lsi_items.query(IndexName="lsi_keys", KeyConditionExpression=Key("pk").eq("a"))["Items"]:
        assert set(item) == {"pk", "sk", "m"}


def test_lsi_select_all_attributes_fetches_from_the_table(lsi_items):
    """On an LSI, ALL_ATTRIBUTES fetches unprojected attributes from the table."""
    items = lsi_items.query(IndexName="lsi_keys", KeyConditionExpression=Key("pk").eq("a"),
                            Select="ALL_ATTRIBUTES")["Items"]
    assert [int(i["payload"]) for i in items] == [0, 1, 2, 3, 4]
    assert all(set(i) == {"pk", "sk", "l", "m", "payload"} for i in items)


def test_lsi_projection_of_unprojected_attribute(lsi_items):
    """... as does a projection naming an unprojected attribute."""
    items = lsi_items.query(IndexName="lsi_keys", KeyConditionExpression=Key("pk").eq("a") & Key("m").eq(20),
                            ProjectionExpression="payload")["Items"]
    assert items == [{"payload": 2}]


def test_consistent_read_on_lsi(lsi_items):
    """LSIs allow strongly consistent reads."""
    response = lsi_items.query(IndexName="lsi_all", KeyConditionExpression=Key("pk").eq("a"), ConsistentRead=True)
    assert response["Count"] == 5


def test_lsi_range_condition(lsi_items):
    """Range conditions use the LSI's sort key."""
    response = lsi_items.query(IndexName="lsi_keys",
                               KeyConditionExpression=Key("pk").eq("a") & Key("m").between(10, 30))
    assert [int(i["m"]) for i in response["Items"]] == [10, 20, 30]


# -- LastEvaluatedKey shape ---------------------------------------------------------------------

def test_gsi_last_evaluated_key_holds_index_and_table_keys(gsi_items):
    """An index page's LastEvaluatedKey is the index key plus the table key."""
    page = gq(gsi_items, "gsi_keys", "x", Limit=1)
    last = page["Items"][0]
    assert page["LastEvaluatedKey"] == {"g": "x", "h": last["h"], "pk": last["pk"], "sk": last["sk"]}


def test_gsi_hash_only_last_evaluated_key(gsi_items):
    """For a hash-only GSI: {g, pk, sk}."""
    page = gq(gsi_items, "gsi_all", "x", Limit=1)
    last = page["Items"][0]
    assert page["LastEvaluatedKey"] == {"g": "x", "pk": last["pk"], "sk": last["sk"]}


def test_lsi_last_evaluated_key(lsi_items):
    """For an LSI: the table key plus the LSI sort key."""
    page = lsi_items.query(IndexName="lsi_all", KeyConditionExpression=Key("pk").eq("a"), Limit=2)
    assert page["LastEvaluatedKey"] == {"pk": "a", "sk": 3, "l": "l1"}


def test_index_scan_last_evaluated_key(gsi_items):
    """A Scan of an index pages with the same key shape."""
    page = gsi_items.scan(IndexName="gsi_keys", Limit=1)
    assert set(page["LastEvaluatedKey"]) == {"g", "h", "pk", "sk"}


def test_index_paging_sees_every_entry_once(gsi_items):
    """Paging an index with ties on the index key still visits each entry once."""
    for i in range(20):
        gsi_items.put_item(Item={"pk": f"tie{i}", "sk": 0, "g": "tie", "h": 1})
    items, pages = query_all(gsi_items, IndexName="gsi_keys", KeyConditionExpression=Key("g").eq("tie"), Limit=3)
    assert sorted(i["pk"] for i in items) == sorted(f"tie{i}" for i in range(20))
    assert pages >= 7
    items, _ = scan_all(gsi_items, IndexName="gsi_all", Limit=4)
    assert len(items) == 26


def test_index_exclusive_start_key_missing_table_key(gsi_items):
    """An index ExclusiveStartKey without the table key attributes is invalid."""
    with validation(startswith="The provided starting key is invalid"):
        gq(gsi_items, "gsi_all", "x", ExclusiveStartKey={"g": "x"})


# -- maintenance -------------------------------------------------------------------------------

def test_update_moves_the_index_entry(gsi_items):
    """Changing the index key moves the item to its new place in the index."""
    gsi_items.update_item(Key={"pk": "p0", "sk": 0}, UpdateExpression="SET g = :g",
                          ExpressionAttributeValues={":g": "y"})
    assert "p0" not in {i["pk"] for i in gq(gsi_items, "gsi_all", "x")["Items"]}
    assert "p0" in {i["pk"] for i in gq(gsi_items, "gsi_all", "y")["Items"]}


def test_removing_the_key_attribute_removes_the_entry(gsi_items):
    """REMOVE of the index key takes the item out of the index."""
    gsi_items.update_item(Key={"pk": "p0", "sk": 0}, UpdateExpression="REMOVE g")
    assert "p0" not in {i["pk"] for i in scan_all(gsi_items, IndexName="gsi_all")[0]}


def test_setting_the_key_attribute_adds_an_entry(gsi_items):
    """Setting the index key on an unindexed item adds it."""
    gsi_items.update_item(Key={"pk": "sparse", "sk": 0}, UpdateExpression="SET g = :g",
                          ExpressionAttributeValues={":g": "z"})
    assert [i["pk"] for i in gq(gsi_items, "gsi_all", "z")["Items"]] == ["sparse"]


def test_deleting_the_item_removes_the_entry(gsi_items):
    """DeleteItem removes the index entries."""
    gsi_items.delete_item(Key={"pk": "p1", "sk": 1})
    assert "p1" not in {i["pk"] for i in scan_all(gsi_items, IndexName="gsi_keys")[0]}


def test_put_without_the_attribute_removes_the_entry(gsi_items):
    """A replacing put without the index key removes the entry."""
    gsi_items.put_item(Item={"pk": "p2", "sk": 2})
    assert "p2" not in {i["pk"] for i in scan_all(gsi_items, IndexName="gsi_all")[0]}


def test_projected_values_follow_updates(gsi_items):
    """Projected non-key attributes follow updates of the item."""
    gsi_items.update_item(Key={"pk": "p0", "sk": 0}, UpdateExpression="SET x = :v",
                          ExpressionAttributeValues={":v": "new"})
    item = next(i for i in gq(gsi_items, "gsi_include", "x")["Items"] if i["pk"] == "p0")
    assert item["x"] == "new"


def test_batch_and_transaction_writes_maintain_indexes(db, gsi_table):
    """Batch and transactional writes maintain indexes like single writes."""
    db.batch_write_item(RequestItems={gsi_table.name: [{"PutRequest": {"Item": {"pk": "b", "sk": 1, "g": "q"}}}]})
    transact_write(db, TransactItems=[{"Put": {"TableName": gsi_table.name, "Item": {"pk": "t", "sk": 1, "g": "q"}}}])
    assert sorted(i["pk"] for i in gq(gsi_table, "gsi_all", "q")["Items"]) == ["b", "t"]


# -- write-time validation of index keys -----------------------------------------------------------

@pytest.mark.parametrize("value, actual", [(1, "N"), (b"b", "B"), (True, "BOOL"), (None, "NULL"),
                                           ({"m": 1}, "M"), (["l"], "L"), ({"s"}, "SS")])
def test_put_with_wrong_index_key_type(db, value, actual):
    """An index key attribute of another type is rejected, naming index, attribute and types."""
    table = create_table(db, gsis=[index("by_g", ("g", "S"))])
    with validation(INVALID + f"Type mismatch for Index Key g Expected: S Actual: {actual} IndexName: by_g"):
        table.put_item(Item={"pk": "a", "g": value})
    assert "Item" not in table.get_item(Key={"pk": "a"})


def test_update_to_wrong_index_key_type(db):
    """UpdateItem setting an index key to another type is rejected."""
    table = create_table(db, gsis=[index("by_g", ("g", "S"))])
    table.put_item(Item={"pk": "a", "g": "ok"})
    with validation(INVALID + "Type mismatch for Index Key g Expected: S Actual: N IndexName: by_g"):
        table.update_item(Key={"pk": "a"}, UpdateExpression="SET g = :v", ExpressionAttributeValues={":v": 1})
    assert table.get_item(Key={"pk": "a"})["Item"]["g"] == "ok"


def test_update_index_key_to_null(db):
    """NULL is a type mismatch too."""
    table = create_table(db, gsis=[index("by_g", ("g", "S"))])
    with validation(INVALID + "Type mismatch for Index Key g Expected: S Actual: NULL IndexName: by_g"):
        table.update_item(Key={"pk": "a"}, UpdateExpression="SET g = :v", ExpressionAttributeValues={":v": None})


def test_lsi_key_type_checked(lsi_table):
    """LSI sort keys are checked the same way."""
    with validation(INVALID + "Type mismatch for Index Key m Expected: N Actual: S IndexName: lsi_keys"):
        lsi_table.put_item(Item={"pk": "a", "sk": 1, "m": "ten"})


def test_empty_string_index_key_on_put(db):
    """An empty string index key is rejected on Put."""
    table = create_table(db, gsis=[index("by_g", ("g", "S"))])
    with validation("One or more parameter values are not valid. A value specified for a secondary index key is not "
                    "supported. The AttributeValue for a key attribute cannot contain an empty string value. "
                    "IndexName: by_g, IndexKey: g"):
        table.put_item(Item={"pk": "a", "g": ""})


def test_empty_string_index_key_on_update(db):
    """... and on Update, with its own wording."""
    table = create_table(db, gsis=[index("by_g", ("g", "S"))])
    with validation("One or more parameter values are not valid. The update expression attempted to update a "
                    "secondary index key to a value that is not supported. The AttributeValue for a key attribute "
                    "cannot contain an empty string value."):
        table.update_item(Key={"pk": "a"}, UpdateExpression="SET g = :v", ExpressionAttributeValues={":v": ""})


def test_nested_update_of_an_index_key(db):
    """A nested path into an index key attribute is rejected."""
    table = create_table(db, gsis=[index("by_g", ("g", "S"))])
    with validation("Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: "
                    "IndexKey: g"):
        table.update_item(Key={"pk": "a"}, UpdateExpression="SET g.y = :v", ExpressionAttributeValues={":v": 1})


def test_oversized_index_hash_key(db):
    """An index hash key over 2048 bytes is rejected; 2048 is fine."""
    table = create_table(db, gsis=[index("by_g", ("g", "S"))])
    table.put_item(Item={"pk": "a", "g": "x" * 2048})
    with validation():
        table.put_item(Item={"pk": "b", "g": "x" * 2049})


def test_oversized_index_range_key(lsi_table):
    """An index sort key over 1024 bytes is rejected."""
    with validation():
        lsi_table.put_item(Item={"pk": "a", "sk": 1, "l": "x" * 1025})


def test_table_and_lsi_sort_keys_of_1024_bytes_together(db):
    """The 1024-byte limit is per sort key: a table sort key and an LSI sort key may both be 1024 bytes."""
    table = create_table(db, range_key=("sk", "S"), lsis=[index("by_l", ("pk", "S"), ("l", "S"))])
    table.put_item(Item={"pk": "a", "sk": "s" * 1024, "l": "l" * 1024})
    assert table.query(IndexName="by_l", KeyConditionExpression=Key("pk").eq("a"))["Count"] == 1


def test_wrong_type_in_a_non_key_attribute_is_fine(gsi_table):
    """Only index key attributes are type-checked."""
    gsi_table.put_item(Item={"pk": "a", "sk": 1, "x": 5})
    assert gsi_table.scan(IndexName="gsi_include")["Items"] == []


def test_transaction_with_wrong_index_key_type_writes_nothing(db, gsi_table):
    """A transactional write with a mistyped index key is rejected and changes nothing."""
    from .helpers import ERROR_TYPES, error_code
    with pytest.raises(ERROR_TYPES) as excinfo:
        transact_write(db, TransactItems=[
            {"Put": {"TableName": gsi_table.name, "Item": {"pk": "ok", "sk": 1}}},
            {"Put": {"TableName": gsi_table.name, "Item": {"pk": "bad", "sk": 1, "g": 1}}}])
    assert error_code(excinfo.value) in ("ValidationException", "TransactionCanceledException")
    assert gsi_table.scan()["Count"] == 0


# -- ItemCollectionMetrics ------------------------------------------------------------------------

def test_item_collection_metrics_on_put(lsi_table):
    """On an LSI table ReturnItemCollectionMetrics SIZE reports the item collection."""
    metrics = lsi_table.put_item(Item={"pk": "a", "sk": 1}, ReturnItemCollectionMetrics="SIZE")["ItemCollectionMetrics"]
    assert metrics["ItemCollectionKey"] == {"pk": "a"}
    low, high = metrics["SizeEstimateRangeGB"]
    assert 0 <= low <= high


def test_item_collection_metrics_on_update_and_delete(lsi_table):
    """UpdateItem and DeleteItem report them too."""
    update = lsi_table.update_item(Key={"pk": "a", "sk": 1}, UpdateExpression="SET v = :v",
                                   ExpressionAttributeValues={":v": 1}, ReturnItemCollectionMetrics="SIZE")
    assert update["ItemCollectionMetrics"]["ItemCollectionKey"] == {"pk": "a"}
    deleted = lsi_table.delete_item(Key={"pk": "a", "sk": 1}, ReturnItemCollectionMetrics="SIZE")
    assert deleted["ItemCollectionMetrics"]["ItemCollectionKey"] == {"pk": "a"}


def test_no_item_collection_metrics_without_lsi(gsi_table):
    """A table with only GSIs has no item collections to report."""
    response = gsi_table.put_item(Item={"pk": "a", "sk": 1}, ReturnItemCollectionMetrics="SIZE")
    assert "ItemCollectionMetrics" not in response


def test_no_item_collection_metrics_by_default(lsi_table):
    """Without ReturnItemCollectionMetrics nothing is reported."""
    assert "ItemCollectionMetrics" not in lsi_table.put_item(Item={"pk": "a", "sk": 1})


# -- capacity on indexes -------------------------------------------------------------------------

def test_index_read_capacity_is_charged_to_the_index(gsi_items):
    """ReturnConsumedCapacity INDEXES names the GSI read."""
    response = gq(gsi_items, "gsi_all", "x", ReturnConsumedCapacity="INDEXES")
    capacity = response["ConsumedCapacity"]
    assert capacity["TableName"] == gsi_items.name
    assert "gsi_all" in capacity["GlobalSecondaryIndexes"]


def test_attributes_to_get_of_an_unprojected_gsi_attribute(gsi_items):
    """Legacy AttributesToGet naming an unprojected GSI attribute is rejected too."""
    with validation() as excinfo:
        gsi_items.query(IndexName="gsi_keys", AttributesToGet=["y"],
                        KeyConditions={"g": {"ComparisonOperator": "EQ", "AttributeValueList": ["x"]}})
    assert "project" in excinfo.value.response["Error"]["Message"].lower()


def test_write_capacity_names_the_indexes_touched(gsi_table):
    """ReturnConsumedCapacity INDEXES on a write lists the GSIs it maintained; CapacityUnits is the sum."""
    response = gsi_table.put_item(Item={"pk": "a", "sk": 1, "g": "x", "h": 1}, ReturnConsumedCapacity="INDEXES")
    capacity = response["ConsumedCapacity"]
    gsis = capacity["GlobalSecondaryIndexes"]
    assert set(gsis) == {"gsi_all", "gsi_keys", "gsi_include"}
    parts = capacity["Table"]["CapacityUnits"] + sum(g["CapacityUnits"] for g in gsis.values())
    assert capacity["CapacityUnits"] == parts


def test_write_capacity_without_index_entries(gsi_table):
    """A write that adds no index entry costs nothing for the indexes."""
    response = gsi_table.put_item(Item={"pk": "a", "sk": 1}, ReturnConsumedCapacity="INDEXES")
    capacity = response["ConsumedCapacity"]
    assert "GlobalSecondaryIndexes" not in capacity
    assert capacity["CapacityUnits"] == capacity["Table"]["CapacityUnits"] == 1.0


def _indexed_table(dynamodb):
    """Key pk (S) + sk (N); GSI ``by_g`` on g (S), projection ALL; LSI ``by_l`` on pk + l (S), KEYS_ONLY."""
    return create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"),
                        gsis=[index("by_g", ("g", "S"))],
                        lsis=[index("by_l", ("pk", "S"), ("l", "S"), projection="KEYS_ONLY")])


def test_batch_write_capacity_names_the_indexes_touched(dynamodb):
    """BatchWriteItem with INDEXES: per table, the table's units and each index's (one write per entry put
    or removed, two for a moved one, none where what the index stores is unchanged: reference 7 and
    ``writing.index_units``); CapacityUnits is their sum, TOTAL gives the same sum without the parts."""
    table = _indexed_table(dynamodb)
    table.put_item(Item={"pk": "c", "sk": 3, "g": "old", "l": "x"})
    requests = [{"PutRequest": {"Item": {"pk": "a", "sk": 1, "g": "x", "l": "y"}}},     # both indexes: 1 + 1
                {"PutRequest": {"Item": {"pk": "b", "sk": 2, "g": "x"}}},               # the GSI only
                {"PutRequest": {"Item": {"pk": "c", "sk": 3, "g": "new", "l": "x"}}},   # GSI key moved: 2; LSI
                                                                                        # (KEYS_ONLY) unchanged: 0
                {"DeleteRequest": {"Key": {"pk": "zz", "sk": 9}}}]                      # missing: 1, no index
    response = dynamodb.batch_write_item(RequestItems={table.name: requests}, ReturnConsumedCapacity="INDEXES")
    [capacity] = response["ConsumedCapacity"]
    assert capacity["TableName"] == table.name
    assert capacity["Table"] == {"CapacityUnits": 4.0}
    assert capacity["GlobalSecondaryIndexes"] == {"by_g": {"CapacityUnits": 4.0}}
    assert capacity["LocalSecondaryIndexes"] == {"by_l": {"CapacityUnits": 1.0}}
    assert capacity["CapacityUnits"] == 9.0
    fresh = [{"PutRequest": {"Item": {"pk": "d", "sk": 4, "g": "x", "l": "y"}}}]                 # both indexes
    total = dynamodb.batch_write_item(RequestItems={table.name: fresh}, ReturnConsumedCapacity="TOTAL")
    assert total["ConsumedCapacity"] == [{"TableName": table.name, "CapacityUnits": 3.0, "WriteCapacityUnits": 3.0}]
    again = dynamodb.batch_write_item(RequestItems={table.name: fresh}, ReturnConsumedCapacity="TOTAL")
    assert again["ConsumedCapacity"][0]["CapacityUnits"] == 1.0     # an unchanged rewrite costs no index


def test_transact_write_capacity_names_the_indexes_touched(dynamodb):
    """TransactWriteItems with INDEXES: twice the non-transactional units for the table, the indexes' as
    outside a transaction (as captured against DynamoDB: the transactional 2x is the table's alone)."""
    table = _indexed_table(dynamodb)
    response = dynamodb.meta.client.transact_write_items(ReturnConsumedCapacity="INDEXES", TransactItems=[
        {"Put": {"TableName": table.name, "Item": {"pk": "a", "sk": 1, "g": "x", "l": "y"}}},
        {"Put": {"TableName": table.name, "Item": {"pk": "b", "sk": 2}}}])
    [capacity] = response["ConsumedCapacity"]
    assert capacity["Table"] == {"CapacityUnits": 4.0}
    assert capacity["GlobalSecondaryIndexes"] == {"by_g": {"CapacityUnits": 1.0}}
    assert capacity["LocalSecondaryIndexes"] == {"by_l": {"CapacityUnits": 1.0}}
    assert capacity["CapacityUnits"] == 6.0 == capacity["WriteCapacityUnits"]
