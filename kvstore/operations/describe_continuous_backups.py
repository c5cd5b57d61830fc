"""DescribeContinuousBackups: whether point-in-time recovery is on, and the window a restore may target.

Continuous backups are always ENABLED in kvstore (DynamoDB's
ContinuousBackupsUnavailableException, "not yet enabled", never happens).  With
PITR on, ``PointInTimeRecoveryDescription`` holds ``RecoveryPeriodInDays``,
``EarliestRestorableDateTime`` (when PITR was turned on, or the start of the
recovery period, whichever is later) and ``LatestRestorableDateTime``: the
current time, since every committed write is in the log at once (DynamoDB's is
about five minutes behind).  ``TableName`` may also be the table's ARN (1 to
1024 characters, no pattern: a name DynamoDB could not have is simply not found).
"""

from kvstore.engine.pitr import settings
from kvstore.errors import TableNotFoundException
from kvstore.operations.backups import table_arn_violations, table_name_of
from kvstore.operations.common import check_constraints

READ_ONLY = True


def check_members(request):
    check_constraints(table_arn_violations(request.get("TableName"), "tableName"))


def run(engine, request):
    check_members(request)
    name = table_name_of(engine, request["TableName"], "DescribeContinuousBackups")
    table = engine.tables.get(name)
    if table is None:
        raise TableNotFoundException(f"Table not found: {name}")
    return {"ContinuousBackupsDescription": description(engine, table)}


def description(engine, table):
    """The ContinuousBackupsDescription of ``table`` now."""
    spec = settings(table)
    if spec is None:
        pitr = {"PointInTimeRecoveryStatus": "DISABLED"}
    else:
        earliest, latest = engine.pitr.window(table)
        pitr = {"PointInTimeRecoveryStatus": "ENABLED", "RecoveryPeriodInDays": spec["RecoveryPeriodInDays"],
                "EarliestRestorableDateTime": earliest, "LatestRestorableDateTime": latest}
    return {"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": pitr}
