"""Injected latency over the wire (kvstore.faults.wait): the slowed call's answer is held, and the
server's event loop goes on serving every other connection meanwhile.

A sleep on the loop would have held up every connection for the fault's latency.  The checks are
orderings (another connection answered while the slow answer is still owed) and the latency's lower
bound, which no machine can beat.
"""

import time

import pytest

import kvstore
from kvstore.engine.fs import MemoryFS
from kvstore.faults import FaultRule
from kvstore.server.app import ServerThread, inline_reads_and_held_item_writes
from kvstore.server.handler import RequestHandler
from tests.wire.raw_calls import connect, nothing_yet, read_answer, request

LATENCY = 1.0        # long enough that the other connection's exchange ends first on a loaded machine
TABLE = "slowed"


def serve(durability):
    db = kvstore.open("/db", durability=durability, fs=MemoryFS())
    db.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST")
    db.Table(TABLE).put_item(Item={"pk": "slow"})
    db.Table(TABLE).put_item(Item={"pk": "fast"})
    return db, ServerThread(RequestHandler(db.engine), inline=inline_reads_and_held_item_writes)


@pytest.fixture
def served(request):
    db, server = serve(request.param)
    try:
        with server as running:
            yield running, db
    finally:
        db.close()


# a read on the loop, a write on the loop (batch), a write whose answer is then held until durable (sync)
@pytest.mark.parametrize("served, action, body", [
    ("batch", "GetItem", {"TableName": TABLE, "Key": {"pk": {"S": "slow"}}}),
    ("batch", "PutItem", {"TableName": TABLE, "Item": {"pk": {"S": "slow"}, "n": {"N": "1"}}}),
    ("sync", "PutItem", {"TableName": TABLE, "Item": {"pk": {"S": "slow"}, "n": {"N": "1"}}}),
], indirect=["served"])
def test_a_slowed_call_holds_its_own_answer_while_other_connections_are_served(served, action, body):
    running, db = served
    rule = FaultRule(None, operations=action, keys={"pk": "slow"}, latency=LATENCY)
    db.faults.add(rule)
    slow, fast = connect(running), connect(running)
    started = time.monotonic()
    slow.sendall(request(action, body))
    while not rule.fired:            # the server has the slow call (and owes its latency) first
        time.sleep(0.001)
    fast.sendall(request("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": "fast"}}}))
    assert read_answer(fast) == (200, {"Item": {"pk": {"S": "fast"}}})
    assert nothing_yet(slow)
    status, answer = read_answer(slow)
    assert time.monotonic() - started >= LATENCY
    assert status == 200 and answer == ({"Item": {"pk": {"S": "slow"}}} if action == "GetItem" else {})
    if action == "PutItem":
        assert db.Table(TABLE).get_item(Key={"pk": "slow"})["Item"] == {"pk": "slow", "n": 1}
        assert db.engine.durability.durable_lsn == db.engine.durability.next_lsn - 1
    slow.close()
    fast.close()


@pytest.mark.parametrize("served", ["sync"], indirect=True)
def test_a_slowed_error_is_answered_after_its_latency_and_writes_nothing(served):
    running, db = served
    db.faults.add(FaultRule("InternalServerError", operations="PutItem", latency=LATENCY))
    sock = connect(running)
    started = time.monotonic()
    sock.sendall(request("PutItem", {"TableName": TABLE, "Item": {"pk": {"S": "new"}}}))
    status, answer = read_answer(sock)
    assert time.monotonic() - started >= LATENCY
    assert status == 500 and answer["message"] == "Internal server error"
    assert "Item" not in db.Table(TABLE).get_item(Key={"pk": "new"})
    sock.close()


def test_a_thread_owes_latency_while_any_server_on_it_runs():
    from kvstore import faults
    thread = -12345                      # no real thread has this ident
    faults.answers_owe_latency(thread)
    faults.answers_owe_latency(thread)
    faults.answers_owe_latency(thread, False)
    assert thread in faults._loop_threads          # the second server still runs there
    faults.answers_owe_latency(thread, False)
    assert thread not in faults._loop_threads
