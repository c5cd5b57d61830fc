"""RestoreTableFromBackup: a new table with the backup's key schema, indexes, billing and items.

The ``*Override`` members replace what the source had; the new table is
validated as CreateTable validates a request (``create_table.plan``), and its
description carries a ``RestoreSummary``.
"""

import os
from pathlib import Path

import pytest

import kvstore

from .backup_helpers import MISSING_ARN, backup_arn, fill, indexed_table, items_of
from .helpers import create_table, index, raises, unique_name, validation


def test_restore_creates_the_table_with_schema_indexes_items_and_restore_summary(dynamodb, client):
    """The restored table has the source's key schema, LSIs, GSIs, billing and items, and a RestoreSummary."""
    source = indexed_table(dynamodb)
    for i in range(30):
        item = {"pk": f"p{i % 3}", "sk": i, "l": f"l{i}", "payload": bytes([i])}
        if i % 2:
            item["g"] = f"g{i % 4}"                      # sparse: only odd items are in by_g
        if i % 5 == 0:
            item["h"] = i
        source.put_item(Item=item)
    arn = client.create_backup(TableName=source.name, BackupName="full")["BackupDetails"]["BackupArn"]
    target = unique_name()
    description = client.restore_table_from_backup(TargetTableName=target, BackupArn=arn)["TableDescription"]
    assert description["TableName"] == target
    assert description["TableArn"].endswith(f":table/{target}")
    assert description["TableStatus"] == "ACTIVE"
    assert description["KeySchema"] == source.key_schema
    assert sorted(d["AttributeName"] for d in description["AttributeDefinitions"]) == ["g", "h", "l", "pk", "sk"]
    assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    summary = description["RestoreSummary"]
    assert summary["SourceBackupArn"] == arn
    assert summary["SourceTableArn"] == source.table_arn
    assert summary["RestoreInProgress"] is False
    assert "RestoreDateTime" in summary
    assert description["ItemCount"] == 30

    restored = dynamodb.Table(target)
    assert restored.restore_summary["SourceBackupArn"] == arn
    assert items_of(restored) == items_of(source)
    gsis = {g["IndexName"]: g for g in restored.global_secondary_indexes}
    assert gsis["by_g"]["ItemCount"] == 15
    assert gsis["by_h"]["ItemCount"] == 6
    assert gsis["by_h"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert restored.local_secondary_indexes[0]["ItemCount"] == 30
    by_g = restored.query(IndexName="by_g", KeyConditionExpression="g = :g",
                          ExpressionAttributeValues={":g": "g1"})["Items"]
    assert sorted(i["sk"] for i in by_g) == [1, 5, 9, 13, 17, 21, 25, 29]
    by_l = restored.query(IndexName="by_l", KeyConditionExpression="pk = :p AND begins_with(l, :l)",
                          ExpressionAttributeValues={":p": "p0", ":l": "l1"})["Items"]
    assert sorted(i["sk"] for i in by_l) == [12, 15, 18]


def test_restored_table_is_independent_of_source_and_backup(dynamodb, client):
    """Writes to the source after the backup do not reach the restore; writes to the restore stay there."""
    source = create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"))
    fill(source, 10)
    snapshot = items_of(source)
    arn = backup_arn(client, source, "before")
    source.delete_item(Key={"pk": "p0", "sk": 0})
    source.put_item(Item={"pk": "new", "sk": 99})
    target = unique_name()
    client.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    restored = dynamodb.Table(target)
    assert items_of(restored) == snapshot
    restored.put_item(Item={"pk": "only-here", "sk": 1})
    again = unique_name()
    client.restore_table_from_backup(TargetTableName=again, BackupArn=arn)
    assert items_of(dynamodb.Table(again)) == snapshot


def test_a_backup_restores_after_its_table_is_deleted(dynamodb, client):
    table = create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"))
    fill(table, 5)
    arn = backup_arn(client, table, "keep")
    table.delete()
    table.wait_until_not_exists()
    target = unique_name()
    client.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    assert len(items_of(dynamodb.Table(target))) == 5


def test_restore_overrides_billing_and_drops_indexes(dynamodb, client):
    """BillingModeOverride / ProvisionedThroughputOverride set billing; an empty GSI override drops every GSI."""
    source = indexed_table(dynamodb)
    fill(source, 6, g="x", l="y")
    arn = backup_arn(client, source, "o-1")
    target = unique_name()
    description = client.restore_table_from_backup(
        TargetTableName=target, BackupArn=arn, BillingModeOverride="PROVISIONED",
        ProvisionedThroughputOverride={"ReadCapacityUnits": 7, "WriteCapacityUnits": 3},
        GlobalSecondaryIndexOverride=[])["TableDescription"]
    assert "GlobalSecondaryIndexes" not in description
    assert [i["IndexName"] for i in description["LocalSecondaryIndexes"]] == ["by_l"]
    assert description["ProvisionedThroughput"]["ReadCapacityUnits"] == 7
    assert description["ProvisionedThroughput"]["WriteCapacityUnits"] == 3
    assert "BillingModeSummary" not in description or \
        description["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert sorted(d["AttributeName"] for d in description["AttributeDefinitions"]) == ["l", "pk", "sk"]
    assert description["ItemCount"] == 6


def test_restore_with_a_gsi_override_builds_that_index(dynamodb, client):
    """A GlobalSecondaryIndexOverride replaces the list; the index is built from the restored rows."""
    source = indexed_table(dynamodb)
    for i in range(8):
        source.put_item(Item={"pk": "p", "sk": i, "g": f"g{i % 2}", "h": i})
    arn = backup_arn(client, source, "o-2")
    target = unique_name()
    spec, _ = index("only_h", ("h", "N"), projection="KEYS_ONLY")
    description = client.restore_table_from_backup(TargetTableName=target, BackupArn=arn,
                                                   GlobalSecondaryIndexOverride=[spec])["TableDescription"]
    assert [(g["IndexName"], g["ItemCount"]) for g in description["GlobalSecondaryIndexes"]] == [("only_h", 8)]


def test_tags_are_not_restored(dynamodb, client):
    source = create_table(dynamodb, Tags=[{"Key": "team", "Value": "a"}])
    arn = backup_arn(client, source)
    target = unique_name()
    table_arn = client.restore_table_from_backup(TargetTableName=target, BackupArn=arn)["TableDescription"]["TableArn"]
    assert client.list_tags_of_resource(ResourceArn=table_arn)["Tags"] == []


# -- validation ---------------------------------------------------------------------------------

def test_restore_to_an_existing_name_is_table_already_exists(dynamodb, client):
    table = create_table(dynamodb)
    arn = backup_arn(client, table, "dup")
    with raises("TableAlreadyExistsException", f"Table already exists: {table.name}"):
        client.restore_table_from_backup(TargetTableName=table.name, BackupArn=arn)


def test_restore_of_an_unknown_backup_is_backup_not_found(client):
    with raises("BackupNotFoundException", f"Backup not found: {MISSING_ARN}"):
        client.restore_table_from_backup(TargetTableName=unique_name(), BackupArn=MISSING_ARN)


@pytest.mark.parametrize("target, constraint", [
    ("a b", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
    ("ab", "Member must have length greater than or equal to 3"),
    ("x" * 256, "Member must have length less than or equal to 255"),
])
def test_restore_target_name_constraints(dynamodb, client, target, constraint):
    arn = backup_arn(client, create_table(dynamodb), "names")
    with validation(f"1 validation error detected: Value '{target}' at 'targetTableName' failed to satisfy "
                    f"constraint: {constraint}"):
        client.restore_table_from_backup(TargetTableName=target, BackupArn=arn)


def test_restore_requires_target_and_backup(client):
    with validation("2 validation errors detected: Value null at 'targetTableName' failed to satisfy constraint: "
                    "Member must not be null; Value null at 'backupArn' failed to satisfy constraint: "
                    "Member must not be null"):
        client.restore_table_from_backup()


def test_restore_backup_arn_and_billing_mode_constraints(client):
    with validation("2 validation errors detected: Value 'arn:short' at 'backupArn' failed to satisfy constraint: "
                    "Member must have length greater than or equal to 37; Value 'FREE' at 'billingModeOverride' "
                    "failed to satisfy constraint: Member must satisfy enum value set: "
                    "[PROVISIONED, PAY_PER_REQUEST]"):
        client.restore_table_from_backup(TargetTableName=unique_name(), BackupArn="arn:short",
                                         BillingModeOverride="FREE")


def test_the_new_table_is_validated_as_create_table_validates(dynamodb, client):
    """Provisioned billing without throughput (the source was on-demand) is refused as CreateTable refuses it,
    and nothing is created."""
    arn = backup_arn(client, create_table(dynamodb))
    target = unique_name()
    with validation("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must "
                    "both be specified when BillingMode is PROVISIONED"):
        client.restore_table_from_backup(TargetTableName=target, BackupArn=arn, BillingModeOverride="PROVISIONED")
    assert target not in client.list_tables()["TableNames"]


def test_planning_the_new_table_touches_no_engine():
    """create_table.plan validates and builds the catalog entry alone; RestoreTableFromBackup relies on it."""
    from kvstore.operations import create_table as create_table_operation
    request = {"TableName": "planned", "BillingMode": "PAY_PER_REQUEST",
               "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}
    meta = create_table_operation.plan(request, 1_700_000_000.0)
    assert meta["TableName"] == "planned" and meta["CreationDateTime"] == 1_700_000_000.0
    assert meta["KeySchema"] == request["KeySchema"]
    with pytest.raises(kvstore.ValidationException):
        create_table_operation.plan(dict(request, BillingMode="PROVISIONED"), 0.0)


# -- directory databases --------------------------------------------------------------------------

def test_backups_and_restored_tables_survive_reopening(tmp_path):
    """On a directory database a backup is a file under backups/; it, and a table restored from it,
    are there after the database is closed and opened again."""
    path = str(tmp_path / "db")
    with kvstore.open(path) as db:
        table = indexed_table(db)
        fill(table, 50, g="x", l="y")
        expected = items_of(table)
        client = db.meta.client
        arn = backup_arn(client, table, "durable")
        gone = backup_arn(client, table, "deleted")
        client.delete_backup(BackupArn=gone)
        table.delete()
    assert [n for n in os.listdir(os.path.join(path, "backups")) if n.endswith(".backup")] != []
    target = unique_name()
    with kvstore.open(path) as db:
        client = db.meta.client
        assert [s["BackupArn"] for s in client.list_backups()["BackupSummaries"]] == [arn]
        assert client.describe_backup(BackupArn=arn)["BackupDescription"]["SourceTableDetails"]["ItemCount"] == 50
        client.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    with kvstore.open(path) as db:
        restored = db.Table(target)
        assert items_of(restored) == expected
        assert restored.restore_summary["RestoreInProgress"] is False
        assert {g["IndexName"]: g["ItemCount"] for g in restored.global_secondary_indexes}["by_g"] == 50
        db.engine.tables[target]._check()


def test_damaged_backup_file_restores_nothing(tmp_path):
    """A backup whose rows changed on disk (a bit flipped in the run file holding them) is refused whole:
    InternalServerError, no table."""
    path = str(tmp_path / "db")
    with kvstore.open(path) as db:
        table = create_table(db, hash_key=("pk", "S"), range_key=("sk", "N"))
        fill(table, 100, pad="z" * 100)
        arn = backup_arn(db.meta.client, table, "rot")
    (name,) = [n for n in os.listdir(os.path.join(path, "backups", "runs")) if n.endswith(".run")]
    file = os.path.join(path, "backups", "runs", name)
    data = bytearray(Path(file).read_bytes())
    data[len(data) // 2] ^= 0xFF
    Path(file).write_bytes(bytes(data))
    target = unique_name()
    with kvstore.open(path) as db:
        with raises("InternalServerError"):
            db.meta.client.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
        assert target not in db.engine.tables


@pytest.mark.parametrize("durability", ["batch", "sync"])
def test_backup_and_restore_survive_a_power_cut(durability):
    """Once CreateBackup and RestoreTableFromBackup have answered, a power cut loses neither: the backup
    file and its directory are synced, and the restored rows went through the log, which restore flushes."""
    from kvstore.engine.fs import MemoryFS
    fs = MemoryFS()
    db = kvstore.open("/db", durability=durability, fs=fs)
    try:
        table = indexed_table(db)
        fill(table, 60, g="x", l="y")
        expected = items_of(table)
        client = db.meta.client
        arn = backup_arn(client, table, "cut")
        target = unique_name()
        client.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
        after = fs.after_crash("drop")                     # the machine loses power here
    finally:
        db.close()
    with kvstore.open("/db", fs=after) as db:
        assert [s["BackupArn"] for s in db.meta.client.list_backups()["BackupSummaries"]] == [arn]
        restored = db.Table(target)
        assert items_of(restored) == expected
        assert restored.restore_summary["RestoreInProgress"] is False
        db.engine.tables[target]._check()


def test_a_restore_cut_short_leaves_no_table_and_can_be_retried(tmp_path, monkeypatch):
    """A restore that stopped after loading some rows (the process died before its last catalog record)
    leaves a table saying RestoreInProgress in the log; the next open deletes it, so nothing half-made
    is ever read, and the same restore then runs to the end."""
    path = str(tmp_path / "db")
    with kvstore.open(path) as db:
        table = indexed_table(db)
        fill(table, 40, g="x", l="y")
        expected = items_of(table)
        arn = backup_arn(db.meta.client, table, "cut-short")

        def dies(*args, **kwargs):
            raise SystemExit("the process stops before the restore's last record")
        monkeypatch.setattr(db.engine, "save_meta", dies)
        target = unique_name()
        with pytest.raises(SystemExit):
            db.meta.client.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
        monkeypatch.undo()
    with kvstore.open(path) as db:
        assert target not in db.meta.client.list_tables()["TableNames"]
        db.meta.client.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
        assert items_of(db.Table(target)) == expected
    with kvstore.open(path) as db:
        assert items_of(db.Table(target)) == expected
