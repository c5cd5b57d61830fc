"""Scan: every item of a table, paged by Limit and 1 MB, filtered, projected, and split into parallel segments."""

import pytest
from boto3.dynamodb.conditions import Attr

from .helpers import keys_of, raises, scan_all, unique_name, validation

N_ITEMS = 120


@pytest.fixture
def table(range_table):
    """120 items over 40 partitions (3 sort keys each)."""
    for i in range(N_ITEMS):
        range_table.put_item(Item={"pk": f"p{i // 3}", "sk": i % 3, "n": i, "even": i % 2 == 0})
    return range_table


def all_keys():
    return sorted((f"p{i // 3}", i % 3) for i in range(N_ITEMS))


def test_scan_returns_every_item(table):
    """A Scan without Limit over a small table returns everything in one page."""
    response = table.scan()
    assert keys_of(response["Items"], "pk", "sk") == all_keys()
    assert response["Count"] == response["ScannedCount"] == N_ITEMS
    assert "LastEvaluatedKey" not in response


def test_empty_table(range_table):
    """Scanning an empty table gives no items and no LastEvaluatedKey."""
    response = range_table.scan()
    assert response["Items"] == [] and response["Count"] == 0 and "LastEvaluatedKey" not in response


def test_items_of_a_partition_come_in_sort_key_order(table):
    """Within a partition, a Scan returns items in sort-key order."""
    seen = {}
    for item in table.scan()["Items"]:
        seen.setdefault(item["pk"], []).append(int(item["sk"]))
    assert all(sks == [0, 1, 2] for sks in seen.values())


def test_filter(table):
    """FilterExpression keeps the matching items; ScannedCount counts all read."""
    response = table.scan(FilterExpression=Attr("n").lt(10))
    assert sorted(int(i["n"]) for i in response["Items"]) == list(range(10))
    assert (response["Count"], response["ScannedCount"]) == (10, N_ITEMS)


def test_filter_may_use_key_attributes(table):
    """Unlike Query, a Scan filter may reference key attributes."""
    response = table.scan(FilterExpression="pk = :p AND sk > :s", ExpressionAttributeValues={":p": "p0", ":s": 0})
    assert keys_of(response["Items"], "pk", "sk") == [("p0", 1), ("p0", 2)]


def test_legacy_scan_filter(table):
    """Legacy ScanFilter filters the same way."""
    response = table.scan(ScanFilter={"n": {"ComparisonOperator": "LT", "AttributeValueList": [3]}})
    assert sorted(int(i["n"]) for i in response["Items"]) == [0, 1, 2]


def test_mixing_scan_filter_and_filter_expression(table):
    """ScanFilter and FilterExpression cannot be mixed."""
    with validation("Can not use both expression and non-expression parameters in the same request: "
                    "Non-expression parameters: {ScanFilter} Expression parameters: {FilterExpression}"):
        table.scan(ScanFilter={"n": {"ComparisonOperator": "LT", "AttributeValueList": [3]}},
                   FilterExpression="n < :v", ExpressionAttributeValues={":v": 3})


def test_projection(table):
    """ProjectionExpression trims every item."""
    response = table.scan(ProjectionExpression="n")
    assert sorted(int(i["n"]) for i in response["Items"]) == list(range(N_ITEMS))
    assert all(set(i) == {"n"} for i in response["Items"])


def test_attributes_to_get(table):
    """Legacy AttributesToGet trims the same way."""
    assert all(set(i) == {"pk"} for i in table.scan(AttributesToGet=["pk"])["Items"])


