"""A real DynamoDB Streams consumer (the KCL pattern) runs to completion on every face.

It lists the shards, reads a shard only once its parent is finished, polls an open shard with GetRecords
and moves on when a shard is closed (no NextShardIterator).  The test clock rolls shards over while the
consumer polls; finally the stream is disabled, every shard closes and the consumer ends, having seen every
record exactly once, in write order.
"""

from .stream_helpers import clocked_face, latest_arn, stream_table

import pytest


class Consumer:
    def __init__(self, streams, arn):
        self.streams, self.arn = streams, arn
        self.finished, self.iterators, self.records = set(), {}, []

    def poll(self):
        """One pass over the shards; returns True once every shard is finished."""
        shards = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        known = {s["ShardId"] for s in shards}
        for shard in shards:
            sid = shard["ShardId"]
            parent = shard.get("ParentShardId")
            if sid in self.finished or (parent in known and parent not in self.finished):
                continue
            iterator = self.iterators.get(sid) or self.streams.get_shard_iterator(
                StreamArn=self.arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            page = self.streams.get_records(ShardIterator=iterator, Limit=3)
            self.records += page["Records"]
            if "NextShardIterator" in page:
                self.iterators[sid] = page["NextShardIterator"]
            else:
                self.finished.add(sid)
        return self.finished == known


@pytest.mark.parametrize("face", ["embedded", "hook", "wire"])
def test_consumer_follows_lineage_to_the_end(face):
    with clocked_face(face, stream_shard_seconds=30) as (db, resource, streams, clock):
        table = stream_table(resource, "NEW_IMAGE")
        consumer = Consumer(streams, latest_arn(table))
        written = []
        for i in range(40):
            table.put_item(Item={"pk": f"k{i % 4}", "n": i})
            written.append((f"k{i % 4}", i))
            clock.advance(7)
            if i % 3 == 0:
                consumer.poll()
        table.update(StreamSpecification={"StreamEnabled": False})
        for _ in range(200):
            if consumer.poll():
                break
        else:
            pytest.fail("the consumer never finished")
        got = [(r["dynamodb"]["Keys"]["pk"]["S"], int(r["dynamodb"]["NewImage"]["n"]["N"])) for r in consumer.records]
        assert len(consumer.finished) >= 9                      # 280 s of writes, a shard every 30 s
        assert sorted(got) == sorted(written)
        for key in {k for k, _ in written}:
            assert [n for k, n in got if k == key] == [n for k, n in written if k == key]
