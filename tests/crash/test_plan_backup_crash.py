"""kill -9 of a database while its backup plan is writing a backup leaves nothing half-made.

A child process opens a directory database whose table holds a few
thousand items, with a plan that backs up every second and keeps two, and
keeps writing; the parent kills it with SIGKILL at random moments (some
while a backup file is being written: it is large enough to take a while)
and reopens the directory each round.  After every kill: no unfinished
backup file is listed, the ``.tmp`` leftovers are gone, every listed backup
reads back whole (every crc and the row count) and restores to a table with
exactly its item count.
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
from kvstore.engine.backup import DIRECTORY, store

# long SIGKILL rounds: opt in with ``python -m pytest -m crash`` (pyproject's addopts leave them out)
pytestmark = pytest.mark.crash

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[2])
    import kvstore
    db = kvstore.open(sys.argv[1], durability="sync", backup_plans=["p:1:2"])
    table = db.Table("things")
    print("ready", flush=True)
    i = 0
    while True:
        table.put_item(Item={"pk": f"new{i % 500}", "v": i, "pad": "x" * 200})
        i += 1
""")


def test_sigkill_during_plan_backups_leaves_only_whole_backups(tmp_path):
    path = str(tmp_path / "db")
    with kvstore.open(path, durability="none") as db:
        db.create_table(TableName="things", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
        with db.Table("things").batch_writer() as batch:
            for i in range(20000):
                batch.put_item(Item={"pk": f"k{i}", "pad": "y" * 200})
    rng = random.Random(20261205)
    seen = 0
    for round_ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", CHILD, path, ROOT], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.5, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        with kvstore.open(path) as db:
            backups = store(db.engine).all()
            assert not any(n.endswith(".tmp") for n in os.listdir(os.path.join(path, DIRECTORY)))
            for backup in backups:
                store(db.engine).verify(backup)
            if backups:
                seen += 1
                newest = backups[-1]
                target = f"restored{round_}"
                db.meta.client.restore_table_from_backup(TargetTableName=target, BackupArn=newest.arn)
                assert len(db.engine.tables[target].rows) == newest.item_count >= 20000
                db.Table(target).delete()
    assert seen > 0
