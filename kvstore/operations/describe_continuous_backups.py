"""DescribeContinuousBackups: on-demand backups are available; point-in-time recovery is not offered."""

from kvstore.errors import TableNotFoundException
from kvstore.operations.common import check_request


def run(engine, request):
    check_request(request)
    if request["TableName"] not in engine.tables:
        raise TableNotFoundException(f"Table not found: {request['TableName']}")
    return {"ContinuousBackupsDescription": {
        "ContinuousBackupsStatus": "ENABLED",
        "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"},
    }}
