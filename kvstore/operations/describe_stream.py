"""DescribeStream: a stream's status, view type, key schema and shards (with their lineage).

Shards are listed in ShardId order (which is creation order), 100 (or Limit)
at a time; ``ExclusiveStartShardId`` that names no shard, or the last one,
gives ``Shards: []``.  ``ShardFilter {Type: CHILD_SHARDS, ShardId}`` lists the
children of one shard.  A disabled stream is DISABLED with every shard closed.
"""

from kvstore.engine.streams import sequence_text
from kvstore.operations.stream_access import (
    arn_violations, check_constraints, get_stream, limit_violations,
)

_SHARD_ID_MIN, _SHARD_ID_MAX = 28, 65


def _shard_id_violations(value, path):
    out = []
    if len(value) < _SHARD_ID_MIN:
        out.append((value, path, f"Member must have length greater than or equal to {_SHARD_ID_MIN}"))
    if len(value) > _SHARD_ID_MAX:
        out.append((value, path, f"Member must have length less than or equal to {_SHARD_ID_MAX}"))
    return out


#: the DynamoDB Streams API (its own X-Amz-Target prefix; see kvstore/operations/__init__.py)
TARGET_PREFIX = "DynamoDBStreams_20120810"
READ_ONLY = True


def run(engine, request):
    arn = request.get("StreamArn")
    limit = request.get("Limit")
    start = request.get("ExclusiveStartShardId")
    shard_filter = request.get("ShardFilter")
    violations = arn_violations(arn, "streamArn") + limit_violations(limit, 100)
    if start is not None:
        violations += _shard_id_violations(start, "exclusiveStartShardId")
    if shard_filter is not None:
        kind = shard_filter.get("Type")
        if kind is None:
            violations.append((None, "shardFilter.type", "Member must not be null"))
        elif kind != "CHILD_SHARDS":
            violations.append((kind, "shardFilter.type", "Member must satisfy enum value set: [CHILD_SHARDS]"))
        parent = shard_filter.get("ShardId")
        if parent is None:
            violations.append((None, "shardFilter.shardId", "Member must not be null"))
        else:
            violations += _shard_id_violations(parent, "shardFilter.shardId")
    check_constraints(violations)
    engine.streams.catch_up()
    stream = get_stream(engine, arn)
    with engine.streams.lock:
        shards = sorted(stream.shards, key=lambda s: s.id)
        if shard_filter is not None:
            shards = [s for s in shards if s.parent == shard_filter["ShardId"]]
        if start is not None:
            shards = [s for s in shards if s.id > start] if stream.shard(start) is not None else []
        limit = limit or 100
        listed = [_shard(s) for s in shards[:limit]]
    description = {
        "StreamArn": stream.arn, "StreamLabel": stream.label, "StreamStatus": stream.status,
        "StreamViewType": stream.view, "CreationRequestDateTime": stream.created, "TableName": stream.table,
        "KeySchema": [dict(k) for k in stream.key_schema], "Shards": listed,
    }
    if len(shards) > limit:
        description["LastEvaluatedShardId"] = listed[-1]["ShardId"]
    return {"StreamDescription": description}


def _shard(shard):
    numbers = {"StartingSequenceNumber": sequence_text(shard.start)}
    if shard.end is not None:
        numbers["EndingSequenceNumber"] = sequence_text(shard.end)
    out = {"ShardId": shard.id, "SequenceNumberRange": numbers}
    if shard.parent is not None:
        out["ParentShardId"] = shard.parent
    return out

