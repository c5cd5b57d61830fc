"""kvstore replicate with kvstore as the source: its Streams API over the wire, and its
durable in-process consumer on a directory (position stored in the source database)."""

import threading

from kvstore.migration.endpoints import open_side
from kvstore.migration.replicate import replicate

from .conftest import Served
from .test_replicate import STREAMED, converged, quiet, write


def run_replicator(source, target, **options):
    stop = threading.Event()
    thread = threading.Thread(target=replicate, args=(source, target), daemon=True,
                              kwargs=dict(stop=stop, report=0, log=quiet, idle_wait=0.05, segments=2, **options))
    thread.start()
    return stop, thread


def test_from_kvstore_serve_through_the_streams_api(tmp_path):
    server = Served("--data-dir", str(tmp_path / "source"))
    source, target = open_side(server.url), open_side(str(tmp_path / "target"), create=True)
    try:
        source.client.create_table(TableName="events", **STREAMED)
        for i in range(40):
            write(source.client, "put", f"k{i}", i % 9)
        position = str(tmp_path / "position.json")
        stop, thread = run_replicator(source, target, position_path=position)
        for i in range(120):
            write(source.client, ("put", "update", "delete")[i % 3], f"k{i % 50}", i % 13)
        assert converged(source, target) is True
        stop.set()
        thread.join(30)
        for i in range(20):
            write(source.client, "update", f"k{i}", 0)
        stop, thread = run_replicator(source, target, position_path=position)
        assert converged(source, target) is True
        stop.set()
        thread.join(30)
    finally:
        source.close()
        target.close()
        server.stop()


def test_from_a_directory_through_the_durable_consumer(tmp_path, served):
    source, target = open_side(str(tmp_path / "source"), create=True), open_side(served.url)
    try:
        source.client.create_table(TableName="events", KeySchema=STREAMED["KeySchema"],
                                   AttributeDefinitions=STREAMED["AttributeDefinitions"],
                                   BillingMode="PAY_PER_REQUEST", StreamSpecification=STREAMED["StreamSpecification"])
        table = source.db.Table("events")
        for i in range(30):
            table.put_item(Item={"pk": f"k{i}", "v": i})
        stop, thread = run_replicator(source, target)
        for i in range(90):
            if i % 3 == 2:
                table.delete_item(Key={"pk": f"k{i % 40}"})
            else:
                table.put_item(Item={"pk": f"k{i % 40}", "v": i})
        assert converged(source, target) is True
        stop.set()
        thread.join(30)
        assert not thread.is_alive()
    finally:
        source.close()
    source = open_side(str(tmp_path / "source"))
    try:
        table = source.db.Table("events")
        for i in range(10):
            table.put_item(Item={"pk": f"k{i}", "v": 1000 + i})
        stop, thread = run_replicator(source, target)      # resumes from the position stored in the source
        assert converged(source, target) is True
        stop.set()
        thread.join(30)
    finally:
        source.close()
        target.close()
