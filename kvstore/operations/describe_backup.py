"""DescribeBackup: the details of one on-demand backup and of its source table as it was."""

from kvstore.operations.backups import arn_violations, description, find
from kvstore.operations.common import check_constraints


READ_ONLY = True


def run(engine, request):
    check_constraints(arn_violations(request.get("BackupArn"), "backupArn"))
    return {"BackupDescription": description(find(engine, request["BackupArn"], "DescribeBackup"))}
