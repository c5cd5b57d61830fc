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
