"""ListBackups: backups oldest first, filtered by table, creation time and type, in pages."""

import pytest

import kvstore

from .backup_helpers import FakeClock, backups_a_second_apart
from .helpers import create_table, unique_name, validation


@pytest.fixture
def clocked():
    """An embedded database on a clock the test sets (backup creation times)."""
    clock = FakeClock()
    with kvstore.open(":memory:", clock=clock) as database:
        yield database, clock


def test_list_backups_summaries(dynamodb, client):
    """BackupSummaries carry the table's name, id and ARN and the backup's details, oldest first."""
    table = create_table(dynamodb)
    arns = [client.create_backup(TableName=table.name, BackupName=f"b-{i}")["BackupDetails"]["BackupArn"]
            for i in range(3)]
    response = client.list_backups(TableName=table.name)
    assert "LastEvaluatedBackupArn" not in response
    summaries = response["BackupSummaries"]
    assert [s["BackupArn"] for s in summaries] == arns
    first = summaries[0]
    assert set(first) == {"TableName", "TableId", "TableArn", "BackupArn", "BackupName", "BackupCreationDateTime",
                          "BackupStatus", "BackupType", "BackupSizeBytes"}
    assert first["TableName"] == table.name
    assert first["TableArn"] == table.table_arn
    assert first["TableId"] == table.table_id
    assert first["BackupName"] == "b-0"
    assert first["BackupStatus"] == "AVAILABLE"
    assert first["BackupType"] == "USER"
    assert first["BackupSizeBytes"] >= 0


def test_no_backups_is_an_empty_list(client):
    assert client.list_backups()["BackupSummaries"] == []


def test_list_backups_filters_by_table_time_and_type(clocked):
    """TableName (name or ARN), TimeRangeLowerBound (inclusive), TimeRangeUpperBound (exclusive), BackupType."""
    db, clock = clocked
    client = db.meta.client
    a, b = create_table(db), create_table(db)
    made = {}
    for t in (0, 10, 20):
        clock.now = 1_700_000_000.0 + t
        made[(a.name, t)] = client.create_backup(TableName=a.name, BackupName="a-b")["BackupDetails"]["BackupArn"]
        made[(b.name, t)] = client.create_backup(TableName=b.name, BackupName="b-b")["BackupDetails"]["BackupArn"]

    def listed(**request):
        return [s["BackupArn"] for s in client.list_backups(**request)["BackupSummaries"]]

    assert len(listed()) == 6
    assert listed(TableName=a.name) == [made[(a.name, t)] for t in (0, 10, 20)]
    assert listed(TableName=b.table_arn) == [made[(b.name, t)] for t in (0, 10, 20)]
    assert listed(TableName=a.name, TimeRangeLowerBound=1_700_000_010, TimeRangeUpperBound=1_700_000_020) == \
        [made[(a.name, 10)]]
    assert listed(TableName=a.name, TimeRangeLowerBound=1_700_000_010) == [made[(a.name, t)] for t in (10, 20)]
    assert listed(TableName=a.name, TimeRangeUpperBound=1_700_000_010) == [made[(a.name, 0)]]
    assert len(listed(BackupType="ALL")) == len(listed(BackupType="USER")) == 6
    assert listed(BackupType="SYSTEM") == listed(BackupType="AWS_BACKUP") == []
    assert listed(TableName=unique_name()) == []


def test_list_backups_pages_with_limit(clocked):
    """Limit cuts a page; LastEvaluatedBackupArn continues it as ExclusiveStartBackupArn; the last page has none."""
    db, clock = clocked
    client = db.meta.client
    arns = backups_a_second_apart(db, clock, create_table(db), 5)
    seen, start, pages = [], None, 0
    while True:
        request = {"Limit": 2}
        if start:
            request["ExclusiveStartBackupArn"] = start
        page = client.list_backups(**request)
        pages += 1
        seen += [s["BackupArn"] for s in page["BackupSummaries"]]
        start = page.get("LastEvaluatedBackupArn")
        if start is None:
            break
        assert start == seen[-1]
    assert seen == arns
    assert pages == 3


def test_list_backups_continues_after_a_deleted_backup(clocked):
    """A page may start after a backup deleted since it was listed."""
    db, clock = clocked
    client = db.meta.client
    arns = backups_a_second_apart(db, clock, create_table(db), 3)
    client.delete_backup(BackupArn=arns[0])
    page = client.list_backups(ExclusiveStartBackupArn=arns[0])
    assert [s["BackupArn"] for s in page["BackupSummaries"]] == arns[1:]


# -- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("request_, message", [
    ({"Limit": 0}, "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"),
    ({"Limit": 101}, ("Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or "
                      "equal to 100")),
    ({"BackupType": "MINE"}, ("Value 'MINE' at 'backupType' failed to satisfy constraint: Member must satisfy enum "
                              "value set: [USER, SYSTEM, AWS_BACKUP, ALL]")),
    ({"TableName": "x" * 1025}, (f"Value '{'x' * 1025}' at 'tableName' failed to satisfy constraint: Member must "
                                 "have length less than or equal to 1024")),
    ({"ExclusiveStartBackupArn": "arn:short"}, ("Value 'arn:short' at 'exclusiveStartBackupArn' failed to satisfy "
                                                "constraint: Member must have length greater than or equal to 37")),
])
def test_list_backups_constraints(client, request_, message):
    with validation("1 validation error detected: " + message):
        client.list_backups(**request_)


def test_list_backups_reports_every_constraint_together(client):
    with validation("2 validation errors detected: Value '0' at 'limit' failed to satisfy constraint: Member must "
                    "have value greater than or equal to 1; Value 'MINE' at 'backupType' failed to satisfy "
                    "constraint: Member must satisfy enum value set: [USER, SYSTEM, AWS_BACKUP, ALL]"):
        client.list_backups(Limit=0, BackupType="MINE")
