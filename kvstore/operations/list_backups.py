"""ListBackups: backups oldest first, filtered by table, creation time and type, in pages.

``TimeRangeLowerBound`` is inclusive, ``TimeRangeUpperBound`` exclusive.
``BackupType`` defaults to USER (CreateBackup's and backup plans'); SYSTEM
lists the backups DynamoDB makes of a table deleted with point-in-time
recovery on (``<table>$DeletedTableBackup``, until their
BackupExpiryDateTime), ALL both; kvstore has no AWS Backup, so AWS_BACKUP
lists nothing.  ``LastEvaluatedBackupArn`` is present when a page stopped at
``Limit`` with more backups after it.
"""

import re
from datetime import datetime
from decimal import Decimal

from kvstore.engine.backup import store
from kvstore.operations.backups import arn_violations, summary, table_arn_violations, table_name_of
from kvstore.operations.common import check_constraints

READ_ONLY = True
BACKUP_TYPES = "[USER, SYSTEM, AWS_BACKUP, ALL]"
_ARN_TIME = re.compile(r"/backup/(\d+)-[0-9a-f]+$")


def run(engine, request):
    limit = request.get("Limit")
    backup_type = request.get("BackupType")
    start = request.get("ExclusiveStartBackupArn")
    violations = table_arn_violations(request.get("TableName"), "tableName", required=False)
    if limit is not None:
        if limit < 1:
            violations.append((str(limit), "limit", "Member must have value greater than or equal to 1"))
        if limit > 100:
            violations.append((str(limit), "limit", "Member must have value less than or equal to 100"))
    violations += arn_violations(start, "exclusiveStartBackupArn", required=False)
    if backup_type is not None and backup_type not in BACKUP_TYPES[1:-1].split(", "):
        violations.append((backup_type, "backupType", f"Member must satisfy enum value set: {BACKUP_TYPES}"))
    check_constraints(violations)
    lower = _seconds(request.get("TimeRangeLowerBound"))
    upper = _seconds(request.get("TimeRangeUpperBound"))
    name = request.get("TableName")
    if name is not None:
        name = table_name_of(engine, name, "ListBackups")
    backups = store(engine).all()
    if start is not None:
        after = _start_key(engine, start)
        backups = [b for b in backups if b.sort_key > after]
    now = engine.clock()
    kinds = {None: ("USER",), "USER": ("USER",), "SYSTEM": ("SYSTEM",), "AWS_BACKUP": (),
             "ALL": ("USER", "SYSTEM")}[backup_type]
    page = []
    last = None
    for backup in backups:
        if backup.kind not in kinds or backup.expired(now):
            continue
        if name is not None and backup.meta["TableName"] != name:
            continue
        if lower is not None and backup.created < lower:
            continue
        if upper is not None and backup.created >= upper:
            continue
        if limit is not None and len(page) == limit:
            last = page[-1]["BackupArn"]
            break
        page.append(summary(backup))
    response = {"BackupSummaries": page}
    if last is not None:
        response["LastEvaluatedBackupArn"] = last
    return response


def _start_key(engine, arn):
    """Where a page after ``arn`` starts, even when that backup has been deleted since."""
    backup = store(engine).get(arn)
    if backup is not None:
        return backup.sort_key
    m = _ARN_TIME.search(arn)
    return (int(m.group(1)) / 1000 if m else float("-inf"), arn)


def _seconds(value):
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, Decimal):
        return float(value)
    return value
