"""DeleteBackup: forget a backup; the answer is its description with status DELETED."""

import pytest

from kvstore.engine.backup import store

from .backup_helpers import MISSING_ARN, backup_arn, fill, items_of
from .helpers import create_table, raises, validation


def test_delete_backup_answers_its_description_as_deleted_and_forgets_it(dynamodb, client):
    table = create_table(dynamodb)
    arn = backup_arn(client, table, "gone")
    description = client.delete_backup(BackupArn=arn)["BackupDescription"]
    assert description["BackupDetails"]["BackupStatus"] == "DELETED"
    assert description["BackupDetails"]["BackupArn"] == arn
    assert description["SourceTableDetails"]["TableName"] == table.name
    assert "SourceTableFeatureDetails" in description
    with raises("BackupNotFoundException", f"Backup not found: {arn}"):
        client.describe_backup(BackupArn=arn)
    assert arn not in [s["BackupArn"] for s in client.list_backups()["BackupSummaries"]]
    with raises("BackupNotFoundException", f"Backup not found: {arn}"):
        client.delete_backup(BackupArn=arn)


def test_deleting_a_backup_leaves_the_table_and_other_backups(dynamodb, client):
    table = create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"))
    fill(table, 3)
    first, second = backup_arn(client, table, "one"), backup_arn(client, table, "two")
    client.delete_backup(BackupArn=first)
    assert [s["BackupArn"] for s in client.list_backups(TableName=table.name)["BackupSummaries"]] == [second]
    assert len(items_of(table)) == 3


def test_delete_backup_while_it_is_restoring_is_backup_in_use(db):
    """A backup being restored cannot be deleted."""
    table = create_table(db)
    client = db.meta.client
    arn = backup_arn(client, table, "busy")
    backup = store(db.engine).get(arn)
    backup.restoring += 1                        # what a restore in progress holds
    try:
        with raises("BackupInUseException",
                    "There is another ongoing conflicting backup control plane operation on the table. "
                    "The backup is either being created, deleted or restored to a table."):
            client.delete_backup(BackupArn=arn)
    finally:
        backup.restoring -= 1
    client.delete_backup(BackupArn=arn)


# -- validation ---------------------------------------------------------------------------------

def test_unknown_backup_is_backup_not_found(client):
    with raises("BackupNotFoundException", f"Backup not found: {MISSING_ARN}"):
        client.delete_backup(BackupArn=MISSING_ARN)


def test_backup_arn_is_required(client):
    with validation("1 validation error detected: Value null at 'backupArn' failed to satisfy constraint: "
                    "Member must not be null"):
        client.delete_backup()


@pytest.mark.parametrize("arn, constraint", [
    ("arn:short", "Member must have length greater than or equal to 37"),
    ("arn:" + "x" * 1021, "Member must have length less than or equal to 1024"),
])
def test_backup_arn_is_37_to_1024_characters(client, arn, constraint):
    with validation(f"1 validation error detected: Value '{arn}' at 'backupArn' failed to satisfy "
                    f"constraint: {constraint}"):
        client.delete_backup(BackupArn=arn)
