"""ListStreams: every retained stream (enabled or not), the TableName filter, paging, errors."""

import pytest

from .helpers import validation
from .stream_helpers import latest_arn, stream_table

ENABLE = {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}


def _all(streams, **request):
    out = []
    while True:
        page = streams.list_streams(**request)
        out += page["Streams"]
        if "LastEvaluatedStreamArn" not in page:
            return out
        request["ExclusiveStartStreamArn"] = page["LastEvaluatedStreamArn"]


def test_lists_a_table_stream(dynamodb, dynamodbstreams):
    """Each stream: StreamArn, TableName, StreamLabel."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    arn = latest_arn(table)
    assert dynamodbstreams.list_streams(TableName=table.name)["Streams"] == [
        {"StreamArn": arn, "TableName": table.name, "StreamLabel": arn.rsplit("/", 1)[1]}]


def test_table_without_streams_lists_nothing(dynamodb, dynamodbstreams):
    """A table that never had a stream (or no table at all): Streams is []."""
    table = stream_table(dynamodb, None)
    assert dynamodbstreams.list_streams(TableName=table.name)["Streams"] == []
    assert dynamodbstreams.list_streams(TableName="no-such-table")["Streams"] == []


def test_flaps_keep_every_stream(dynamodb, dynamodbstreams):
    """Enable, disable, enable: three streams listed (two DISABLED); the table names the latest."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    table.update(StreamSpecification={"StreamEnabled": False})
    table.update(StreamSpecification=ENABLE)
    table.update(StreamSpecification={"StreamEnabled": False})
    table.update(StreamSpecification=ENABLE)
    listed = dynamodbstreams.list_streams(TableName=table.name)["Streams"]
    assert len(listed) == 3 and len({s["StreamArn"] for s in listed}) == 3
    statuses = sorted(dynamodbstreams.describe_stream(StreamArn=s["StreamArn"])["StreamDescription"]["StreamStatus"]
                      for s in listed)
    assert statuses == ["DISABLED", "DISABLED", "ENABLED"]
    assert latest_arn(table) in {s["StreamArn"] for s in listed}


def test_deleted_and_recreated_table_keeps_both_streams(dynamodb, dynamodbstreams):
    """DeleteTable leaves the stream listed; the re-created table's stream is listed beside it."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    name, first = table.name, latest_arn(table)
    table.delete()
    second = latest_arn(stream_table(dynamodb, "KEYS_ONLY", name=name))
    assert {s["StreamArn"] for s in dynamodbstreams.list_streams(TableName=name)["Streams"]} == {first, second}


def test_paging(dynamodb, dynamodbstreams):
    """Limit pages; LastEvaluatedStreamArn is the last one returned and absent on the last page."""
    arns = {latest_arn(stream_table(dynamodb, "KEYS_ONLY")) for _ in range(3)}
    page = dynamodbstreams.list_streams(Limit=2)
    assert len(page["Streams"]) == 2 and page["LastEvaluatedStreamArn"] == page["Streams"][-1]["StreamArn"]
    assert {s["StreamArn"] for s in _all(dynamodbstreams, Limit=1)} == arns
    assert "LastEvaluatedStreamArn" not in dynamodbstreams.list_streams(Limit=3)


def test_paging_continues_after_a_deleted_stream(dynamodb, dynamodbstreams):
    """An ExclusiveStartStreamArn naming a stream that no longer exists still pages on."""
    arns = sorted(latest_arn(stream_table(dynamodb, "KEYS_ONLY")) for _ in range(2))
    gone = arns[0][:-3] + "000"
    assert [s["StreamArn"] for s in dynamodbstreams.list_streams(ExclusiveStartStreamArn=gone)["Streams"]] == \
        [a for a in arns if a > gone]


@pytest.mark.parametrize("limit,bound", [(0, "greater than or equal to 1"), (101, "less than or equal to 100")])
def test_limit_out_of_range(dynamodb, dynamodbstreams, limit, bound):
    with validation(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
                    f"Member must have value {bound}"):
        dynamodbstreams.list_streams(Limit=limit)


def test_malformed_exclusive_start(dynamodb, dynamodbstreams):
    """A malformed ExclusiveStartStreamArn is a ValidationException."""
    with validation("Invalid StreamArn"):
        dynamodbstreams.list_streams(ExclusiveStartStreamArn="kossaapaaasdafsdaasdasdasdasasdasfadfadfasdasdas")
