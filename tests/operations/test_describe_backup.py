"""DescribeBackup: one backup's details and its source table as it was when the backup was taken."""

import pytest

from .backup_helpers import backup_arn, check_backup_arn_member, fill, indexed_table
from .helpers import as_epoch, create_table


def test_describe_backup_shows_the_source_table_as_it_was(dynamodb, client):
    """BackupDescription: BackupDetails, SourceTableDetails (schema, counts) and SourceTableFeatureDetails (indexes)."""
    table = indexed_table(dynamodb)
    fill(table, 20, g="x", l="y")
    arn = client.create_backup(TableName=table.name, BackupName="b-1")["BackupDetails"]["BackupArn"]
    fill(table, 40, g="x", l="y")                          # later writes change the table, not the backup
    description = client.describe_backup(BackupArn=arn)["BackupDescription"]
    assert set(description) == {"BackupDetails", "SourceTableDetails", "SourceTableFeatureDetails"}
    assert description["BackupDetails"]["BackupArn"] == arn
    assert description["BackupDetails"]["BackupName"] == "b-1"
    assert description["BackupDetails"]["BackupStatus"] == "AVAILABLE"
    assert description["BackupDetails"]["BackupType"] == "USER"
    source = description["SourceTableDetails"]
    assert source["TableName"] == table.name
    assert source["TableArn"] == table.table_arn
    assert source["TableId"] == table.table_id
    assert source["KeySchema"] == table.key_schema
    assert source["ItemCount"] == 20
    assert source["TableSizeBytes"] == description["BackupDetails"]["BackupSizeBytes"] > 0
    assert source["BillingMode"] == "PAY_PER_REQUEST"
    assert source["ProvisionedThroughput"] == {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    assert as_epoch(source["TableCreationDateTime"]) == pytest.approx(as_epoch(table.creation_date_time), abs=0.01)
    features = description["SourceTableFeatureDetails"]
    assert sorted(g["IndexName"] for g in features["GlobalSecondaryIndexes"]) == ["by_g", "by_h"]
    assert [i["IndexName"] for i in features["LocalSecondaryIndexes"]] == ["by_l"]
    keys_only = next(g for g in features["GlobalSecondaryIndexes"] if g["IndexName"] == "by_h")
    assert keys_only["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert keys_only["ProvisionedThroughput"] == {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}


def test_a_provisioned_source_table_keeps_its_throughput(dynamodb, client):
    table = create_table(dynamodb, BillingMode="PROVISIONED",
                         ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 4})
    arn = backup_arn(client, table)
    source = client.describe_backup(BackupArn=arn)["BackupDescription"]["SourceTableDetails"]
    assert source["BillingMode"] == "PROVISIONED"
    assert source["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 4}
    assert source["ItemCount"] == 0


def test_a_table_without_indexes_has_no_index_features(dynamodb, client):
    table = create_table(dynamodb)
    arn = backup_arn(client, table)
    assert client.describe_backup(BackupArn=arn)["BackupDescription"]["SourceTableFeatureDetails"] == {}


def test_backup_outlives_its_table(dynamodb, client):
    """Deleting the source table keeps its backups, described as they were."""
    table = create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"))
    fill(table, 5)
    arn = backup_arn(client, table, "keep")
    table.delete()
    table.wait_until_not_exists()
    assert client.describe_backup(BackupArn=arn)["BackupDescription"]["SourceTableDetails"]["ItemCount"] == 5


# -- validation ---------------------------------------------------------------------------------

def test_backup_arn_is_required_37_to_1024_characters_and_must_exist(client):
    check_backup_arn_member(client.describe_backup)
