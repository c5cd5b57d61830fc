"""Restoring a deleted table on every face: the SYSTEM backup DynamoDB keeps of a table deleted with PITR on.

DynamoDB (developer guide, "Deleting a table with point-in-time recovery
enabled"): the deletion makes a *system backup* named
``<table>$DeletedTableBackup``, kept 35 days; it restores the table as it was
just before the deletion, and only to that point.  ListBackups shows it with
``BackupType`` SYSTEM (not under the default USER), with its
``BackupExpiryDateTime``.
"""

import pytest

from .helpers import create_table, raises, unique_name
from .pitr_helpers import at, enable, epoch, face_db  # noqa: F401 (face_db: fixture)

DAY = 86400


def _items(dynamodb, name):
    return sorted((i["pk"], int(i["v"])) for i in dynamodb.Table(name).scan()["Items"])


def _delete_with_pitr(dynamodb, client, face_db):
    """A PITR table with three items, its last write a second before it is deleted; returns its description."""
    table = create_table(dynamodb)
    enable(client, table.name)
    for i in range(3):
        table.put_item(Item={"pk": f"k{i}", "v": i})
    face_db.clock.advance(1)
    table.update_item(Key={"pk": "k0"}, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": 100})
    described = client.describe_table(TableName=table.name)["Table"]
    face_db.clock.advance(1)
    client.delete_table(TableName=table.name)
    return described


def _system_backups(client, **kwargs):
    return client.list_backups(BackupType="SYSTEM", **kwargs)["BackupSummaries"]


def test_deleting_a_pitr_table_leaves_a_system_backup(dynamodb, client, face_db):
    source = _delete_with_pitr(dynamodb, client, face_db)
    deleted_at = face_db.clock()
    [summary] = _system_backups(client)
    assert summary["TableName"] == source["TableName"]
    assert summary["TableId"] == source["TableId"]
    assert summary["TableArn"] == source["TableArn"]
    assert summary["BackupName"] == f"{source['TableName']}$DeletedTableBackup"
    assert summary["BackupType"] == "SYSTEM"
    assert summary["BackupStatus"] == "AVAILABLE"
    assert epoch(summary["BackupCreationDateTime"]) == pytest.approx(deleted_at)
    assert epoch(summary["BackupExpiryDateTime"]) == pytest.approx(deleted_at + 35 * DAY)
    assert summary["BackupSizeBytes"] > 0
    described = client.describe_backup(BackupArn=summary["BackupArn"])["BackupDescription"]
    assert described["BackupDetails"]["BackupType"] == "SYSTEM"
    assert epoch(described["BackupDetails"]["BackupExpiryDateTime"]) == pytest.approx(deleted_at + 35 * DAY)
    assert described["SourceTableDetails"]["ItemCount"] == 3
    assert described["SourceTableDetails"]["TableId"] == source["TableId"]


def test_list_backups_shows_system_backups_under_system_and_all_only(dynamodb, client, face_db):
    kept = create_table(dynamodb)
    user = client.create_backup(TableName=kept.name, BackupName="mine")["BackupDetails"]["BackupArn"]
    face_db.clock.advance(1)
    _delete_with_pitr(dynamodb, client, face_db)
    [system] = [s["BackupArn"] for s in _system_backups(client)]
    assert [s["BackupArn"] for s in client.list_backups()["BackupSummaries"]] == [user]
    assert [s["BackupArn"] for s in client.list_backups(BackupType="USER")["BackupSummaries"]] == [user]
    assert [s["BackupArn"] for s in client.list_backups(BackupType="ALL")["BackupSummaries"]] == [user, system]
    assert client.list_backups(BackupType="AWS_BACKUP")["BackupSummaries"] == []
    assert "BackupExpiryDateTime" not in client.list_backups()["BackupSummaries"][0]


def test_the_system_backup_restores_the_table_as_it_was_just_before_the_deletion(dynamodb, client, face_db):
    source = _delete_with_pitr(dynamodb, client, face_db)
    [summary] = _system_backups(client, TableName=source["TableName"])
    description = client.restore_table_from_backup(TargetTableName=source["TableName"],
                                                   BackupArn=summary["BackupArn"])["TableDescription"]
    assert description["TableStatus"] == "ACTIVE"
    assert description["RestoreSummary"]["SourceBackupArn"] == summary["BackupArn"]
    assert description["RestoreSummary"]["SourceTableArn"] == source["TableArn"]
    assert description["TableId"] != source["TableId"]
    assert _items(dynamodb, source["TableName"]) == [("k0", 100), ("k1", 1), ("k2", 2)]
    pitr = client.describe_continuous_backups(TableName=source["TableName"])["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"


def test_a_deleted_table_cannot_be_restored_to_a_point_in_time(dynamodb, client, face_db):
    """Only the moment before deletion is restorable (from the SYSTEM backup): its PITR history went with it."""
    source = _delete_with_pitr(dynamodb, client, face_db)
    with raises("TableNotFoundException", f"Table not found: {source['TableName']}"):
        client.restore_table_to_point_in_time(SourceTableName=source["TableName"], TargetTableName=unique_name(),
                                              RestoreDateTime=at(face_db.clock() - 1.5))


def test_no_system_backup_without_pitr(dynamodb, client, face_db):
    never = create_table(dynamodb)
    never.put_item(Item={"pk": "a", "v": 1})
    turned_off = create_table(dynamodb)
    enable(client, turned_off.name)
    client.update_continuous_backups(TableName=turned_off.name,
                                     PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    client.delete_table(TableName=never.name)
    client.delete_table(TableName=turned_off.name)
    assert client.list_backups(BackupType="ALL")["BackupSummaries"] == []


def test_the_system_backup_expires_after_35_days(dynamodb, client, face_db):
    _delete_with_pitr(dynamodb, client, face_db)
    [summary] = _system_backups(client)
    face_db.clock.advance(35 * DAY - 1)
    assert _system_backups(client) == [summary]
    face_db.clock.advance(1)
    assert _system_backups(client) == []
    with raises("BackupNotFoundException", f"Backup not found: {summary['BackupArn']}"):
        client.describe_backup(BackupArn=summary["BackupArn"])
    with raises("BackupNotFoundException", f"Backup not found: {summary['BackupArn']}"):
        client.restore_table_from_backup(TargetTableName=unique_name(), BackupArn=summary["BackupArn"])
    face_db.engine.pitr.trim()                     # the retention job deletes it for good
    assert face_db.engine.backups.backups == {}


def test_a_system_backup_can_be_deleted(dynamodb, client, face_db):
    _delete_with_pitr(dynamodb, client, face_db)
    [summary] = _system_backups(client)
    details = client.delete_backup(BackupArn=summary["BackupArn"])["BackupDescription"]["BackupDetails"]
    assert details["BackupType"] == "SYSTEM"
    assert details["BackupStatus"] == "DELETED"
    assert _system_backups(client) == []


def test_each_deletion_of_a_pitr_table_has_its_own_system_backup(dynamodb, client, face_db):
    first = _delete_with_pitr(dynamodb, client, face_db)
    again = dynamodb.create_table(TableName=first["TableName"], KeySchema=first["KeySchema"],
                                  AttributeDefinitions=first["AttributeDefinitions"], BillingMode="PAY_PER_REQUEST")
    enable(client, again.name)
    again.put_item(Item={"pk": "only", "v": 7})
    face_db.clock.advance(1)
    client.delete_table(TableName=again.name)
    backups = _system_backups(client, TableName=first["TableName"])
    assert [b["BackupName"] for b in backups] == [f"{first['TableName']}$DeletedTableBackup"] * 2
    assert backups[0]["TableId"] == first["TableId"] != backups[1]["TableId"]
    target = unique_name()
    client.restore_table_from_backup(TargetTableName=target, BackupArn=backups[1]["BackupArn"])
    assert _items(dynamodb, target) == [("only", 7)]
