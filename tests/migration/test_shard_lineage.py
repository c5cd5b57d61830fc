"""EndpointFeed follows shard lineage: a child shard is read only after its parent is finished.

moto and kvstore serve hand out one shard per stream at a time, so splits are exercised here
against recorded DynamoDB Streams responses (DescribeStream / GetShardIterator / GetRecords
shapes as AWS documents them), served by a small stand-in for the streams client.
"""

import json
import types

from kvstore.migration.replicate import EndpointFeed, PositionFile


def record(seq, key, value):
    return {"eventName": "MODIFY", "dynamodb": {
        "Keys": {"pk": {"S": key}}, "NewImage": {"pk": {"S": key}, "v": {"N": str(value)}},
        "SequenceNumber": "%021d" % seq, "ApproximateCreationDateTime": 1700000000.0}}


class RecordedStreams:
    """Parent shard (closed) split into two children; ``open`` shards never end."""

    def __init__(self):
        self.shards = {
            "shardId-parent": (None, [record(1, "a", 1), record(2, "b", 1), record(3, "a", 2)], False),
            "shardId-left": ("shardId-parent", [record(10, "a", 3)], True),
            "shardId-right": ("shardId-parent", [record(11, "b", 2), record(12, "b", 3)], True),
        }
        self.calls = []

    def describe_stream(self, StreamArn, ExclusiveStartShardId=None):
        shards = [{"ShardId": s, **({"ParentShardId": p} if p else {})} for s, (p, _, _) in self.shards.items()]
        return {"StreamDescription": {"StreamArn": StreamArn, "Shards": shards}}

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType, SequenceNumber=None):
        records = self.shards[ShardId][1]
        index = 0 if ShardIteratorType == "TRIM_HORIZON" else next(
            i + 1 for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] == SequenceNumber)
        return {"ShardIterator": json.dumps([ShardId, index])}

    def get_records(self, ShardIterator, Limit):
        shard, index = json.loads(ShardIterator)
        self.calls.append(shard)
        _, records, is_open = self.shards[shard]
        page = records[index:index + 2]                     # two records a page: iterators must chain
        following = index + len(page)
        done = following >= len(records) and not is_open
        return {"Records": page, **({} if done else {"NextShardIterator": json.dumps([shard, following])})}


class RecordedSide:
    spec = "http://recorded"

    def __init__(self, streams):
        self.streams = streams

    def describe(self, table):
        return {"StreamSpecification": {"StreamEnabled": True}, "LatestStreamArn": "arn:stream"}

    def client_for(self, service):
        return self.streams

    def raw(self, client):
        """GetRecords goes through RawJson on a real endpoint: the same call, by name."""
        return types.SimpleNamespace(call=lambda operation, body: getattr(client, "get_records")(**body))


def drain(feed, positions, rounds=6):
    applied = []
    for _ in range(rounds):
        records, moves = feed.read()
        applied.extend((r["Keys"]["pk"], int(r["NewImage"]["v"])) for r in records)
        feed.commit(moves, positions)
    return applied


def test_children_wait_for_their_parent_and_positions_resume(tmp_path):
    streams = RecordedStreams()
    path = str(tmp_path / "position.json")
    positions = PositionFile(path, "http://recorded", "target")
    feed = EndpointFeed(RecordedSide(streams), "events", positions)
    first, moves = feed.read()
    assert streams.calls == ["shardId-parent"]            # children are not read before the parent ends
    assert [(r["Keys"]["pk"], int(r["NewImage"]["v"])) for r in first] == [("a", 1), ("b", 1)]
    feed.commit(moves, positions)
    applied = drain(feed, positions)
    assert applied[0] == ("a", 2)                          # the rest of the parent comes first
    assert sorted(applied[1:]) == [("a", 3), ("b", 2), ("b", 3)]
    assert applied.index(("b", 2)) < applied.index(("b", 3))
    with open(path) as f:
        shards = json.load(f)["tables"]["events"]["shards"]
    assert shards["shardId-parent"] == {"sequence": "%021d" % 3, "done": True}
    assert shards["shardId-right"] == {"sequence": "%021d" % 12, "done": False}

    streams.shards["shardId-right"][1].append(record(13, "b", 4))
    again = EndpointFeed(RecordedSide(streams), "events", PositionFile(path, "http://recorded", "target"))
    assert drain(again, again.positions) == [("b", 4)]    # resumes after the stored positions only
