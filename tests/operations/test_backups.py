"""On-demand backups: CreateBackup, DescribeBackup, ListBackups, DeleteBackup, RestoreTableFromBackup.

DynamoDB takes a backup of a whole table at one point in time without
affecting the table, keeps it until DeleteBackup, and restores it into a new
table with the source's key schema, indexes and billing (or the ``*Override``
members), whose description carries a ``RestoreSummary``.

Shape and error tests run on every face (``dynamodb`` fixture: embedded API,
in-process boto3 hook, HTTP server) through a boto3-shaped client; the
consistency, persistence and white-box tests run on the embedded database.
"""

import os
import re
import threading
import time
from pathlib import Path

import pytest

import kvstore
from kvstore.engine.backup import store

from .helpers import as_epoch, create_table, index, raises, scan_all, unique_name, validation

ARN_RE = r"^arn:aws:dynamodb:us-east-1:123456789012:table/{}/backup/\d{{14}}-[0-9a-f]{{8}}$"
MISSING_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/nope/backup/01700000000000-deadbeef"


class EmbeddedClient:
    """The boto3 client methods of the backup actions (``create_backup`` ...) over an embedded database."""

    def __init__(self, db):
        self.db = db

    def __getattr__(self, name):
        action = "".join(part.title() for part in name.split("_"))
        return lambda **request: self.db._call(action, request)


def client_of(db):
    if isinstance(db, kvstore.Database):
        return EmbeddedClient(db)
    return db.meta.client


@pytest.fixture
def client(dynamodb):
    return client_of(dynamodb)


def fill(table, n, **extra):
    with table.batch_writer() as batch:
        for i in range(n):
            batch.put_item(Item={"pk": f"p{i % 7}", "sk": i, **extra})


def items_of(table):
    items, _ = scan_all(table)
    return sorted(items, key=lambda i: (i["pk"], i["sk"]))


def indexed_table(db, **extra):
    return create_table(db, hash_key=("pk", "S"), range_key=("sk", "N"),
                        gsis=[index("by_g", ("g", "S")), index("by_h", ("h", "N"), projection="KEYS_ONLY")],
                        lsis=[index("by_l", ("pk", "S"), ("l", "S"))], **extra)


# -- CreateBackup / DescribeBackup ----------------------------------------------------------


def test_create_backup_answers_available_user_backup_details(dynamodb, client):
    """CreateBackup answers BackupDetails: an ARN under the table's ARN, the name, size, status and type."""
    table = create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"))
    fill(table, 10)
    before = time.time()
    details = client.create_backup(TableName=table.name, BackupName="nightly")["BackupDetails"]
    assert re.match(ARN_RE.format(table.name), details["BackupArn"])
    assert details["BackupName"] == "nightly"
    assert details["BackupStatus"] == "AVAILABLE"
    assert details["BackupType"] == "USER"
    assert details["BackupSizeBytes"] > 0
    assert before - 1 <= as_epoch(details["BackupCreationDateTime"]) <= time.time() + 1