def test_select_count(table):
    """Select=COUNT returns counts only."""
    response = table.scan(Select="COUNT", FilterExpression=Attr("even").eq(True))
    assert "Items" not in response
    assert (response["Count"], response["ScannedCount"]) == (N_ITEMS // 2, N_ITEMS)


def test_select_all_projected_attributes_on_a_table(table):
    """ALL_PROJECTED_ATTRIBUTES needs an index."""
    with validation():
        table.scan(Select="ALL_PROJECTED_ATTRIBUTES")


def test_select_specific_attributes_without_projection(table):
    """SPECIFIC_ATTRIBUTES needs a projection."""
    with validation():
        table.scan(Select="SPECIFIC_ATTRIBUTES")


def test_projection_with_select_count(table):
    """A projection cannot go with COUNT."""
    with validation(contains="ProjectionExpression"):
        table.scan(Select="COUNT", ProjectionExpression="n")


# -- pagination -----------------------------------------------------------------------------

def test_limit_and_last_evaluated_key(table):
    """Limit bounds the page; LastEvaluatedKey is the table key of the last item read."""
    page = table.scan(Limit=7)
    assert page["Count"] == 7
    last = page["Items"][-1]
    assert page["LastEvaluatedKey"] == {"pk": last["pk"], "sk": last["sk"]}


@pytest.mark.parametrize("limit", [1, 7, 50, 119, 120, 500])
def test_pages_cover_the_table_once(table, limit):
    """Following LastEvaluatedKey visits every item exactly once."""
    items, pages = scan_all(table, Limit=limit)
    assert keys_of(items, "pk", "sk") == all_keys()
    assert pages >= -(-N_ITEMS // limit)


def test_limit_counts_before_the_filter(table):
    """A page may hold no matching items and still have a LastEvaluatedKey."""
    page = table.scan(Limit=5, FilterExpression=Attr("n").gt(10_000))
    assert page["Items"] == [] and page["ScannedCount"] == 5 and "LastEvaluatedKey" in page


def test_filtered_paging_finds_every_match(table):
    """Paging with a filter finds exactly the matches."""
    items, _ = scan_all(table, Limit=9, FilterExpression=Attr("even").eq(True))
    assert sorted(int(i["n"]) for i in items) == list(range(0, N_ITEMS, 2))


def test_one_megabyte_pages(range_table):
    """A page ends once the items read reach 1 MB; the pages together still hold every item."""
    big = "x" * 100_000
    for i in range(25):
        range_table.put_item(Item={"pk": f"big{i}", "sk": 0, "data": big})
    first = range_table.scan()
    assert "LastEvaluatedKey" in first
    assert 9 <= first["Count"] <= 12
    items, pages = scan_all(range_table, ProjectionExpression="pk")
    assert sorted(i["pk"] for i in items) == sorted(f"big{i}" for i in range(25))
    assert pages >= 3


def test_select_count_pages_by_megabyte_too(range_table):
    """COUNT reads the same 1 MB pages."""
    big = "x" * 200_000
    for i in range(8):
        range_table.put_item(Item={"pk": f"big{i}", "sk": 0, "data": big})
    total, kwargs, pages = 0, {}, 0
    while True:
        page = range_table.scan(Select="COUNT", **kwargs)
        total, pages = total + page["Count"], pages + 1
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert total == 8 and pages >= 2


@pytest.mark.parametrize("start", [{"pk": "p0"}, {"pk": "p0", "sk": 0, "x": 1}, {"pk": 0, "sk": 0}])
def test_malformed_exclusive_start_key(table, start):
    """ExclusiveStartKey must be exactly the table key."""
    with validation(startswith="The provided starting key is invalid"):
        table.scan(ExclusiveStartKey=start)


def test_limit_zero(table):
    """Limit must be at least 1."""
    with validation("1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
                    "Member must have value greater than or equal to 1"):
        table.scan(Limit=0)


# -- parallel scan ------------------------------------------------------------------------------

@pytest.mark.parametrize("total", [1, 2, 3, 4, 7, 16, 100])
def test_segments_partition_the_table(table, total):
    """Segments are disjoint and together hold the whole table."""
    seen = []
    for segment in range(total):
        items, _ = scan_all(table, Segment=segment, TotalSegments=total)
        seen.append({(i["pk"], int(i["sk"])) for i in items})
    union = set().union(*seen)
    assert sorted(union) == all_keys()
    assert sum(len(s) for s in seen) == N_ITEMS


def test_segments_keep_partitions_whole(table):
    """A partition's items all fall in one segment (segments split the hash-key space)."""
    owner = {}
    for segment in range(4):
        items, _ = scan_all(table, Segment=segment, TotalSegments=4)
        for item in items:
            assert owner.setdefault(item["pk"], segment) == segment


def test_segments_page_independently(table):
    """Each segment pages on its own with Limit."""
    total = 0
    for segment in range(3):
        items, _ = scan_all(table, Segment=segment, TotalSegments=3, Limit=4)
        total += len(items)
    assert total == N_ITEMS


def test_segment_without_total(table):
    """Segment needs TotalSegments."""
    with validation("The TotalSegments parameter is required but was not present in the request when Segment "
                    "parameter is present"):
        table.scan(Segment=0)


def test_total_without_segment(table):
    """TotalSegments needs Segment."""
    with validation("The Segment parameter is required but was not present in the request when parameter "
                    "TotalSegments is present"):
        table.scan(TotalSegments=2)


def test_segment_not_below_total(table):
    """Segment is zero-based and below TotalSegments."""
    with validation("The Segment parameter is zero-based and must be less than parameter TotalSegments: "
                    "Segment: 3 is not less than TotalSegments: 3"):
        table.scan(Segment=3, TotalSegments=3)


def test_exclusive_start_key_from_another_segment(table):
    """An ExclusiveStartKey must belong to the segment being scanned."""
    owner = {}
    for segment in range(4):
        for item in scan_all(table, Segment=segment, TotalSegments=4)[0]:
            owner[(item["pk"], item["sk"])] = segment
    (pk, sk), segment = next((k, s) for k, s in owner.items() if s != 1)
    with validation("The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey "
                    "with correct Segment. TotalSegments: 4 Segment: 1"):
        table.scan(Segment=1, TotalSegments=4, ExclusiveStartKey={"pk": pk, "sk": sk})


def test_total_segments_upper_bound(table):
    """TotalSegments is at most 1,000,000."""
    table.scan(Segment=999_999, TotalSegments=1_000_000)
    with validation(contains="totalSegments"):
        table.scan(Segment=0, TotalSegments=1_000_001)


# -- other errors ------------------------------------------------------------------------------

def test_missing_table(db):
    """Scan of a missing table."""
    with raises("ResourceNotFoundException", "Requested resource not found"):
        db.Table(unique_name()).scan()


def test_unknown_index(table):
    """Scan of an index the table does not have."""
    with validation("The table does not have the specified index: nope"):
        table.scan(IndexName="nope")


def test_consistent_read_on_a_table(table):
    """ConsistentRead is fine on a table."""
    assert table.scan(ConsistentRead=True)["Count"] == N_ITEMS


def test_consumed_capacity(table):
    """ReturnConsumedCapacity reports read units for the page."""
    response = table.scan(ReturnConsumedCapacity="TOTAL", Limit=1)
    assert response["ConsumedCapacity"]["TableName"] == table.name
    assert response["ConsumedCapacity"]["CapacityUnits"] == 0.5


def test_exclusive_start_key_need_not_exist(table):
    """An ExclusiveStartKey need not name an existing item; the scan continues after its position."""
    everything = {(i["pk"], int(i["sk"])) for i in table.scan()["Items"]}
    items, _ = scan_all(table, ExclusiveStartKey={"pk": "p0", "sk": 99})
    assert {(i["pk"], int(i["sk"])) for i in items} <= everything


@pytest.mark.parametrize("filler,units", [(2040, 1.0), (2041, 2.0)])
def test_scan_page_capacity_rounds_the_sum_of_item_sizes_up_to_4kb(range_table, filler, units):
    """Reference 7: a page costs ceil(sum of DynamoDB item sizes / 4 KB); two items of 8 + filler bytes each."""
    for sk in (1, 2):
        range_table.put_item(Item={"pk": "a", "sk": sk, "v": "x" * filler})
    page = range_table.scan(ReturnConsumedCapacity="TOTAL", ConsistentRead=True)
    assert page["Count"] == 2 and page["ConsumedCapacity"]["CapacityUnits"] == units
    filtered = range_table.scan(ReturnConsumedCapacity="TOTAL", ConsistentRead=True, FilterExpression=Attr("sk").eq(1))
    assert filtered["Count"] == 1 and filtered["ConsumedCapacity"]["CapacityUnits"] == units   # before the filter
