"""GetRecords: the records of a shard after an iterator's position, at most Limit (1000) and 1 MB.

``Records`` is always present.  ``NextShardIterator`` continues after the
last record returned; it is absent once a closed shard has nothing more.  A
record is returned only once its write is durable (the read makes the log
durable through it if need be), so no reader ever sees a write a crash
could take back.  An iterator whose position has been trimmed meanwhile is a
TrimmedDataAccessException.
"""

from kvstore.errors import TrimmedDataAccessException
from kvstore.operations.stream_access import TRIMMED, check_constraints, limit_violations, make_iterator, read_iterator

MAX_BYTES = 1024 * 1024


#: the DynamoDB Streams API (its own X-Amz-Target prefix; see kvstore/operations/__init__.py)
TARGET_PREFIX = "DynamoDBStreams_20120810"
#: a read may make the log durable through the records it returns: not READ_ONLY
RESPONSE_VALUES = ("Records.[].dynamodb.Keys:item", "Records.[].dynamodb.NewImage:item",
                   "Records.[].dynamodb.OldImage:item")


def run(engine, request):
    iterator = request.get("ShardIterator")
    limit = request.get("Limit")
    violations = []
    if iterator is None:
        violations.append((None, "shardIterator", "Member must not be null"))
    elif not 1 <= len(iterator) <= 2048:
        bound = "greater than or equal to 1" if not iterator else "less than or equal to 2048"
        violations.append((iterator, "shardIterator", f"Member must have length {bound}"))
    violations += limit_violations(limit, 1000)
    check_constraints(violations)
    streams = engine.streams
    stream, shard, position = read_iterator(engine, iterator)
    streams.catch_up()
    with streams.lock:
        if position < shard.trimmed:
            raise TrimmedDataAccessException(TRIMMED)
        found = streams.read(shard, position, limit or 1000)
        size = 0
        for i, record in enumerate(found):
            size += len(record[4] or b"") + (len(record[5]) if type(record[5]) is bytes else 0)
            if size > MAX_BYTES and i:
                found = found[:i]
                break
    found = streams.visible(found)
    records = [streams.render(stream, r) for r in found]
    if found:
        position = found[-1][0]
    response = {"Records": records}
    if shard.end is None or position < shard.last:
        response["NextShardIterator"] = make_iterator(stream, shard, position, engine.clock())
    return response
