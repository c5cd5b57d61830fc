"""DeleteBackup: remove a backup; answers its description with status DELETED.

A backup being restored cannot be deleted (BackupInUseException).
"""

from kvstore.engine.backup import store
from kvstore.operations.backups import arn_violations, description, find
from kvstore.operations.common import check_constraints


def run(engine, request):
    check_constraints(arn_violations(request.get("BackupArn"), "backupArn"))
    backup = find(engine, request["BackupArn"], "DeleteBackup")
    store(engine).delete(backup)
    return {"BackupDescription": description(backup, "DELETED")}
