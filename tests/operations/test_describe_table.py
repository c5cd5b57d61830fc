"""DescribeTable: the TableDescription shape clients read (boto3's Table attributes, PynamoDB)."""

import datetime
import re

import pytest

from .helpers import create_table, describe, index, raises, unique_name


def test_missing_table(db):
    """DescribeTable of a missing table names it in the ResourceNotFoundException."""
    name = unique_name()
    with raises("ResourceNotFoundException", f"Requested resource not found: Table: {name} not found"):
        db.Table(name).load()


def test_deleted_table_is_not_found(db):
    """After DeleteTable the table is gone."""
    table = create_table(db)
    table.delete()
    table.wait_until_not_exists()
    with raises("ResourceNotFoundException", f"Requested resource not found: Table: {table.name} not found"):
        table.load()


def test_basic_members(hash_table):
    """Name, status, key schema, definitions, ARN, id, counts and throughput are always present."""
    desc = describe(hash_table)
    for member in ("TableName", "TableStatus", "KeySchema", "AttributeDefinitions", "TableArn", "TableId",
                   "CreationDateTime", "ProvisionedThroughput", "TableSizeBytes", "ItemCount"):
        assert member in desc, member
    assert desc["TableStatus"] == "ACTIVE"


def test_absent_optional_members_are_omitted(hash_table):
    """Members that do not apply (streams, SSE, indexes) are omitted, never null."""
    desc = describe(hash_table)
    for member in ("StreamSpecification", "LatestStreamArn", "LatestStreamLabel", "SSEDescription",
                   "GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        assert member not in desc, member


def test_counts_are_integers(range_table):
    """ItemCount and TableSizeBytes are integers (estimates that may lag on DynamoDB)."""
    for i in range(3):
        range_table.put_item(Item={"pk": "a", "sk": i, "data": "x" * 100})
    desc = describe(range_table)
    assert isinstance(desc["ItemCount"], int) and desc["ItemCount"] >= 0
    assert isinstance(desc["TableSizeBytes"], int) and desc["TableSizeBytes"] >= 0


def test_on_demand_throughput_is_zero_but_present(hash_table):
    """Apps read ProvisionedThroughput even for on-demand tables: it is present with 0/0."""
    throughput = describe(hash_table)["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (0, 0)
    assert throughput["NumberOfDecreasesToday"] == 0
    assert describe(hash_table)["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_gsi_members(gsi_table):
    """A GSI reports IndexName, KeySchema, Projection, IndexStatus, ProvisionedThroughput, size, count and ARN."""
    desc = describe(gsi_table)
    gsis = {g["IndexName"]: g for g in desc["GlobalSecondaryIndexes"]}
    assert set(gsis) == {"gsi_all", "gsi_keys", "gsi_include"}
    keys = gsis["gsi_keys"]
    assert keys["KeySchema"] == [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "h", "KeyType": "RANGE"}]
    assert keys["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert gsis["gsi_include"]["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]}
    for gsi in gsis.values():
        assert gsi["IndexStatus"] == "ACTIVE"
        assert "Backfilling" not in gsi
        assert gsi["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
        assert isinstance(gsi["IndexSizeBytes"], int)
        assert isinstance(gsi["ItemCount"], int)
        assert gsi["IndexArn"] == f"{desc['TableArn']}/index/{gsi['IndexName']}"


def test_lsi_members_have_no_status_or_throughput(lsi_table):
    """An LSI has no IndexStatus and no ProvisionedThroughput of its own."""
    desc = describe(lsi_table)
    lsis = {i["IndexName"]: i for i in desc["LocalSecondaryIndexes"]}
    assert set(lsis) == {"lsi_all", "lsi_keys"}
    for lsi in lsis.values():
        assert "IndexStatus" not in lsi
        assert "ProvisionedThroughput" not in lsi
        assert lsi["IndexArn"] == f"{desc['TableArn']}/index/{lsi['IndexName']}"
        assert isinstance(lsi["IndexSizeBytes"], int)
        assert isinstance(lsi["ItemCount"], int)
    assert lsis["lsi_keys"]["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"},
                                             {"AttributeName": "m", "KeyType": "RANGE"}]


def test_key_schema_keeps_hash_then_range(range_table):
    """KeySchema comes back in order: HASH, then RANGE."""
    assert [k["KeyType"] for k in describe(range_table)["KeySchema"]] == ["HASH", "RANGE"]


def test_attribute_definitions_include_index_keys(gsi_table):
    """AttributeDefinitions are merged over the table and all its indexes (any order)."""
    got = {d["AttributeName"]: d["AttributeType"] for d in describe(gsi_table)["AttributeDefinitions"]}
    assert got == {"pk": "S", "sk": "N", "g": "S", "h": "N"}


def test_stream_members_when_enabled(db):
    """With a stream: StreamSpecification, LatestStreamLabel and LatestStreamArn = <tableArn>/stream/<label>."""
    table = create_table(db, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    desc = describe(table)
    assert desc["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert desc["LatestStreamArn"] == f"{desc['TableArn']}/stream/{desc['LatestStreamLabel']}"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", desc["LatestStreamLabel"])


def test_provisioned_throughput_of_a_provisioned_gsi(db):
    """A GSI of a PROVISIONED table reports its own capacity units."""
    spec, defs = index("gsi_p", ("g", "S"))
    spec["ProvisionedThroughput"] = {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4}
    table = db.create_table(
        TableName=unique_name(), KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "g", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 2}, GlobalSecondaryIndexes=[spec])
    gsi = describe(table)["GlobalSecondaryIndexes"][0]
    assert gsi["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert gsi["ProvisionedThroughput"]["WriteCapacityUnits"] == 4


@pytest.mark.parametrize("name", ["a!b", "x" * 256])
def test_invalid_name_is_a_validation_error_not_missing(db, name):
    """A name that can never exist is a ValidationException rather than ResourceNotFoundException."""
    with raises("ValidationException", contains="tableName"):
        db.Table(name).load()


def test_timestamps_are_datetimes_on_every_face(dynamodb, client):
    """CreationDateTime, backup and PITR times come back as aware datetimes, as boto3 parses them, on every
    face: code that formats ``table.creation_date_time`` runs unchanged against kvstore and DynamoDB."""
    table = create_table(dynamodb)
    created = table.creation_date_time
    assert isinstance(created, datetime.datetime) and created.tzinfo is not None
    assert client.describe_table(TableName=table.name)["Table"]["CreationDateTime"] == created
    details = client.create_backup(TableName=table.name, BackupName="first-backup")["BackupDetails"]
    assert isinstance(details["BackupCreationDateTime"], datetime.datetime)
    summaries = client.list_backups(TableName=table.name)["BackupSummaries"]
    assert [type(s["BackupCreationDateTime"]) for s in summaries] == [datetime.datetime]
    client.update_continuous_backups(TableName=table.name,
                                     PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    window = client.describe_continuous_backups(TableName=table.name)[
        "ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert window["EarliestRestorableDateTime"] <= window["LatestRestorableDateTime"]
    assert created <= window["LatestRestorableDateTime"]


def test_datetimes_leave_the_stored_description_alone(db):
    """The embedded API converts a copy: the operation's own answer still holds epoch seconds."""
    from kvstore.operations import execute
    table = create_table(db)
    assert isinstance(db.meta.client.describe_table(TableName=table.name)["Table"]["CreationDateTime"],
                      datetime.datetime)
    raw = execute(db.engine, "DescribeTable", {"TableName": table.name})["Table"]["CreationDateTime"]
    assert type(raw) in (int, float)
