"""GetShardIterator: where in a shard GetRecords starts reading.

TRIM_HORIZON starts at the oldest retained record, LATEST just after the
newest (exactly at the end: nothing written before the call is read),
AT_SEQUENCE_NUMBER / AFTER_SEQUENCE_NUMBER at or after a record, AT_TIMESTAMP
at the first record made at or after ``Timestamp`` (epoch seconds; one older
than the retained data starts at TRIM_HORIZON, one in the future is refused).  A sequence
number older than the retained data is a TrimmedDataAccessException.
Closed shards of disabled streams still give iterators.
"""

from kvstore.errors import TrimmedDataAccessException, ValidationException
from kvstore.operations.stream_access import (
    TRIMMED, arn_violations, check_constraints, get_shard, get_stream, make_iterator, parse_sequence_number,
)

TYPES = ("TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "AT_TIMESTAMP")


#: the DynamoDB Streams API (its own X-Amz-Target prefix; see kvstore/operations/__init__.py)
TARGET_PREFIX = "DynamoDBStreams_20120810"
READ_ONLY = True


def run(engine, request):
    arn = request.get("StreamArn")
    shard_id = request.get("ShardId")
    kind = request.get("ShardIteratorType")
    sequence = request.get("SequenceNumber")
    timestamp = request.get("Timestamp")
    violations = arn_violations(arn, "streamArn")
    if shard_id is None:
        violations.append((None, "shardId", "Member must not be null"))
    elif not 28 <= len(shard_id) <= 65:
        bound = ("greater than or equal to 28") if len(shard_id) < 28 else "less than or equal to 65"
        violations.append((shard_id, "shardId", f"Member must have length {bound}"))
    if kind is None:
        violations.append((None, "shardIteratorType", "Member must not be null"))
    elif kind not in TYPES:
        violations.append((kind, "shardIteratorType", f"Member must satisfy enum value set: [{', '.join(TYPES)}]"))
    if sequence is not None and not 21 <= len(sequence) <= 40:
        bound = "greater than or equal to 21" if len(sequence) < 21 else "less than or equal to 40"
        violations.append((sequence, "sequenceNumber", f"Member must have length {bound}"))
    check_constraints(violations)
    if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        if sequence is None:
            raise ValidationException(f"SequenceNumber must be specified for {kind} shard iterator type")
        number = parse_sequence_number(sequence)
    elif sequence is not None:
        raise ValidationException(f"SequenceNumber must not be specified for {kind} shard iterator type")
    if kind == "AT_TIMESTAMP":
        if timestamp is None:
            raise ValidationException("Timestamp must be specified for AT_TIMESTAMP shard iterator type")
        when = timestamp.timestamp() if hasattr(timestamp, "timestamp") else float(timestamp)
        if when > engine.clock():
            raise ValidationException(f"The timestamp {when} is in the future")
    elif timestamp is not None:
        raise ValidationException(f"Timestamp must not be specified for {kind} shard iterator type")
    streams = engine.streams
    streams.catch_up()
    stream = get_stream(engine, arn)
    with streams.lock:
        shard = get_shard(stream, shard_id)
        if kind == "TRIM_HORIZON":
            position = shard.trimmed
        elif kind == "LATEST":
            position = shard.last
        elif kind == "AT_TIMESTAMP":
            position = next((r[0] - 1 for r in shard.records if r[2] >= when), shard.last)
            position = max(position, shard.trimmed)
        else:
            if number < shard.start or number > max(shard.last, shard.start if shard.end is None else shard.end):
                raise ValidationException(f"Invalid SequenceNumber {sequence} for shard {shard_id}")
            position = number - 1 if kind == "AT_SEQUENCE_NUMBER" else number
            if position < shard.trimmed:
                raise TrimmedDataAccessException(TRIMMED)
    return {"ShardIterator": make_iterator(stream, shard, position, engine.clock())}