def test_describe_backup_shows_the_source_table_as_it_was(dynamodb, client):
    """BackupDescription: BackupDetails, SourceTableDetails (schema, counts) and SourceTableFeatureDetails (indexes)."""
    table = indexed_table(dynamodb)
    fill(table, 20, g="x", l="y")
    arn = client.create_backup(TableName=table.name, BackupName="b-1")["BackupDetails"]["BackupArn"]
    fill(table, 40, g="x", l="y")                          # later writes change the table, not the backup
    description = client.describe_backup(BackupArn=arn)["BackupDescription"]
    assert description["BackupDetails"]["BackupArn"] == arn
    assert description["BackupDetails"]["BackupStatus"] == "AVAILABLE"
    source = description["SourceTableDetails"]
    assert source["TableName"] == table.name
    assert source["TableArn"] == table.table_arn
    assert source["TableId"] == table.table_id
    assert source["KeySchema"] == table.key_schema
    assert source["ItemCount"] == 20
    assert source["BillingMode"] == "PAY_PER_REQUEST"
    assert source["ProvisionedThroughput"] == {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    assert as_epoch(source["TableCreationDateTime"]) == pytest.approx(as_epoch(table.creation_date_time), abs=0.01)
    features = description["SourceTableFeatureDetails"]
    assert sorted(g["IndexName"] for g in features["GlobalSecondaryIndexes"]) == ["by_g", "by_h"]
    assert [i["IndexName"] for i in features["LocalSecondaryIndexes"]] == ["by_l"]
    keys_only = next(g for g in features["GlobalSecondaryIndexes"] if g["IndexName"] == "by_h")
    assert keys_only["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_create_backup_accepts_the_table_arn(dynamodb, client):
    """TableName may be the table's ARN."""
    table = create_table(dynamodb)
    details = client.create_backup(TableName=table.table_arn, BackupName="by-arn")["BackupDetails"]
    assert re.match(ARN_RE.format(table.name), details["BackupArn"])


def test_create_backup_of_a_missing_table_is_table_not_found(dynamodb, client):
    name = unique_name()
    with raises("TableNotFoundException", f"Table not found: {name}"):
        client.create_backup(TableName=name, BackupName="b-1")


@pytest.mark.parametrize("name, constraint", [
    ("ab", "Member must have length greater than or equal to 3"),
    ("x" * 256, "Member must have length less than or equal to 255"),
    ("no spaces", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
])
def test_backup_name_constraints(db, name, constraint):
    """BackupName is 3 to 255 characters of [a-zA-Z0-9_.-]."""
    table = create_table(db)
    with validation(f"1 validation error detected: Value '{name}' at 'backupName' failed to satisfy "
                    f"constraint: {constraint}"):
        EmbeddedClient(db).create_backup(TableName=table.name, BackupName=name)


def test_create_backup_requires_both_names(db):
    with validation("2 validation errors detected: Value null at 'tableName' failed to satisfy constraint: "
                    "Member must not be null; Value null at 'backupName' failed to satisfy constraint: "
                    "Member must not be null"):
        EmbeddedClient(db).create_backup()


def test_short_backup_arn_is_a_constraint_error(db):
    with validation("1 validation error detected: Value 'arn:short' at 'backupArn' failed to satisfy "
                    "constraint: Member must have length greater than or equal to 37"):
        EmbeddedClient(db).describe_backup(BackupArn="arn:short")


@pytest.mark.parametrize("action", ["describe_backup", "delete_backup"])
def test_unknown_backup_is_backup_not_found(client, action):
    with raises("BackupNotFoundException", f"Backup not found: {MISSING_ARN}"):
        getattr(client, action)(BackupArn=MISSING_ARN)


# -- DeleteBackup -----------------------------------------------------------------------------


def test_delete_backup_answers_its_description_as_deleted_and_forgets_it(dynamodb, client):
    table = create_table(dynamodb)
    arn = client.create_backup(TableName=table.name, BackupName="gone")["BackupDetails"]["BackupArn"]
    description = client.delete_backup(BackupArn=arn)["BackupDescription"]
    assert description["BackupDetails"]["BackupStatus"] == "DELETED"
    assert description["SourceTableDetails"]["TableName"] == table.name
    with raises("BackupNotFoundException", f"Backup not found: {arn}"):
        client.describe_backup(BackupArn=arn)
    assert arn not in [s["BackupArn"] for s in client.list_backups()["BackupSummaries"]]


def test_backup_outlives_its_table(dynamodb, client):
    """Deleting the source table keeps its backups; they still restore."""
    table = create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"))
    fill(table, 5)
    arn = client.create_backup(TableName=table.name, BackupName="keep")["BackupDetails"]["BackupArn"]
    table.delete()
    table.wait_until_not_exists()
    assert client.describe_backup(BackupArn=arn)["BackupDescription"]["SourceTableDetails"]["ItemCount"] == 5
    target = unique_name()
    client.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    assert len(items_of(dynamodb.Table(target))) == 5


def test_delete_backup_while_it_is_restoring_is_backup_in_use(db):
    """A backup being restored cannot be deleted."""
    table = create_table(db)
    client = EmbeddedClient(db)
    arn = client.create_backup(TableName=table.name, BackupName="busy")["BackupDetails"]["BackupArn"]
    backup = store(db.engine).get(arn)
    backup.restoring += 1                        # what a restore in progress holds
    try:
        with raises("BackupInUseException"):
            client.delete_backup(BackupArn=arn)
    finally:
        backup.restoring -= 1
    client.delete_backup(BackupArn=arn)


# -- ListBackups -------------------------------------------------------------------------------


def test_list_backups_summaries(dynamodb, client):
    """BackupSummaries carry the table's name, id and ARN and the backup's details, oldest first."""
    table = create_table(dynamodb)
    arns = [client.create_backup(TableName=table.name, BackupName=f"b-{i}")["BackupDetails"]["BackupArn"]
            for i in range(3)]
    summaries = [s for s in client.list_backups(TableName=table.name)["BackupSummaries"]]
    assert [s["BackupArn"] for s in summaries] == arns
    first = summaries[0]
    assert first["TableName"] == table.name
    assert first["TableArn"] == table.table_arn
    assert first["TableId"] == table.table_id
    assert first["BackupName"] == "b-0"
    assert first["BackupStatus"] == "AVAILABLE"
    assert first["BackupType"] == "USER"
    assert first["BackupSizeBytes"] >= 0
    assert "BackupCreationDateTime" in first


class FakeClock:
    def __init__(self, now=1_700_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clocked():
    clock = FakeClock()
    with kvstore.open(":memory:", clock=clock) as database:
        yield database, clock


def test_list_backups_filters_by_table_time_and_type(clocked):
    """TableName (name or ARN), TimeRangeLowerBound (inclusive), TimeRangeUpperBound (exclusive), BackupType."""
    db, clock = clocked
    client = EmbeddedClient(db)
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
    client = EmbeddedClient(db)
    table = create_table(db)
    arns = []
    for i in range(5):
        clock.now += 1
        arns.append(client.create_backup(TableName=table.name, BackupName=f"b-{i}")["BackupDetails"]["BackupArn"])
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
    client = EmbeddedClient(db)
    table = create_table(db)
    arns = []
    for i in range(3):
        clock.now += 1
        arns.append(client.create_backup(TableName=table.name, BackupName=f"b-{i}")["BackupDetails"]["BackupArn"])
    client.delete_backup(BackupArn=arns[0])
    page = client.list_backups(ExclusiveStartBackupArn=arns[0])
    assert [s["BackupArn"] for s in page["BackupSummaries"]] == arns[1:]


@pytest.mark.parametrize("request_, message", [
    ({"Limit": 0}, "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"),
    ({"Limit": 101}, ("Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or "
                      "equal to 100")),
    ({"BackupType": "MINE"}, ("Value 'MINE' at 'backupType' failed to satisfy constraint: Member must satisfy enum "
                              "value set: [USER, SYSTEM, AWS_BACKUP, ALL]")),
])
def test_list_backups_constraints(db, request_, message):
    with validation("1 validation error detected: " + message):
        EmbeddedClient(db).list_backups(**request_)


# -- RestoreTableFromBackup ----------------------------------------------------------------------


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
    arn = client.create_backup(TableName=source.name, BackupName="before")["BackupDetails"]["BackupArn"]
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


def test_restore_overrides_billing_and_drops_indexes(dynamodb, client):
    """BillingModeOverride / ProvisionedThroughputOverride set billing; an empty GSI override drops every GSI."""
    source = indexed_table(dynamodb)
    fill(source, 6, g="x", l="y")
    arn = client.create_backup(TableName=source.name, BackupName="o-1")["BackupDetails"]["BackupArn"]
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
    arn = client.create_backup(TableName=source.name, BackupName="o-2")["BackupDetails"]["BackupArn"]
    target = unique_name()
    spec, _ = index("only_h", ("h", "N"), projection="KEYS_ONLY")
    description = client.restore_table_from_backup(TargetTableName=target, BackupArn=arn,
                                                   GlobalSecondaryIndexOverride=[spec])["TableDescription"]
    assert [(g["IndexName"], g["ItemCount"]) for g in description["GlobalSecondaryIndexes"]] == [("only_h", 8)]


def test_restore_to_an_existing_name_is_table_already_exists(dynamodb, client):
    table = create_table(dynamodb)
    arn = client.create_backup(TableName=table.name, BackupName="dup")["BackupDetails"]["BackupArn"]
    with raises("TableAlreadyExistsException", f"Table already exists: {table.name}"):
        client.restore_table_from_backup(TargetTableName=table.name, BackupArn=arn)


def test_restore_of_an_unknown_backup_is_backup_not_found(client):
    with raises("BackupNotFoundException", f"Backup not found: {MISSING_ARN}"):
        client.restore_table_from_backup(TargetTableName=unique_name(), BackupArn=MISSING_ARN)


def test_restore_target_name_constraints(db):
    table = create_table(db)
    client = EmbeddedClient(db)
    arn = client.create_backup(TableName=table.name, BackupName="names")["BackupDetails"]["BackupArn"]
    with validation("1 validation error detected: Value 'a b' at 'targetTableName' failed to satisfy constraint: "
                    "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"):
        client.restore_table_from_backup(TargetTableName="a b", BackupArn=arn)


# -- consistency ------------------------------------------------------------------------------------


def test_backup_is_a_point_in_time_copy_while_writes_continue(db):
    """A writer inserts keys 0, 1, 2, ... in order without pause; every backup taken meanwhile holds
    exactly a prefix 0..n-1 of them (no later key without every earlier one), although the keys
    hash to every partition of the table."""
    table = create_table(db, hash_key=("k", "N"))
    client = EmbeddedClient(db)
    stop = threading.Event()
    started = threading.Event()
    written = [0]

    def writer():
        i = 0
        while not stop.is_set():
            table.put_item(Item={"k": i})
            i += 1
            written[0] = i
            if i == 200:
                started.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert started.wait(30)
        arns = [client.create_backup(TableName=table.name, BackupName=f"pit-{n}")["BackupDetails"]["BackupArn"]
                for n in range(5)]
    finally:
        stop.set()
        thread.join()
    counts = []
    for arn in arns:
        backup = store(db.engine).get(arn)
        keys = sorted(int(item["k"]) for item in _backup_items(db, backup))
        assert keys == list(range(len(keys))), "the backup is not a prefix of the writes"
        assert backup.item_count == len(keys)
        counts.append(len(keys))
    assert counts == sorted(counts)
    assert counts[0] >= 200
    assert counts[-1] <= written[0]


def _backup_items(db, backup):
    from kvstore import _core
    for chunk in store(db.engine).iter_rows(backup):
        for _key, packed in chunk:
            yield _core.unpack_item(packed)


# -- directory databases ------------------------------------------------------------------------------


def test_backups_and_restored_tables_survive_reopening(tmp_path):
    """On a directory database a backup is a file under backups/; it, and a table restored from it,
    are there after the database is closed and opened again."""
    path = str(tmp_path / "db")
    with kvstore.open(path) as db:
        table = indexed_table(db)
        fill(table, 50, g="x", l="y")
        expected = items_of(table)
        client = EmbeddedClient(db)
        arn = client.create_backup(TableName=table.name, BackupName="durable")["BackupDetails"]["BackupArn"]
        gone = client.create_backup(TableName=table.name, BackupName="deleted")["BackupDetails"]["BackupArn"]
        client.delete_backup(BackupArn=gone)
        table.delete()
    assert [n for n in os.listdir(os.path.join(path, "backups")) if n.endswith(".backup")] != []
    target = unique_name()
    with kvstore.open(path) as db:
        client = EmbeddedClient(db)
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
    """A backup file whose bytes changed on disk is refused whole: InternalServerError, no table."""
    path = str(tmp_path / "db")
    with kvstore.open(path) as db:
        table = create_table(db, hash_key=("pk", "S"), range_key=("sk", "N"))
        fill(table, 100, pad="z" * 100)
        arn = EmbeddedClient(db).create_backup(TableName=table.name, BackupName="rot")["BackupDetails"]["BackupArn"]
    (name,) = [n for n in os.listdir(os.path.join(path, "backups")) if n.endswith(".backup")]
    file = os.path.join(path, "backups", name)
    data = bytearray(Path(file).read_bytes())
    data[len(data) // 2] ^= 0xFF
    Path(file).write_bytes(bytes(data))
    target = unique_name()
    with kvstore.open(path) as db:
        with raises("InternalServerError"):
            EmbeddedClient(db).restore_table_from_backup(TargetTableName=target, BackupArn=arn)
        assert target not in db.engine.tables


def test_unfinished_backup_file_is_dropped_on_open(tmp_path):
    """A ``.tmp`` file under backups/ is a backup that was never published: removed on open, never listed."""
    path = str(tmp_path / "db")
    with kvstore.open(path) as db:
        table = create_table(db)
        EmbeddedClient(db).create_backup(TableName=table.name, BackupName="real")
    leftover = os.path.join(path, "backups", "01700000000000-00000000.backup.tmp")
    Path(leftover).write_bytes(b"half a backup")
    with kvstore.open(path) as db:
        assert len(EmbeddedClient(db).list_backups()["BackupSummaries"]) == 1
    assert not os.path.exists(leftover)


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
        client = EmbeddedClient(db)
        arn = client.create_backup(TableName=table.name, BackupName="cut")["BackupDetails"]["BackupArn"]
        target = unique_name()
        client.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
        after = fs.after_crash("drop")                     # the machine loses power here
    finally:
        db.close()
    with kvstore.open("/db", fs=after) as db:
        assert [s["BackupArn"] for s in EmbeddedClient(db).list_backups()["BackupSummaries"]] == [arn]
        restored = db.Table(target)
        assert items_of(restored) == expected
        assert restored.restore_summary["RestoreInProgress"] is False
        db.engine.tables[target]._check()
