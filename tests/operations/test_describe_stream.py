"""DescribeStream: the description, shard lineage across rollovers, paging, ShardFilter, errors."""

import pytest

from .helpers import raises, validation
from .stream_helpers import clocked_face, latest_arn, shards, stream_table


def test_description(dynamodb, dynamodbstreams):
    """Status, label, view type, table name, key schema and one open shard."""
    table = stream_table(dynamodb, "NEW_IMAGE", range_key=("sk", "N"))
    arn = latest_arn(table)
    d = dynamodbstreams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert d["StreamArn"] == arn and d["StreamLabel"] == arn.rsplit("/", 1)[1]
    assert (d["StreamStatus"], d["StreamViewType"], d["TableName"]) == ("ENABLED", "NEW_IMAGE", table.name)
    assert d["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert "CreationRequestDateTime" in d
    [shard] = d["Shards"]
    assert 28 <= len(shard["ShardId"]) <= 65 and "ParentShardId" not in shard
    assert shard["SequenceNumberRange"]["StartingSequenceNumber"].isdecimal()
    assert "EndingSequenceNumber" not in shard["SequenceNumberRange"]
    assert "LastEvaluatedShardId" not in d


def test_disabled_stream_is_disabled_with_closed_shards(dynamodb, dynamodbstreams):
    """After a disable the stream is DISABLED and every shard has an EndingSequenceNumber."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    table.put_item(Item={"pk": "a"})
    arn = latest_arn(table)
    table.update(StreamSpecification={"StreamEnabled": False})
    d = dynamodbstreams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert d["StreamStatus"] == "DISABLED"
    assert all("EndingSequenceNumber" in s["SequenceNumberRange"] for s in d["Shards"])


@pytest.mark.parametrize("face", ["embedded", "hook", "wire"])
def test_shards_roll_over_with_parents(face):
    """Shards close and continue in a child (ParentShardId) on the schedule; Limit pages them in order."""
    with clocked_face(face, stream_shard_seconds=3600) as (db, resource, streams, clock):
        table = stream_table(resource, "KEYS_ONLY")
        arn = latest_arn(table)
        for i in range(4):
            table.put_item(Item={"pk": str(i)})
            clock.advance(3600)
        listed = shards(streams, arn)
        assert len(listed) == 5
        assert [s["ShardId"] for s in listed] == sorted(s["ShardId"] for s in listed)
        for parent, child in zip(listed, listed[1:]):
            assert child["ParentShardId"] == parent["ShardId"]
            assert int(child["SequenceNumberRange"]["StartingSequenceNumber"]) > \
                int(parent["SequenceNumberRange"]["EndingSequenceNumber"])
        assert "EndingSequenceNumber" not in listed[-1]["SequenceNumberRange"]
        page = streams.describe_stream(StreamArn=arn, Limit=2)["StreamDescription"]
        assert [s["ShardId"] for s in page["Shards"]] == [s["ShardId"] for s in listed[:2]]
        assert page["LastEvaluatedShardId"] == listed[1]["ShardId"]
        children = streams.describe_stream(StreamArn=arn, ShardFilter={"Type": "CHILD_SHARDS",
                                                                       "ShardId": listed[0]["ShardId"]})
        assert [s["ShardId"] for s in children["StreamDescription"]["Shards"]] == [listed[1]["ShardId"]]


def test_exclusive_start_shard_id_unknown_or_last(dynamodb, dynamodbstreams):
    """An ExclusiveStartShardId that names no shard, or the last one, gives Shards: []."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    arn = latest_arn(table)
    last = shards(dynamodbstreams, arn)[-1]["ShardId"]
    for start in (last, "shardId-00000009999999999999-ffffffff"):
        d = dynamodbstreams.describe_stream(StreamArn=arn, ExclusiveStartShardId=start)["StreamDescription"]
        assert d["Shards"] == [] and "LastEvaluatedShardId" not in d


@pytest.mark.parametrize("limit,bound", [(0, "greater than or equal to 1"), (101, "less than or equal to 100")])
def test_limit_out_of_range(dynamodb, dynamodbstreams, limit, bound):
    table = stream_table(dynamodb, "KEYS_ONLY")
    with validation(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
                    f"Member must have value {bound}"):
        dynamodbstreams.describe_stream(StreamArn=latest_arn(table), Limit=limit)


def test_shard_filter_errors(dynamodb, dynamodbstreams):
    """ShardFilter needs Type CHILD_SHARDS and a well-formed ShardId."""
    arn = latest_arn(stream_table(dynamodb, "KEYS_ONLY"))
    shard = "shardId-00000001700000000000-00000000"
    with validation(contains=["shardFilter.type", "CHILD_SHARDS"]):
        dynamodbstreams.describe_stream(StreamArn=arn, ShardFilter={"Type": "PARENT_SHARDS", "ShardId": shard})
    with validation(contains="shardFilter.shardId"):
        dynamodbstreams.describe_stream(StreamArn=arn, ShardFilter={"Type": "CHILD_SHARDS", "ShardId": "short"})
    with validation(contains="shardFilter.type"):
        dynamodbstreams.describe_stream(StreamArn=arn, ShardFilter={"ShardId": shard})
    with validation(contains="shardFilter.shardId"):
        dynamodbstreams.describe_stream(StreamArn=arn, ShardFilter={"Type": "CHILD_SHARDS"})


def test_malformed_and_unknown_arn(dynamodb, dynamodbstreams):
    """Malformed StreamArn: ValidationException; well-formed but unknown: ResourceNotFoundException."""
    with validation("Invalid StreamArn"):
        dynamodbstreams.describe_stream(StreamArn="sdfadfsdfnlfkajakfgjalksfgklasjklasdjfklasdfasdfgasf")
    with validation(contains="streamArn"):
        dynamodbstreams.describe_stream(StreamArn="fake-stream")
    with raises("ResourceNotFoundException"):
        dynamodbstreams.describe_stream(
            StreamArn="arn:aws:dynamodb:us-east-1:123456789012:table/nope/stream/2020-01-01T00:00:00.000")
