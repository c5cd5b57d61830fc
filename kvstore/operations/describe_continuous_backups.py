"""DescribeContinuousBackups: on-demand backups are available; point-in-time recovery is not offered.

``TableName`` may also be the table's ARN, as in DynamoDB (1 to 1024 characters,
no pattern: a name DynamoDB could not have is simply not found).
"""

from kvstore.errors import TableNotFoundException
from kvstore.operations.backups import table_arn_violations, table_name_of
from kvstore.operations.common import check_constraints

READ_ONLY = True


def run(engine, request):
    check_constraints(table_arn_violations(request.get("TableName"), "tableName"))
    name = table_name_of(request["TableName"])
    if name not in engine.tables:
        raise TableNotFoundException(f"Table not found: {name}")
    return {"ContinuousBackupsDescription": {
        "ContinuousBackupsStatus": "ENABLED",
        "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"},
    }}
