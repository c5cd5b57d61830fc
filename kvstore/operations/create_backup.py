"""CreateBackup: an on-demand backup of a table, taken at once without stopping writes.

DynamoDB answers CREATING and finishes in the background; kvstore copies the
table's rows at one instant (``kvstore.engine.backup.snapshot``: the copy runs
without the partition locks, the keys written meanwhile are re-read under
them), writes
the backup (to ``<db>/backups/`` on a directory database) and answers
AVAILABLE.  ``TableName`` may also be the table's ARN, as in DynamoDB.
"""

import re

from kvstore import limits
from kvstore.engine.backup import store
from kvstore.errors import TableNotFoundException
from kvstore.operations.backups import details, table_arn_violations, table_name_of
from kvstore.operations.common import check_constraints

_NAME_RE = re.compile(limits.TABLE_NAME_PATTERN + r"\Z")


def run(engine, request):
    name = request.get("TableName")
    backup_name = request.get("BackupName")
    violations = table_arn_violations(name, "tableName")
    if backup_name is None:
        violations.append((None, "backupName", "Member must not be null"))
    else:
        if len(backup_name) < 3:
            violations.append((backup_name, "backupName", "Member must have length greater than or equal to 3"))
        if len(backup_name) > 255:
            violations.append((backup_name, "backupName", "Member must have length less than or equal to 255"))
        if backup_name and not _NAME_RE.match(backup_name):
            violations.append((backup_name, "backupName",
                               "Member must satisfy regular expression pattern: " + limits.TABLE_NAME_PATTERN))
    check_constraints(violations)
    table_name = table_name_of(engine, name, "CreateBackup")
    table = engine.tables.get(table_name)
    if table is None:
        raise TableNotFoundException(f"Table not found: {table_name}")
    backup = store(engine).create(table, backup_name)
    return {"BackupDetails": details(backup)}
