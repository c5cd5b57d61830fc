"""UpdateTable: billing and throughput changes, online GSI creation (backfill) and deletion, and its errors."""

import pytest

from .helpers import (
    create_table, describe, gsi_description, index, keys_of, raises, scan_all, unique_name, validation,
    wait_for_index,
)

INVALID = "One or more parameter values were invalid: "
NOTHING_TO_DO = ("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates "
                 "or SSESpecification or ReplicaUpdates is required")


def provisioned_table(db, read=5, write=5):
    table = db.create_table(TableName=unique_name(), KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            ProvisionedThroughput={"ReadCapacityUnits": read, "WriteCapacityUnits": write})
    table.wait_until_exists()
    return table


def create_gsi(table, name="gsi_new", hash_key=("g", "S"), range_key=None, projection="ALL", non_key=None,
               definitions=None, throughput=None):
    spec, defs = index(name, hash_key, range_key, projection, non_key)
    if throughput:
        spec["ProvisionedThroughput"] = throughput
    definitions = definitions if definitions is not None else [
        {"AttributeName": n, "AttributeType": t} for n, t in defs.items()]
    return table.update(AttributeDefinitions=definitions, GlobalSecondaryIndexUpdates=[{"Create": spec}])


# -- nothing to do ------------------------------------------------------------------

def test_nothing_to_update(hash_table):
    """UpdateTable with no change requested is rejected."""
    with validation(NOTHING_TO_DO):
        hash_table.update()


def test_empty_gsi_update_list(hash_table):
    """An empty GlobalSecondaryIndexUpdates list counts as nothing to do."""
    with validation(NOTHING_TO_DO):
        hash_table.update(GlobalSecondaryIndexUpdates=[])


def test_missing_table(db):
    """UpdateTable of a missing table is ResourceNotFoundException."""
    with raises("ResourceNotFoundException"):
        db.Table(unique_name()).update(BillingMode="PAY_PER_REQUEST")


# -- billing --------------------------------------------------------------------------

def test_provisioned_to_on_demand(db):
    """Switching to PAY_PER_REQUEST sets BillingModeSummary and reports 0/0 throughput."""
    table = provisioned_table(db)
    table.update(BillingMode="PAY_PER_REQUEST")
    desc = describe(table)
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert desc["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    assert desc["ProvisionedThroughput"]["WriteCapacityUnits"] == 0
    assert "LastUpdateToPayPerRequestDateTime" in desc["BillingModeSummary"]


def test_on_demand_to_provisioned(hash_table):
    """Switching to PROVISIONED takes the new capacity units."""
    hash_table.update(BillingMode="PROVISIONED",
                      ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4})
    desc = describe(hash_table)
    assert desc["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert desc["ProvisionedThroughput"]["WriteCapacityUnits"] == 4
    assert desc.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") == "PROVISIONED"


def test_on_demand_to_provisioned_needs_throughput(hash_table):
    """PROVISIONED needs both capacity units."""
    with validation():
        hash_table.update(BillingMode="PROVISIONED")


def test_change_provisioned_throughput(db):
    """A PROVISIONED table's throughput can be changed."""
    table = provisioned_table(db)
    table.update(ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 20})
    throughput = describe(table)["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (10, 20)


def test_same_throughput_is_rejected(db):
    """Asking for the throughput the table already has is a ValidationException."""
    table = provisioned_table(db, 5, 5)
    with validation(startswith="The provisioned throughput for the table will not change."):
        table.update(ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})


