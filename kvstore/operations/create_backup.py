"""CreateBackup: an on-demand backup of a table, taken at once without stopping writes.

DynamoDB answers CREATING and finishes in the background; kvstore copies the
table's rows under its partition locks (a consistent point in time), writes
the backup (to ``<db>/backups/`` on a directory database) and answers
AVAILABLE.  ``TableName`` may also be the table's ARN, as in DynamoDB.
"""

import re

from kvstore import limits
from kvstore.engine.backup import store
from kvstore.errors import TableNotFoundException
from kvstore.operations.common import check_constraints
from kvstore.operations.describe_backup import details

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
    table_name = table_name_of(name)
    table = engine.tables.get(table_name)
    if table is None:
        raise TableNotFoundException(f"Table not found: {table_name}")
    backup = store(engine).create(table, backup_name)
    return {"BackupDetails": details(backup)}


def table_arn_violations(value, path, required=True):
    """Constraints of a member that takes a table name or ARN (1 to 1024 characters)."""
    if value is None:
        return [(None, path, "Member must not be null")] if required else []
    out = []
    if len(value) < 1:
        out.append((value, path, "Member must have length greater than or equal to 1"))
    if len(value) > 1024:
        out.append((value, path, "Member must have length less than or equal to 1024"))
    return out


def table_name_of(name_or_arn):
    """The table name in ``arn:aws:dynamodb:<region>:<account>:table/<name>``, or the name itself."""
    if name_or_arn.startswith("arn:") and ":table/" in name_or_arn:
        return name_or_arn.split(":table/", 1)[1].split("/", 1)[0]
    return name_or_arn
