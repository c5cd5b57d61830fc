"""DeleteBackup: forget a backup; the answer is its description with status DELETED."""

from kvstore.engine.backup import store

from .backup_helpers import backup_arn, check_backup_arn_member, fill, items_of
from .helpers import create_table, raises


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

def test_backup_arn_is_required_37_to_1024_characters_and_must_exist(client):
    check_backup_arn_member(client.delete_backup)