def test_same_billing_mode_and_throughput_is_rejected(db):
    """Naming the current billing mode with the current throughput changes nothing: rejected (issue 14)."""
    table = provisioned_table(db, 5, 5)
    with validation("The provisioned throughput for the table will not change. The requested value equals the "
                    "current value. Current ReadCapacityUnits provisioned for the table: 5. Requested "
                    "ReadCapacityUnits: 5. Current WriteCapacityUnits provisioned for the table: 5. Requested "
                    "WriteCapacityUnits: 5. Refer to the Amazon DynamoDB Developer Guide for current limits and "
                    "how to request higher limits."):
        table.update(BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    assert describe(table)["TableStatus"] == "ACTIVE"


@pytest.mark.parametrize("read,write,message", [
    (0, 5, "1 validation error detected: Value '0' at 'provisionedThroughput.readCapacityUnits' failed to satisfy "
           "constraint: Member must have value greater than or equal to 1"),
    (5, -1, "1 validation error detected: Value '-1' at 'provisionedThroughput.writeCapacityUnits' failed to "
            "satisfy constraint: Member must have value greater than or equal to 1"),
    (0, 0, "2 validation errors detected: Value '0' at 'provisionedThroughput.readCapacityUnits' failed to "
           "satisfy constraint: Member must have value greater than or equal to 1; Value '0' at "
           "'provisionedThroughput.writeCapacityUnits' failed to satisfy constraint: Member must have value "
           "greater than or equal to 1"),
])
def test_throughput_of_zero_or_below_is_rejected(db, read, write, message):
    """Capacity units below 1 break the member constraint, as in CreateTable (reference 3.6)."""
    table = provisioned_table(db, 5, 5)
    with validation(message):
        table.update(ProvisionedThroughput={"ReadCapacityUnits": read, "WriteCapacityUnits": write})
    throughput = describe(table)["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (5, 5)


@pytest.mark.parametrize("throughput,paths", [
    ({"ReadCapacityUnits": 5}, ["provisionedThroughput.writeCapacityUnits"]),
    ({}, ["provisionedThroughput.readCapacityUnits", "provisionedThroughput.writeCapacityUnits"]),
])
def test_throughput_missing_a_member_is_rejected_and_changes_nothing(dynamodb, throughput, paths):
    """Both capacity units are required members of ProvisionedThroughput (issue 14: a missing one was
    stored, then DescribeTable failed on it)."""
    table = provisioned_table(dynamodb, 5, 5)
    parts = [f"Value null at '{p}' failed to satisfy constraint: Member must not be null" for p in paths]
    n = len(parts)
    with validation(f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(parts)):
        table.update(ProvisionedThroughput=throughput)
    throughput = describe(table)["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (5, 5)


_NULL = "failed to satisfy constraint: Member must not be null"


@pytest.mark.parametrize("update,message", [
    ({"Create": {"IndexName": "gsi_new", "KeySchema": [], "Projection": {"ProjectionType": "ALL"}}},
     "Value '[]' at 'globalSecondaryIndexUpdates.1.member.create.keySchema' failed to satisfy constraint: "
     "Member must have length greater than or equal to 1"),
    ({"Create": {"IndexName": "gsi_new", "Projection": {"ProjectionType": "ALL"}}},
     f"Value null at 'globalSecondaryIndexUpdates.1.member.create.keySchema' {_NULL}"),
    ({"Create": {"KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}},
     f"Value null at 'globalSecondaryIndexUpdates.1.member.create.indexName' {_NULL}"),
    ({"Create": {"IndexName": "gsi_new", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}},
     f"Value null at 'globalSecondaryIndexUpdates.1.member.create.projection' {_NULL}"),
    ({"Create": {"IndexName": "gsi_new", "KeySchema": [{"KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}},
     f"Value null at 'globalSecondaryIndexUpdates.1.member.create.keySchema.1.member.attributeName' {_NULL}"),
    ({"Delete": {}}, f"Value null at 'globalSecondaryIndexUpdates.1.member.delete.indexName' {_NULL}"),
    ({"Update": {"ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}},
     f"Value null at 'globalSecondaryIndexUpdates.1.member.update.indexName' {_NULL}"),
    ({"Delete": {"IndexName": "g"}},
     "Value 'g' at 'globalSecondaryIndexUpdates.1.member.delete.indexName' failed to satisfy constraint: "
     "Member must have length greater than or equal to 3"),
])
def test_gsi_update_member_constraints(dynamodb, update, message):
    """The members GlobalSecondaryIndexUpdates actions require, checked as DynamoDB's validator does
    (issue 14: a Create without IndexName made an index named null; one without KeySchema answered 500)."""
    range_table = create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"))
    with validation("1 validation error detected: " + message):
        range_table.update(AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
                           GlobalSecondaryIndexUpdates=[update])
    assert "GlobalSecondaryIndexes" not in describe(range_table)


def test_throughput_on_an_on_demand_table(hash_table):
    """ProvisionedThroughput alone on a PAY_PER_REQUEST table is rejected."""
    with validation():
        hash_table.update(ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})


def test_on_demand_with_throughput_is_rejected(db):
    """BillingMode PAY_PER_REQUEST together with ProvisionedThroughput is rejected."""
    table = provisioned_table(db)
    with validation():
        table.update(BillingMode="PAY_PER_REQUEST",
                     ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})


def test_items_survive_a_billing_change(hash_table):
    """Changing the billing mode keeps the data."""
    hash_table.put_item(Item={"pk": "a", "v": 1})
    hash_table.update(BillingMode="PROVISIONED",
                      ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    assert hash_table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a", "v": 1}


def test_spurious_attribute_definitions_are_ignored(db):
    """AttributeDefinitions that no GSI creation needs are ignored."""
    table = provisioned_table(db)
    table.update(BillingMode="PAY_PER_REQUEST",
                 AttributeDefinitions=[{"AttributeName": "other", "AttributeType": "S"}])
    assert describe(table)["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]


def test_deletion_protection_flag(hash_table):
    """DeletionProtectionEnabled is set and cleared by UpdateTable."""
    hash_table.update(DeletionProtectionEnabled=True)
    assert describe(hash_table)["DeletionProtectionEnabled"] is True
    hash_table.update(DeletionProtectionEnabled=False)
    assert describe(hash_table)["DeletionProtectionEnabled"] is False


# -- creating a GSI ----------------------------------------------------------------------

def test_create_gsi_backfills_existing_items(range_table):
    """A GSI added to a populated table is filled in the background; polling DescribeTable sees it ACTIVE."""
    for i in range(60):
        range_table.put_item(Item={"pk": f"p{i % 7}", "sk": i, "g": f"g{i % 3}", "v": i})
    create_gsi(range_table)
    gsi = gsi_description(range_table, "gsi_new")
    assert gsi["IndexStatus"] in ("CREATING", "ACTIVE")
    assert gsi["KeySchema"] == [{"AttributeName": "g", "KeyType": "HASH"}]
    wait_for_index(range_table, "gsi_new")
    assert "Backfilling" not in gsi_description(range_table, "gsi_new")
    items, _ = scan_all(range_table, IndexName="gsi_new")
    assert keys_of(items, "pk", "sk") == keys_of(range_table.scan()["Items"], "pk", "sk")
    assert len(items) == 60
    assert all(item == {"pk": item["pk"], "sk": item["sk"], "g": item["g"], "v": item["sk"]} for item in items)


def test_backfill_skips_items_it_cannot_index(range_table):
    """Existing items lacking the key attribute, or with a wrong type, an empty or oversized value, are skipped."""
    range_table.put_item(Item={"pk": "a", "sk": 1, "g": "ok"})
    range_table.put_item(Item={"pk": "a", "sk": 2})
    range_table.put_item(Item={"pk": "a", "sk": 3, "g": 5})
    range_table.put_item(Item={"pk": "a", "sk": 4, "g": ""})
    range_table.put_item(Item={"pk": "a", "sk": 5, "g": "x" * 2049})
    range_table.put_item(Item={"pk": "a", "sk": 6, "g": {"nested": "map"}})
    create_gsi(range_table)
    wait_for_index(range_table, "gsi_new")
    items, _ = scan_all(range_table, IndexName="gsi_new")
    assert keys_of(items, "pk", "sk") == [("a", 1)]


def test_writes_are_checked_against_the_new_gsi(range_table):
    """Once the GSI exists, writing its key attribute with the wrong type is rejected."""
    create_gsi(range_table)
    wait_for_index(range_table, "gsi_new")
    with validation(INVALID + "Type mismatch for Index Key g Expected: S Actual: N IndexName: gsi_new"):
        range_table.put_item(Item={"pk": "a", "sk": 1, "g": 5})


def test_writes_after_creation_are_indexed(range_table):
    """Items written after the GSI is created appear in it."""
    create_gsi(range_table)
    wait_for_index(range_table, "gsi_new")
    range_table.put_item(Item={"pk": "a", "sk": 1, "g": "new"})
    items, _ = scan_all(range_table, IndexName="gsi_new")
    assert items == [{"pk": "a", "sk": 1, "g": "new"}]


def test_created_gsi_with_keys_only_projection(range_table):
    """A KEYS_ONLY GSI created later projects only the keys."""
    range_table.put_item(Item={"pk": "a", "sk": 1, "g": "x", "h": 2, "other": "dropped"})
    create_gsi(range_table, projection="KEYS_ONLY", range_key=("h", "N"))
    wait_for_index(range_table, "gsi_new")
    items, _ = scan_all(range_table, IndexName="gsi_new")
    assert items == [{"pk": "a", "sk": 1, "g": "x", "h": 2}]


def test_created_gsi_adds_its_attribute_definitions(range_table):
    """The new GSI's key attributes join AttributeDefinitions."""
    create_gsi(range_table)
    got = {d["AttributeName"]: d["AttributeType"] for d in describe(range_table)["AttributeDefinitions"]}
    assert got == {"pk": "S", "sk": "N", "g": "S"}


def test_create_gsi_on_provisioned_table_with_throughput(db):
    """A GSI of a PROVISIONED table carries its own ProvisionedThroughput."""
    table = provisioned_table(db)
    create_gsi(table, throughput={"ReadCapacityUnits": 2, "WriteCapacityUnits": 3})
    gsi = wait_for_index(table, "gsi_new")
    assert gsi["ProvisionedThroughput"]["ReadCapacityUnits"] == 2
    assert gsi["ProvisionedThroughput"]["WriteCapacityUnits"] == 3


def test_create_gsi_needs_attribute_definitions(range_table):
    """Creating a GSI requires AttributeDefinitions for its key attributes."""
    spec, _ = index("gsi_new", ("g", "S"))
    with validation():
        range_table.update(GlobalSecondaryIndexUpdates=[{"Create": spec}])


def test_create_gsi_redefining_an_attribute_type(range_table):
    """A GSI key must keep the type an attribute already has."""
    with validation(startswith=INVALID + "Attributes cannot be redefined. Please check that your attribute has the "
                    "same type as previously defined."):
        create_gsi(range_table, hash_key=("sk", "S"))


def test_create_gsi_with_existing_gsi_name(gsi_table):
    """A new GSI may not reuse an existing index name."""
    with validation(contains="already exists"):
        create_gsi(gsi_table, name="gsi_all", hash_key=("z", "S"))


def test_create_gsi_with_existing_lsi_name(lsi_table):
    """Nor the name of an LSI."""
    with validation(contains="already exists"):
        create_gsi(lsi_table, name="lsi_all", hash_key=("z", "S"))


def test_create_gsi_under_pay_per_request_with_throughput(range_table):
    """On an on-demand table a new GSI takes no ProvisionedThroughput."""
    with validation():
        create_gsi(range_table, throughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})


def test_two_creates_in_one_call(range_table):
    """Only one GSI can be created or deleted per UpdateTable."""
    a, _ = index("gsi_a", ("a", "S"))
    b, _ = index("gsi_b", ("b", "S"))
    with raises("LimitExceededException", "Subscriber limit exceeded: Only 1 online index can be created or deleted "
                "simultaneously per table"):
        range_table.update(AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"},
                                                 {"AttributeName": "b", "AttributeType": "S"}],
                           GlobalSecondaryIndexUpdates=[{"Create": a}, {"Create": b}])


def test_create_and_delete_in_one_call(gsi_table):
    """A create plus a delete is also two online index changes."""
    a, _ = index("gsi_a", ("a", "S"))
    with raises("LimitExceededException", "Subscriber limit exceeded: Only 1 online index can be created or deleted "
                "simultaneously per table"):
        gsi_table.update(AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
                         GlobalSecondaryIndexUpdates=[{"Create": a}, {"Delete": {"IndexName": "gsi_all"}}])


def test_two_updates_of_one_index(gsi_table):
    """Two updates for the same index name in one call are rejected."""
    throughput = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
    with validation(INVALID + "Only one global secondary index update per index is allowed simultaneously. "
                    "Index: gsi_all"):
        gsi_table.update(GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": "gsi_all", "ProvisionedThroughput": throughput}},
            {"Update": {"IndexName": "gsi_all", "ProvisionedThroughput": throughput}}])


@pytest.mark.parametrize("entry", [{}, {"Create": {"IndexName": "gsi_x", "KeySchema": [{"AttributeName": "g",
                                                                                      "KeyType": "HASH"}],
                                                   "Projection": {"ProjectionType": "ALL"}},
                                        "Delete": {"IndexName": "gsi_all"}}])
def test_gsi_update_entry_with_zero_or_two_actions(gsi_table, entry):
    """Each GlobalSecondaryIndexUpdates entry holds exactly one of Create, Update, Delete."""
    with validation(INVALID + "One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, "
                    "GlobalSecondaryIndexUpdate.Delete must not be null"):
        gsi_table.update(GlobalSecondaryIndexUpdates=[entry])


# -- deleting and updating a GSI ----------------------------------------------------------------

def test_delete_gsi(gsi_table):
    """A deleted GSI leaves the description and can no longer be read."""
    gsi_table.put_item(Item={"pk": "a", "sk": 1, "g": "x"})
    gsi_table.update(GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "gsi_all"}}])
    gone = {g["IndexName"] for g in describe(gsi_table).get("GlobalSecondaryIndexes", ())}
    assert "gsi_all" not in gone
    with validation("The table does not have the specified index: gsi_all"):
        gsi_table.scan(IndexName="gsi_all")
    assert gsi_table.get_item(Key={"pk": "a", "sk": 1})["Item"] == {"pk": "a", "sk": 1, "g": "x"}


def test_deleting_the_last_gsi_removes_the_list(db):
    """Without GSIs the description has no GlobalSecondaryIndexes member."""
    table = create_table(db, gsis=[index("only", ("g", "S"))])
    table.update(GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "only"}}])
    assert "GlobalSecondaryIndexes" not in describe(table)


def test_deleting_a_gsi_lifts_its_type_restriction(db):
    """After deletion the former key attribute may hold any type (it is no key anywhere)."""
    table = create_table(db, gsis=[index("only", ("g", "S"))])
    with validation():
        table.put_item(Item={"pk": "a", "g": 1})
    table.update(GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "only"}}])
    table.put_item(Item={"pk": "a", "g": 1})
    assert table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a", "g": 1}
    assert describe(table)["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]


def test_type_restriction_stays_while_another_gsi_uses_the_attribute(gsi_table):
    """Deleting one of two GSIs on ``g`` keeps ``g`` typed."""
    gsi_table.update(GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "gsi_all"}}])
    with validation(INVALID + "Type mismatch for Index Key g Expected: S Actual: N IndexName: gsi_keys"):
        gsi_table.put_item(Item={"pk": "a", "sk": 1, "g": 1})


