"""kvstore replicate: follow a real endpoint's DynamoDB Streams into a real target, converge, survive SIGKILL.

The source here is moto's server (its Streams API); the target a kvstore directory or
``kvstore serve``.  Convergence is checked with diff (key and content hash of every item).
"""

import os
import signal
import subprocess
import sys
import threading
import time

from hypothesis import HealthCheck, given, settings, strategies as st

from kvstore.migration.endpoints import MigrationError, open_side
from kvstore.migration.replicate import Applier, replicate
from kvstore.migration.verify import diff_tables

from .conftest import ROOT

STREAMED = dict(KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})


def quiet(text):
    pass


def converged(source, target, table="events", timeout=30.0):
    """Poll diff until the tables are identical (True) or ``timeout`` passes (the last result)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            [result] = diff_tables(source, target, [table], segments=2)
        except MigrationError as e:           # the replicator has not created the target table yet
            result = str(e)
        else:
            if not (result["missing"] or result["extra"] or result["different"]):
                return True
        if time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def write(client, op, key, value):
    if op == "put":
        client.put_item(TableName="events", Item={"pk": {"S": key}, "v": {"N": str(value)}, "pad": {"S": "x" * value}})
    elif op == "update":
        client.update_item(TableName="events", Key={"pk": {"S": key}}, UpdateExpression="ADD v :one",
                           ExpressionAttributeValues={":one": {"N": "1"}})
    else:
        client.delete_item(TableName="events", Key={"pk": {"S": key}})


operations = st.lists(st.tuples(st.sampled_from(["put", "update", "delete"]), st.sampled_from("abcdefgh"),
                                st.integers(0, 40)), min_size=1, max_size=40)


@settings(max_examples=int(os.environ.get("KVSTORE_REPLICATE_EXAMPLES", "4")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(before=operations, during=operations)
def test_replication_under_concurrent_writes_converges(tmp_path_factory, moto_url, before, during):
    """Writes before the initial copy and during replication; the target ends identical."""
    source = open_side(moto_url)
    table = "events"
    for name in source.list_tables():
        source.client.delete_table(TableName=name)
    source.client.create_table(TableName=table, **STREAMED)
    target = open_side(str(tmp_path_factory.mktemp("target")), create=True)
    for op in before:
        write(source.client, *op)
    stop = threading.Event()
    runner = threading.Thread(target=replicate, args=(source, target), daemon=True,
                              kwargs=dict(stop=stop, report=0, log=quiet, idle_wait=0.05, segments=2))
    runner.start()
    try:
        for op in during:
            write(source.client, *op)
        assert converged(source, target) is True
    finally:
        stop.set()
        runner.join(30)
        target.close()
    assert not runner.is_alive()


def test_the_applier_keeps_the_last_record_of_each_item_and_reads_keys_only_records(tmp_path):
    source = open_side(str(tmp_path / "s"), create=True)
    target = open_side(str(tmp_path / "t"), create=True)
    try:
        for side in (source, target):
            side.client.create_table(TableName="events", KeySchema=STREAMED["KeySchema"],
                                     AttributeDefinitions=STREAMED["AttributeDefinitions"], BillingMode="PAY_PER_REQUEST")
        source.client.put_item(TableName="events", Item={"pk": "k", "v": 3})
        target.client.put_item(TableName="events", Item={"pk": "gone", "v": 1})
        applier = Applier(source, target, "events", ["pk"])
        from decimal import Decimal
        applier.apply([
            {"eventName": "INSERT", "Keys": {"pk": "a"}, "NewImage": {"pk": "a", "v": Decimal(1)}, "at": None},
            {"eventName": "MODIFY", "Keys": {"pk": "a"}, "NewImage": {"pk": "a", "v": Decimal(2)}, "at": None},
            {"eventName": "INSERT", "Keys": {"pk": "b"}, "NewImage": {"pk": "b"}, "at": None},
            {"eventName": "REMOVE", "Keys": {"pk": "b"}, "NewImage": None, "at": None},
            {"eventName": "REMOVE", "Keys": {"pk": "gone"}, "NewImage": None, "at": None},
            {"eventName": "MODIFY", "Keys": {"pk": "k"}, "NewImage": None, "at": None},     # KEYS_ONLY: read it
            {"eventName": "INSERT", "Keys": {"pk": "z"}, "NewImage": None, "at": None},     # deleted since: delete
        ])
        applier.close()
        items = sorted(target.client.scan(TableName="events")["Items"], key=lambda i: i["pk"])
        assert items == [{"pk": "a", "v": 2}, {"pk": "k", "v": 3}]
    finally:
        source.close()
        target.close()


def start_replicator(source_url, target_url, position):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "kvstore", "replicate", "--from", source_url, "--to", target_url,
                             "--position", position, "--segments", "2", "--report", "0.5"],
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def test_replication_survives_sigkill_and_a_clean_stop(tmp_path, moto_url, served):
    source, target = open_side(moto_url), open_side(served.url)
    source.client.create_table(TableName="events", **STREAMED)
    for i in range(60):
        write(source.client, "put", f"k{i}", i % 7)
    position = str(tmp_path / "position.json")
    replicator = start_replicator(moto_url, served.url, position)
    try:
        for i in range(200):
            write(source.client, ("put", "update", "delete")[i % 3], f"k{i % 80}", i % 11)
            if i == 100:
                replicator.send_signal(signal.SIGKILL)
                replicator.wait(30)
                replicator = start_replicator(moto_url, served.url, position)
        assert converged(source, target) is True
        replicator.send_signal(signal.SIGTERM)
        assert replicator.wait(60) == 0
        log = replicator.stderr.read()
        assert "stopped;" in log and "records applied" in log
        for i in range(30):                        # written while no replicator runs
            write(source.client, "update", f"k{i}", 0)
        replicator = start_replicator(moto_url, served.url, position)
        assert converged(source, target) is True
    finally:
        replicator.kill()
        replicator.wait(30)
        source.close()
        target.close()
