"""ListStreams: the retained streams (enabled and disabled), optionally of one table, 100 (or Limit) at a time.

Streams are listed in ARN order, so ``ExclusiveStartStreamArn`` may name a
stream that no longer exists (its table deleted, its retention over) and
paging still continues after where it was.  A ``TableName`` without streams
(or without a table) lists nothing.
"""

from kvstore.operations.common import table_name_violations
from kvstore.operations.stream_access import arn_violations, check_arn, check_constraints, limit_violations


#: the DynamoDB Streams API (its own X-Amz-Target prefix; see kvstore/operations/__init__.py)
TARGET_PREFIX = "DynamoDBStreams_20120810"
READ_ONLY = True


def run(engine, request):
    limit = request.get("Limit")
    start = request.get("ExclusiveStartStreamArn")
    name = request.get("TableName")
    violations = limit_violations(limit, 100)
    if start is not None:
        violations += arn_violations(start, "exclusiveStartStreamArn")
    if name is not None:
        violations += table_name_violations(name, "tableName", 3)
    check_constraints(violations)
    if start is not None:
        check_arn(start)
    engine.streams.catch_up()
    limit = limit or 100
    streams = [s for s in engine.streams.streams_of(name) if start is None or s.arn > start]
    response = {"Streams": [{"StreamArn": s.arn, "TableName": s.table, "StreamLabel": s.label}
                            for s in streams[:limit]]}
    if len(streams) > limit:
        response["LastEvaluatedStreamArn"] = streams[limit - 1].arn
    return response