def test_delete_unknown_gsi(gsi_table):
    """Deleting a GSI that does not exist is ResourceNotFoundException."""
    with raises("ResourceNotFoundException"):
        gsi_table.update(GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "nope"}}])


def test_update_unknown_gsi(db):
    """Updating a GSI that does not exist is ResourceNotFoundException."""
    table = provisioned_table(db)
    with raises("ResourceNotFoundException"):
        table.update(GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": "nope",
                        "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}}])


def test_delete_lsi_is_rejected(lsi_table):
    """LSIs cannot be deleted: ValidationException."""
    with validation():
        lsi_table.update(GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "lsi_all"}}])


def test_update_gsi_throughput(db):
    """Update changes a provisioned GSI's capacity."""
    table = provisioned_table(db)
    create_gsi(table, throughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    wait_for_index(table, "gsi_new")
    table.update(GlobalSecondaryIndexUpdates=[
        {"Update": {"IndexName": "gsi_new",
                    "ProvisionedThroughput": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 8}}}])
    gsi = wait_for_index(table, "gsi_new")
    throughput = gsi["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (7, 8)


def test_recreate_a_deleted_gsi(gsi_table):
    """A deleted GSI's name can be used again, and the new index is backfilled."""
    gsi_table.put_item(Item={"pk": "a", "sk": 1, "g": "x", "z": "zz"})
    gsi_table.update(GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "gsi_all"}}])
    create_gsi(gsi_table, name="gsi_all", hash_key=("z", "S"))
    wait_for_index(gsi_table, "gsi_all")
    items, _ = scan_all(gsi_table, IndexName="gsi_all")
    assert items == [{"pk": "a", "sk": 1, "g": "x", "z": "zz"}]


# -- streams ------------------------------------------------------------------------------------

def test_enable_stream_twice(hash_table):
    """Enabling a stream on a table that has one is rejected."""
    spec = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    hash_table.update(StreamSpecification=spec)
    with validation(contains=["already", "enabled"]):
        hash_table.update(StreamSpecification=spec)


def test_disable_stream_when_none(hash_table):
    """Disabling a stream that is not enabled is rejected."""
    with validation():
        hash_table.update(StreamSpecification={"StreamEnabled": False})
