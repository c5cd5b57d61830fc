"""Realistic contention (kvstore.contention): DynamoDB's optimistic concurrency, opt in.

A transaction is held "in flight" by an engine listener that blocks inside
its commit, so the conflicting call is deterministic: it must be rejected at
once (not wait), with DynamoDB's exception, and change nothing.  The
conflicting calls run on every face.
"""

import threading

import pytest

import kvstore
from kvstore.errors import TransactionCanceledException

from operations.helpers import assert_error, create_table

KEY = ("pk", "S")
CONFLICT = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}


class InFlight:
    """Run ``call`` in a thread and hold it inside its commit until :meth:`finish`."""

    def __init__(self, db, call):
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.error = None
        db.engine.listeners.append(self._hold)
        self.thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self.thread.start()
        assert self.entered.wait(10), "the held call never committed"

    def _hold(self, writes, identity=None):
        if not self.entered.is_set():
            self.entered.set()
            self.gate.wait(10)

    def _run(self, call):
        try:
            call()
        except Exception as e:   # noqa: BLE001 (reported by finish)
            self.error = e

    def finish(self):
        self.gate.set()
        self.thread.join(10)
        if self.error is not None:
            raise self.error


@pytest.fixture
def contended(dynamodb_with):
    resource, db = dynamodb_with(contention=True)
    table = create_table(resource, hash_key=KEY)
    table.put_item(Item={"pk": "a", "v": 0})
    table.put_item(Item={"pk": "b", "v": 0})
    return resource, db, table


def _transfer(db, table):
    return lambda: db.transact_write_items(TransactItems=[
        {"Update": {"TableName": table.name, "Key": {"pk": "a"}, "UpdateExpression": "ADD v :n",
                    "ExpressionAttributeValues": {":n": -1}}},
        {"Update": {"TableName": table.name, "Key": {"pk": "b"}, "UpdateExpression": "ADD v :n",
                    "ExpressionAttributeValues": {":n": 1}}}])


def test_a_write_to_an_item_in_a_transaction_fails_at_once(contended):
    resource, db, table = contended
    held = InFlight(db, _transfer(db, table))
    try:
        assert_error(lambda: table.put_item(Item={"pk": "a", "v": 99}), "TransactionConflictException",
                     "Transaction is ongoing for the item")
        assert_error(lambda: table.update_item(Key={"pk": "b"}, UpdateExpression="SET v = :v",
                                               ExpressionAttributeValues={":v": 5}), "TransactionConflictException")
        assert_error(lambda: table.delete_item(Key={"pk": "b"}), "TransactionConflictException")
    finally:
        held.finish()
    assert table.get_item(Key={"pk": "a"})["Item"]["v"] == -1
    assert table.get_item(Key={"pk": "b"})["Item"]["v"] == 1
    table.put_item(Item={"pk": "a", "v": 7})             # the transaction is over: no conflict


def test_a_transaction_on_an_item_in_another_transaction_is_cancelled(contended):
    resource, db, table = contended
    create_table(resource, hash_key=KEY, name=table.name + "-other")
    held = InFlight(db, _transfer(db, table))
    try:
        e = assert_error(lambda: resource.meta.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": table.name + "-other", "Item": {"pk": "a"}}},
            {"ConditionCheck": {"TableName": table.name, "Key": {"pk": "b"},
                                "ConditionExpression": "attribute_exists(pk)"}}]),
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]")
        assert e.response["CancellationReasons"] == [{"Code": "None"}, CONFLICT]
        e = assert_error(lambda: resource.meta.client.transact_get_items(TransactItems=[
            {"Get": {"TableName": table.name, "Key": {"pk": "a"}}}]), "TransactionCanceledException")
        assert e.response["CancellationReasons"] == [CONFLICT]
    finally:
        held.finish()
    assert "Item" not in resource.Table(table.name + "-other").get_item(Key={"pk": "a"})


def test_a_transactional_read_of_an_item_being_written_is_cancelled(contended):
    resource, db, table = contended
    held = InFlight(db, lambda: db.Table(table.name).put_item(Item={"pk": "a", "v": 3}))
    try:
        e = assert_error(lambda: resource.meta.client.transact_get_items(TransactItems=[
            {"Get": {"TableName": table.name, "Key": {"pk": "b"}}},
            {"Get": {"TableName": table.name, "Key": {"pk": "a"}}}]), "TransactionCanceledException")
        assert e.response["CancellationReasons"] == [{"Code": "None"}, CONFLICT]
    finally:
        held.finish()


def test_without_contention_a_transaction_waits_instead(dynamodb_with):
    """The default stays serialised: the same write waits for the transaction and then succeeds."""
    resource, db = dynamodb_with()
    table = create_table(resource, hash_key=KEY)
    table.put_item(Item={"pk": "a", "v": 0})
    table.put_item(Item={"pk": "b", "v": 0})
    held = InFlight(db, _transfer(db, table))
    writer = threading.Thread(target=lambda: db.Table(table.name).put_item(Item={"pk": "a", "v": 99}))
    writer.start()
    writer.join(0.2)
    assert writer.is_alive()                              # blocked on the item's partition lock
    held.finish()
    writer.join(10)
    assert table.get_item(Key={"pk": "a"})["Item"]["v"] == 99


def test_concurrent_transfers_conflict_and_conserve_the_total():
    """Threads moving units between two items: some cancel with TransactionConflict, the sum never changes."""
    with kvstore.open(":memory:", contention=True) as db:
        table = create_table(db, hash_key=KEY)
        table.put_item(Item={"pk": "a", "v": 1000})
        table.put_item(Item={"pk": "b", "v": 0})
        conflicts = []
        done = []

        def worker():
            for _ in range(200):
                try:
                    _transfer(db, table)()
                    done.append(1)
                except TransactionCanceledException as e:
                    assert e.response["CancellationReasons"][0]["Code"] in ("TransactionConflict", "None")
                    conflicts.append(1)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        a = table.get_item(Key={"pk": "a"})["Item"]["v"]
        b = table.get_item(Key={"pk": "b"})["Item"]["v"]
        assert a + b == 1000 and b == len(done)
        assert len(done) + len(conflicts) == 800
