"""Helpers of the DynamoDB Streams tests: stream tables, reading whole streams, faces with a clock."""

import contextlib

import pytest

from .helpers import create_table, unique_name


def stream_table(db, view="NEW_AND_OLD_IMAGES", name=None, range_key=None, **extra):
    """A table with a stream of ``view`` (None: no stream)."""
    if view is not None:
        extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
    return create_table(db, name or unique_name(), range_key=range_key, **extra)


def latest_arn(table):
    return table.meta.client.describe_table(TableName=table.name)["Table"]["LatestStreamArn"]


def shards(streams, arn):
    out, start = [], None
    while True:
        request = {"StreamArn": arn} if start is None else {"StreamArn": arn, "ExclusiveStartShardId": start}
        page = streams.describe_stream(**request)["StreamDescription"]
        out += page["Shards"]
        start = page.get("LastEvaluatedShardId")
        if start is None:
            return out


def read_shard(streams, arn, shard_id, kind="TRIM_HORIZON", limit=None, **extra):
    """Every record of one shard from ``kind`` on, until it is drained (an open shard: until a page is empty)."""
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType=kind,
                                          **extra)["ShardIterator"]
    records = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, **({"Limit": limit} if limit else {}))
        records += page["Records"]
        iterator = page.get("NextShardIterator")
        if not page["Records"] and iterator is not None:
            break
    return records


def read_stream(streams, arn):
    """Every retained record of a stream, parents before children (the consumer pattern)."""
    listed = shards(streams, arn)
    done, records = set(), []
    pending = list(listed)
    while pending:
        for shard in list(pending):
            parent = shard.get("ParentShardId")
            if parent is None or parent in done or parent not in {s["ShardId"] for s in listed}:
                records += read_shard(streams, arn, shard["ShardId"])
                done.add(shard["ShardId"])
                pending.remove(shard)
    return records


def events(records):
    """``(eventName, Keys, NewImage, OldImage)`` of records, images as given."""
    return [(r["eventName"], r["dynamodb"]["Keys"], r["dynamodb"].get("NewImage"), r["dynamodb"].get("OldImage"))
            for r in records]


def Clock(start=1_800_000_000.0):  # noqa: N802 (a class in spirit)
    """The engine's manual clock (``kvstore.clock.ManualClock``), at a fixed start."""
    from kvstore.clock import ManualClock
    return ManualClock(start)


@contextlib.contextmanager
def clocked_face(face, **options):
    """``(db, resource, streams client, clock)`` for one face over a database on a test clock."""
    import kvstore
    clock = Clock()
    db = kvstore.open(":memory:", clock=clock, **options)
    try:
        if face == "embedded":
            yield db, db, db.client("dynamodbstreams"), clock
            return
        import boto3
        from botocore.config import Config
        config = Config(parameter_validation=False, retries={"max_attempts": 1})
        if face == "hook":
            from kvstore.testing import mock_dynamodb
            with mock_dynamodb(db):
                yield (db, boto3.resource("dynamodb", region_name="us-east-1", config=config),
                       boto3.client("dynamodbstreams", region_name="us-east-1", config=config), clock)
            return
        from kvstore.server.app import ServerThread
        from kvstore.server.auth import AnyKey
        from kvstore.server.handler import RequestHandler
        keys = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret", "region_name": "us-east-1"}
        with ServerThread(RequestHandler(db.engine, auth=AnyKey())) as running:
            yield (db, boto3.resource("dynamodb", endpoint_url=running.url, config=config, **keys),
                   boto3.client("dynamodbstreams", endpoint_url=running.url, config=config, **keys), clock)
    finally:
        db.close()


@pytest.fixture(params=("embedded", "hook", "wire"))
def clocked(request):
    with clocked_face(request.param) as found:
        yield found
