"""A GSI with a multi-attribute key survives every way a table is persisted or copied.

Reopening (log replay), a checkpoint then reopening, backup + restore and
export + import each must give back the index: its KeySchema in order, its
entries (sparse), their order, and its write-time type checks.
"""

from decimal import Decimal

import pytest

import kvstore
from kvstore import transfer
from kvstore.errors import ValidationException

KEY_SCHEMA = [{"AttributeName": "h1", "KeyType": "HASH"}, {"AttributeName": "h2", "KeyType": "HASH"},
              {"AttributeName": "r1", "KeyType": "RANGE"}, {"AttributeName": "r2", "KeyType": "RANGE"}]
CREATE = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t}
                             for n, t in (("pk", "S"), ("h1", "S"), ("h2", "N"), ("r1", "N"), ("r2", "S"))],
    "BillingMode": "PAY_PER_REQUEST",
    "GlobalSecondaryIndexes": [{"IndexName": "idx", "KeySchema": KEY_SCHEMA,
                                "Projection": {"ProjectionType": "KEYS_ONLY"}}],
}
ROWS = [{"pk": f"p{i}", "h1": "x", "h2": Decimal(i % 2), "r1": Decimal(10 - i), "r2": f"s{i % 3}", "other": i}
        for i in range(12)]
SPARSE = {"pk": "lacks-r2", "h1": "x", "h2": Decimal(0), "r1": Decimal(1)}


def fill(db, name="things"):
    table = db.create_table(TableName=name, **CREATE)
    with table.batch_writer() as batch:
        for row in ROWS + [SPARSE]:
            batch.put_item(Item=row)
    return table


def expected_partition(h2):
    rows = sorted((r for r in ROWS if r["h2"] == h2), key=lambda r: (r["r1"], r["r2"]))
    return [{k: r[k] for k in ("pk", "h1", "h2", "r1", "r2")} for r in rows]


def check(db, name="things", indexed=len(ROWS)):
    """The index is described, filled, ordered and enforced as it was before."""
    table = db.Table(name)
    description = db.meta.client.describe_table(TableName=name)["Table"]
    assert description["GlobalSecondaryIndexes"][0]["KeySchema"] == KEY_SCHEMA
    assert description["GlobalSecondaryIndexes"][0]["ItemCount"] == indexed
    for h2 in (0, 1):
        items = table.query(IndexName="idx", KeyConditionExpression="h1 = :a AND h2 = :b",
                            ExpressionAttributeValues={":a": "x", ":b": h2})["Items"]
        assert items == expected_partition(h2)
    page = table.query(IndexName="idx", KeyConditionExpression="h1 = :a AND h2 = :b AND r1 > :r",
                       ExpressionAttributeValues={":a": "x", ":b": 0, ":r": 5}, Limit=1)
    assert page["LastEvaluatedKey"] == {"pk": "p4", "h1": "x", "h2": 0, "r1": 6, "r2": "s1"}
    with pytest.raises(ValidationException, match="Type mismatch for Index Key r2 Expected: S Actual: N"):
        table.put_item(Item={"pk": "bad", "r2": 1})
    db.engine.tables[name]._check()


def test_reopen_replays_the_log(tmp_path):
    with kvstore.open(str(tmp_path), durability="sync") as db:
        fill(db)
    with kvstore.open(str(tmp_path)) as db:
        check(db)


def test_checkpoint_then_reopen(tmp_path):
    with kvstore.open(str(tmp_path), durability="sync") as db:
        fill(db)
        db.checkpoint()
        db.Table("things").put_item(Item={"pk": "after", "h1": "y", "h2": 1, "r1": 1, "r2": "a"})
    with kvstore.open(str(tmp_path)) as db:
        check(db, indexed=len(ROWS) + 1)
        assert db.Table("things").query(IndexName="idx", KeyConditionExpression="h1 = :a AND h2 = :b",
                                   ExpressionAttributeValues={":a": "y", ":b": 1})["Count"] == 1


def test_backup_then_restore(tmp_path):
    with kvstore.open(str(tmp_path), durability="sync") as db:
        fill(db)
        arn = db.meta.client.create_backup(TableName="things", BackupName="nightly")["BackupDetails"]["BackupArn"]
        db.meta.client.restore_table_from_backup(TargetTableName="restored", BackupArn=arn)
        check(db, "restored")
    with kvstore.open(str(tmp_path)) as db:
        check(db, "restored")


@pytest.mark.parametrize("create_from_export", [True, False])
def test_export_then_import(tmp_path, create_from_export):
    with kvstore.open(":memory:") as source:
        fill(source)
        exported = transfer.export_table(source, "things", tmp_path / "export")
    with kvstore.open(":memory:") as target:
        if create_from_export:
            report = transfer.import_table(target, "things", exported["ExportDirectory"], create_from_export=True)
        else:
            report = transfer.import_table(target, "things", exported["ExportDirectory"], create=CREATE)
        assert report["ImportedItemCount"] == len(ROWS) + 1 and report["ErrorCount"] == 0
        check(target)
