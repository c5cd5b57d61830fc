"""GetShardIterator: the four iterator types, where each starts, and every error."""

import pytest

from .helpers import raises, validation
from .stream_helpers import clocked, latest_arn, shards, stream_table  # noqa: F401 (clocked: a fixture)

TYPES = "[TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP]"


@pytest.fixture
def written(dynamodb, dynamodbstreams):
    """A KEYS_ONLY stream with records for pk 0, 1, 2: (streams client, arn, shard id, sequence numbers)."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    for i in range(3):
        table.put_item(Item={"pk": str(i)})
    arn = latest_arn(table)
    shard = shards(dynamodbstreams, arn)[0]["ShardId"]
    iterator = dynamodbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    numbers = [r["dynamodb"]["SequenceNumber"] for r in dynamodbstreams.get_records(ShardIterator=iterator)["Records"]]
    return dynamodbstreams, arn, shard, numbers, table


def _keys(streams, arn, shard, kind, **extra):
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind, **extra)
    assert 1 <= len(iterator["ShardIterator"]) <= 2048
    return [r["dynamodb"]["Keys"]["pk"]["S"]
            for r in streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]]


def test_trim_horizon_reads_everything(written):
    """TRIM_HORIZON starts at the oldest retained record."""
    streams, arn, shard, _, _ = written
    assert _keys(streams, arn, shard, "TRIM_HORIZON") == ["0", "1", "2"]


def test_latest_starts_after_the_newest(written):
    """LATEST starts exactly at the end: earlier records are not read, later ones are."""
    streams, arn, shard, _, table = written
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    table.put_item(Item={"pk": "3"})
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in streams.get_records(ShardIterator=iterator)["Records"]] == ["3"]


def test_at_and_after_sequence_number(written):
    """AT_SEQUENCE_NUMBER includes that record, AFTER_SEQUENCE_NUMBER starts with the next."""
    streams, arn, shard, numbers, _ = written
    assert _keys(streams, arn, shard, "AT_SEQUENCE_NUMBER", SequenceNumber=numbers[1]) == ["1", "2"]
    assert _keys(streams, arn, shard, "AFTER_SEQUENCE_NUMBER", SequenceNumber=numbers[1]) == ["2"]
    assert _keys(streams, arn, shard, "AFTER_SEQUENCE_NUMBER", SequenceNumber=numbers[2]) == []


def test_starting_sequence_number_of_the_shard(written):
    """The shard's StartingSequenceNumber is valid for both sequence-number types."""
    streams, arn, shard, _, _ = written
    start = shards(streams, arn)[0]["SequenceNumberRange"]["StartingSequenceNumber"]
    assert _keys(streams, arn, shard, "AT_SEQUENCE_NUMBER", SequenceNumber=start) == ["0", "1", "2"]
    assert _keys(streams, arn, shard, "AFTER_SEQUENCE_NUMBER", SequenceNumber=start) == ["0", "1", "2"]


@pytest.mark.parametrize("kind", ["AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"])
def test_sequence_number_required(written, kind):
    """AT_/AFTER_SEQUENCE_NUMBER need a SequenceNumber."""
    streams, arn, shard, _, _ = written
    with validation(f"SequenceNumber must be specified for {kind} shard iterator type"):
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind)


@pytest.mark.parametrize("kind", ["TRIM_HORIZON", "LATEST"])
def test_sequence_number_rejected(written, kind):
    """TRIM_HORIZON and LATEST take no SequenceNumber."""
    streams, arn, shard, numbers, _ = written
    with validation(f"SequenceNumber must not be specified for {kind} shard iterator type"):
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind, SequenceNumber=numbers[0])


def test_malformed_sequence_number(written):
    """A SequenceNumber that is not 21..40 digits is a ValidationException."""
    streams, arn, shard, _, _ = written
    with validation(contains="sequenceNumber"):
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER",
                                   SequenceNumber="12")
    with validation("Invalid SequenceNumber: " + "x" * 25):
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER",
                                   SequenceNumber="x" * 25)


def test_sequence_number_of_another_shard(written):
    """A sequence number outside the shard's range is a ValidationException."""
    streams, arn, shard, _, _ = written
    with validation(contains="Invalid SequenceNumber"):
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER",
                                   SequenceNumber="9" * 30)


def test_unknown_iterator_type(written):
    """The type must be one of the four."""
    streams, arn, shard, _, _ = written
    with validation(f"1 validation error detected: Value 'OLDEST' at 'shardIteratorType' failed to satisfy "
                    f"constraint: Member must satisfy enum value set: {TYPES}"):
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="OLDEST")


def test_unknown_shard(written):
    """A well-formed ShardId that the stream does not have: ResourceNotFoundException."""
    streams, arn, _, _, _ = written
    with raises("ResourceNotFoundException"):
        streams.get_shard_iterator(StreamArn=arn, ShardId="shardId-00000001700000000000-00000000",
                                   ShardIteratorType="TRIM_HORIZON")


def test_malformed_and_unknown_stream_arn(written):
    """A malformed StreamArn is a ValidationException; a well-formed one naming no stream ResourceNotFound."""
    streams, arn, shard, _, _ = written
    with validation("Invalid StreamArn"):
        streams.get_shard_iterator(StreamArn="x" * 40, ShardId=shard, ShardIteratorType="LATEST")
    other = arn.rsplit("/", 1)[0] + "/2001-01-01T00:00:00.000"
    with raises("ResourceNotFoundException"):
        streams.get_shard_iterator(StreamArn=other, ShardId=shard, ShardIteratorType="LATEST")


def test_disabled_stream_still_gives_iterators(written):
    """The closed shard of a disabled stream still gives iterators and its records."""
    streams, arn, shard, _, table = written
    table.update(StreamSpecification={"StreamEnabled": False})
    assert _keys(streams, arn, shard, "TRIM_HORIZON") == ["0", "1", "2"]


def test_at_timestamp(clocked):
    """AT_TIMESTAMP starts at the first record made at or after Timestamp; older: everything; future: refused."""
    import datetime
    db, resource, streams, clock = clocked
    table = stream_table(resource, "KEYS_ONLY")
    start = clock()
    for i in range(3):
        table.put_item(Item={"pk": str(i)})
        clock.advance(10)
    arn = latest_arn(table)
    shard = shards(streams, arn)[0]["ShardId"]

    def at(seconds):
        when = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
        return _keys(streams, arn, shard, "AT_TIMESTAMP", Timestamp=when)
    assert at(start + 10) == ["1", "2"]
    assert at(start + 5) == ["1", "2"]
    assert at(start - 3600) == ["0", "1", "2"]
    assert at(start + 25) == []
    with validation(contains="future"):
        at(clock() + 60)
    with validation("Timestamp must be specified for AT_TIMESTAMP shard iterator type"):
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_TIMESTAMP")
