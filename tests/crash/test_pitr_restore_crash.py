"""kill -9 of a database in the middle of point-in-time restores leaves nothing half-made.

A child process opens a directory database whose PITR table holds 20,000
items and restores it (to the latest time) into new tables, one after
another; the parent kills it with SIGKILL at random moments, many of them
while a restore is logging the new table's rows, and reopens the directory
each round.  After every kill each restored table that exists holds every item
(the rows are logged first and the table only in a last record, so recovery
never shows a partial one), the source is unchanged, and a new restore works.
"""

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import kvstore
from kvstore.engine.pitr import RESTORES

# long SIGKILL rounds: opt in with ``python -m pytest -m crash`` (pyproject's addopts leave them out)
pytestmark = pytest.mark.crash

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ITEMS = 20000
CHILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])
    import kvstore
    db = kvstore.open(sys.argv[1])
    client = db.meta.client
    print("ready", flush=True)
    i = 0
    while True:
        client.restore_table_to_point_in_time(SourceTableName="things", TargetTableName=f"copy{sys.argv[3]}x{i}",
                                              UseLatestRestorableTime=True)
        i += 1
""")


@pytest.mark.parametrize("checkpointed", [False, True], ids=["log-only", "linked-checkpoint"])
def test_sigkill_during_restores_leaves_only_whole_tables(tmp_path, checkpointed):
    """``linked-checkpoint``: the source was checkpointed and then changed, so each restore links that
    checkpoint into ``<db>/restores/`` and logs only the changes; a kill between the link and the table's
    record leaves a file that the next open deletes."""
    path = str(tmp_path / "db")
    items = ITEMS
    with kvstore.open(path, durability="none") as db:
        db.create_table(TableName="things", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
        db.meta.client.update_continuous_backups(
            TableName="things", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        with db.Table("things").batch_writer() as batch:
            for i in range(ITEMS):
                batch.put_item(Item={"pk": f"k{i}", "pad": "y" * 200})
        if checkpointed:
            db.checkpoint()
            with db.Table("things").batch_writer() as batch:
                for i in range(100):
                    batch.delete_item(Key={"pk": f"k{i}"})
                    batch.put_item(Item={"pk": f"k{ITEMS - 1 - i}", "pad": "z"})
            items -= 100
    rng = random.Random(20261206)
    restored = 0
    for round_ in range(4 if not checkpointed else 3):
        proc = subprocess.Popen([sys.executable, "-c", CHILD, path, ROOT, str(round_)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.3, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        with kvstore.open(path) as db:
            source = db.engine.tables["things"].rows
            assert len(source) == items
            for name, table in db.engine.tables.items():
                if name.startswith("copy"):
                    assert table.rows == source, name
                    assert table.meta["RestoreSummary"]["RestoreInProgress"] is False
                    restored += 1
            linked = os.path.join(path, RESTORES)
            left = set(os.listdir(linked)) if os.path.exists(linked) else set()
            assert left <= set(db.engine.pitr.restore_files)          # a cut-short restore's link is gone
            if checkpointed and restored:
                assert left
            db.meta.client.restore_table_to_point_in_time(SourceTableName="things", TargetTableName=f"final{round_}",
                                                          UseLatestRestorableTime=True)
            assert db.engine.tables[f"final{round_}"].rows == source
    assert restored > 0
