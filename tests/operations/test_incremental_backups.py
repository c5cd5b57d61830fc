"""Incremental backups seen through DynamoDB's backup actions, on every face, on a directory database.

CreateBackup after a few changes stores only those (the rest is shared with
the earlier backups of the table); DeleteBackup of the first, a middle or
the last backup leaves every other one restoring, through
RestoreTableFromBackup, to exactly the items the table had at its time.
"""

import random

import pytest

import kvstore
from kvstore.engine.backup import store

from .backup_helpers import items_of
from .helpers import create_table, raises, unique_name


@pytest.fixture
def face_db(tmp_path):
    with kvstore.open(str(tmp_path / "db")) as db:
        yield db


def test_backups_share_unchanged_items_and_survive_any_deletion_order(dynamodb, face_db):
    client = dynamodb.meta.client
    table = create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"))
    with table.batch_writer() as batch:
        for i in range(400):
            batch.put_item(Item={"pk": f"p{i % 13}", "sk": i, "pad": "a" * 120})
    rng = random.Random(16)
    expected = {}
    for round_ in range(6):
        if round_:
            for _ in range(8):                              # a few puts, updates and deletes between backups
                i = rng.randrange(420)
                choice = rng.random()
                if choice < 0.4:
                    table.put_item(Item={"pk": f"p{i % 13}", "sk": i, "pad": f"r{round_}"})
                elif choice < 0.7:
                    table.update_item(Key={"pk": f"p{i % 13}", "sk": i}, UpdateExpression="SET v = :v",
                                      ExpressionAttributeValues={":v": round_})
                else:
                    table.delete_item(Key={"pk": f"p{i % 13}", "sk": i})
        arn = client.create_backup(TableName=table.name, BackupName=f"round-{round_}")["BackupDetails"]["BackupArn"]
        expected[arn] = items_of(table)
    backups = [store(face_db.engine).get(arn) for arn in expected]
    full = backups[0].stored_bytes
    assert all(b.stored_bytes < full * 0.2 for b in backups[1:])          # only the changes were stored
    listed = client.list_backups(TableName=table.name)["BackupSummaries"]
    assert [s["BackupArn"] for s in listed] == list(expected)
    assert all(s["BackupSizeBytes"] > full * 0.5 for s in listed)         # the table's size, as in DynamoDB

    arns = list(expected)
    for victim in (arns[0], arns[3], arns[-1]):                            # the first, a middle one, the last
        description = client.delete_backup(BackupArn=victim)["BackupDescription"]
        assert description["BackupDetails"]["BackupStatus"] == "DELETED"
        del expected[victim]
        for arn, items in expected.items():
            target = unique_name()
            client.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
            assert items_of(dynamodb.Table(target)) == items
            dynamodb.Table(target).delete()
        with raises("BackupNotFoundException", f"Backup not found: {victim}"):
            client.describe_backup(BackupArn=victim)
    assert [s["BackupArn"] for s in client.list_backups(TableName=table.name)["BackupSummaries"]] == list(expected)


def test_a_backup_of_an_unchanged_table_restores_and_outlives_its_parent(dynamodb, face_db):
    client = dynamodb.meta.client
    table = create_table(dynamodb, hash_key=("pk", "S"))
    for i in range(50):
        table.put_item(Item={"pk": f"k{i}", "n": i})
    first = client.create_backup(TableName=table.name, BackupName="first")["BackupDetails"]["BackupArn"]
    second = client.create_backup(TableName=table.name, BackupName="second")["BackupDetails"]["BackupArn"]
    assert store(face_db.engine).get(second).runs == store(face_db.engine).get(first).runs
    client.delete_backup(BackupArn=first)
    target = unique_name()
    client.restore_table_from_backup(TargetTableName=target, BackupArn=second)
    assert items_of_hash(dynamodb.Table(target)) == items_of_hash(table)


def items_of_hash(table):
    return sorted(table.scan()["Items"], key=lambda i: i["pk"])
