"""Backup and restore actions given an ARN of another account or region, on every face: never resolved
by name in this database (the wire face with credentials: tests/wire/test_isolation.py)."""

import botocore.exceptions
import pytest

import kvstore.errors

from .helpers import create_table

OTHER_ACCOUNT = "000000000000"


def _error(call):
    with pytest.raises((kvstore.errors.ClientError, botocore.exceptions.ClientError)) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def test_another_accounts_arn_is_access_denied(dynamodb, client):
    table = create_table(dynamodb)
    client.update_continuous_backups(TableName=table.name,
                                     PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    own = client.create_backup(TableName=table.name, BackupName="mine")["BackupDetails"]["BackupArn"]
    account = table.table_arn.split(":")[4]
    foreign_table = table.table_arn.replace(f":{account}:", f":{OTHER_ACCOUNT}:")
    foreign_backup = own.replace(f":{account}:", f":{OTHER_ACCOUNT}:")
    calls = {
        "DescribeBackup": (lambda: client.describe_backup(BackupArn=foreign_backup), foreign_backup),
        "DeleteBackup": (lambda: client.delete_backup(BackupArn=foreign_backup), foreign_backup),
        "RestoreTableFromBackup": (lambda: client.restore_table_from_backup(
            TargetTableName="copy", BackupArn=foreign_backup), foreign_backup),
        "RestoreTableToPointInTime": (lambda: client.restore_table_to_point_in_time(
            SourceTableArn=foreign_table, TargetTableName="copy", UseLatestRestorableTime=True), foreign_table),
        "CreateBackup": (lambda: client.create_backup(TableName=foreign_table, BackupName="theirs"), foreign_table),
        "ListBackups": (lambda: client.list_backups(TableName=foreign_table), foreign_table),
        "DescribeContinuousBackups": (lambda: client.describe_continuous_backups(TableName=foreign_table),
                                      foreign_table),
    }
    for action, (call, resource) in calls.items():
        code, message = _error(call)
        assert code == "AccessDeniedException", action
        assert message.endswith(f"is not authorized to perform: dynamodb:{action} on resource: {resource} "
                                f"because no resource-based policy allows the dynamodb:{action} action"), message
    assert [b["BackupArn"] for b in client.list_backups()["BackupSummaries"]] == [own]
    assert client.list_tables()["TableNames"] == [table.name]


def test_another_regions_arn_is_not_found_here(dynamodb, client):
    table = create_table(dynamodb)
    client.update_continuous_backups(TableName=table.name,
                                     PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    own = client.create_backup(TableName=table.name, BackupName="mine")["BackupDetails"]["BackupArn"]
    region = table.table_arn.split(":")[3]
    other = "eu-west-3" if region != "eu-west-3" else "eu-west-2"
    elsewhere = table.table_arn.replace(f":{region}:", f":{other}:")
    backup_elsewhere = own.replace(f":{region}:", f":{other}:")
    assert _error(lambda: client.restore_table_to_point_in_time(
        SourceTableArn=elsewhere, TargetTableName="copy", UseLatestRestorableTime=True)) == \
        ("TableNotFoundException", f"Table not found: {elsewhere}")
    assert _error(lambda: client.create_backup(TableName=elsewhere, BackupName="theirs")) == \
        ("TableNotFoundException", f"Table not found: {elsewhere}")
    assert _error(lambda: client.describe_backup(BackupArn=backup_elsewhere)) == \
        ("BackupNotFoundException", f"Backup not found: {backup_elsewhere}")
    assert client.list_backups(TableName=elsewhere)["BackupSummaries"] == []
    assert client.list_tables()["TableNames"] == [table.name]
    # this region's own ARN is the table itself
    assert client.describe_continuous_backups(TableName=table.table_arn)["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
