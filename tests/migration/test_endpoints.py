"""Retries: throttling and UnprocessedItems follow one backoff policy (full jitter)."""

import pytest

from kvstore import errors
from kvstore.migration.endpoints import MigrationError, backoff_delay, open_side, with_backoff, write_all

from .conftest import make_directory, native_item as sample_item


def test_full_jitter_stays_within_the_exponential_bound():
    for attempt in range(10):
        bound = min(5.0, 0.05 * 2 ** attempt)
        delays = [backoff_delay(attempt) for _ in range(200)]
        assert all(0 <= d <= bound for d in delays)
        assert max(delays) > bound / 2          # uniform over the whole range, not a fixed step


def test_throttling_is_retried_and_other_errors_are_not():
    calls, slept = [], []

    def throttled_twice():
        calls.append(1)
        if len(calls) <= 2:
            raise errors.ProvisionedThroughputExceededException("slow down")
        return "done"

    assert with_backoff(throttled_twice, sleep=slept.append) == "done"
    assert len(calls) == 3 and len(slept) == 2

    def invalid():
        calls.append(1)
        raise errors.ValidationException("no")

    calls.clear()
    with pytest.raises(errors.ValidationException):
        with_backoff(invalid, sleep=slept.append)
    assert len(calls) == 1


class Stingy:
    """A real directory side that processes only the first ``take`` requests of each batch."""

    def __init__(self, side, take):
        self.side, self.take, self.batches = side, take, []

    def write(self, table, requests):
        self.batches.append(len(requests))
        if self.take:
            assert self.side.write(table, requests[:self.take]) == []
        return requests[self.take:]


def test_unprocessed_items_are_resent_until_written(tmp_path):
    side = open_side(make_directory(tmp_path / "d", 0))
    try:
        stingy, slept = Stingy(side, 7), []
        write_all(stingy, "orders", [{"PutRequest": {"Item": sample_item(i)}} for i in range(25)], sleep=slept.append)
        assert stingy.batches == [25, 18, 11, 4] and len(slept) == 3
        assert side.client.scan(TableName="orders", Select="COUNT")["Count"] == 25
        with pytest.raises(MigrationError, match="stayed unprocessed"):
            write_all(Stingy(side, 0), "orders", [{"PutRequest": {"Item": sample_item(1)}}], sleep=slept.append)
    finally:
        side.close()


def test_unprocessed_items_from_an_endpoint_come_back_as_the_items_sent(tmp_path):
    """The data path writes BatchWriteItem's JSON itself: what a throttled server leaves unprocessed is
    read back into the same native items (every attribute type), and the rest is stored."""
    from .conftest import SCHEMA, Served
    server = Served("--in-memory", "--enforce-capacity")
    side = open_side(server.url)
    try:
        schema = dict(SCHEMA, BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 5,
                                                                               "WriteCapacityUnits": 5})
        schema["GlobalSecondaryIndexes"] = [dict(i, ProvisionedThroughput={"ReadCapacityUnits": 5,
                                                                           "WriteCapacityUnits": 100})
                                            for i in SCHEMA["GlobalSecondaryIndexes"]]
        side.client.create_table(TableName="orders", **schema)
        sent = [sample_item(i) for i in range(25)]
        left = side.write("orders", [{"PutRequest": {"Item": item}} for item in sent])
        unprocessed = [r["PutRequest"]["Item"] for r in left]
        assert 0 < len(unprocessed) < 25
        assert all(item in sent for item in unprocessed)
        for item in sent:
            stored = side.get("orders", {"pk": item["pk"], "sk": item["sk"]})
            assert (stored is None) == (item in unprocessed)
            assert stored is None or stored == item
    finally:
        side.close()
        server.stop()


def test_an_endpoint_error_on_the_data_path_keeps_its_code(tmp_path):
    from botocore.exceptions import ClientError
    from .conftest import Served
    server = Served("--in-memory")
    side = open_side(server.url)
    try:
        with pytest.raises(ClientError) as caught:
            side.write("missing", [{"PutRequest": {"Item": sample_item(1)}}])
        assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
        with pytest.raises(ClientError) as caught:
            side.scan("missing", 0, 1)
        assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    finally:
        side.close()
        server.stop()


def test_an_endpoint_without_credentials_is_refused_with_a_clear_message(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(MigrationError, match="no AWS credentials found"):
        open_side("http://127.0.0.1:9")
