"""kill -9 during incremental backups and their deletion leaves nothing half-made and no shared run lost.

A child process changes random items of a directory database's table, backs
it up (an incremental backup: a run of the changes plus the shared runs of
earlier backups), and deletes a random older backup, over and over; before
each backup it journals (fsynced) a digest of the table's rows, and after it
the backup's ARN.  The parent kills it with SIGKILL at random moments and
reopens the directory each round.  After every kill: no ``.tmp`` file and no
run that no backup names is left, every backup the journal says was made and
not being deleted still exists, and every backup restores to a table whose
rows (byte for byte) have the digest journaled for it (a backup made just before
a kill, whose "made" line the child never wrote, has the digest of that round's
last "pending" line, in that round and in every later one).
"""

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import kvstore
from kvstore.engine.backup import DIRECTORY, RUN_SUFFIX, RUNS, store

# long SIGKILL rounds: opt in with ``python -m pytest -m crash`` (pyproject's addopts leave them out)
pytestmark = pytest.mark.crash

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHILD = textwrap.dedent("""
    import hashlib, os, random, sys
    sys.path.insert(0, sys.argv[3])
    import kvstore
    from kvstore.engine.backup import store

    def digest(rows):
        h = hashlib.sha256()
        for key in sorted(rows):
            h.update(len(key).to_bytes(4, "little") + key + len(rows[key]).to_bytes(4, "little") + rows[key])
        return h.hexdigest()

    rng = random.Random(int(sys.argv[4]))
    db = kvstore.open(sys.argv[1], durability="sync")
    table = db.Table("things")
    journal = open(sys.argv[2], "a")

    def note(line):
        journal.write(line + "\\n")
        journal.flush()
        os.fsync(journal.fileno())

    print("ready", flush=True)
    n = 0
    while True:
        with table.batch_writer() as batch:
            for _ in range(rng.randrange(1, 300)):
                i = rng.randrange(12000)
                if rng.random() < 0.8:
                    batch.put_item(Item={"pk": f"k{i}", "v": n, "pad": "z" * rng.randrange(300)})
                else:
                    batch.delete_item(Key={"pk": f"k{i}"})
        n += 1
        note("pending " + digest(db.engine.tables["things"].rows))
        made = store(db.engine).create(db.engine.tables["things"], f"b-{n}")
        note(f"made {made.arn}")
        backups = store(db.engine).all()
        if len(backups) > 4:
            victim = rng.choice(backups[:-1])
            note(f"deleting {victim.arn}")
            store(db.engine).delete(victim)
            note(f"deleted {victim.arn}")
""")


def digest(rows):
    h = hashlib.sha256()
    for key in sorted(rows):
        h.update(len(key).to_bytes(4, "little") + key + len(rows[key]).to_bytes(4, "little") + rows[key])
    return h.hexdigest()


def read_journal(path):
    """arn -> digest of every backup made; the ARNs being deleted or deleted; the last pending digest."""
    made, gone, pending = {}, set(), None
    with open(path) as f:
        for line in f:
            kind, value = line.split()
            if kind == "pending":
                pending = value
            elif kind == "made":
                made[value] = pending
            else:
                gone.add(value)
    return made, gone, pending


def _wait_until_made(journal, count, timeout=120):
    """Return once the journal names ``count`` backups made (whole lines), or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(journal) as f:
            if sum(1 for line in f if line.startswith("made ") and line.endswith("\n")) >= count:
                return
        time.sleep(0.05)


def test_sigkill_during_incremental_backups_and_deletes_loses_no_shared_run(tmp_path):
    path = str(tmp_path / "db")
    journal = str(tmp_path / "journal")
    open(journal, "w").close()
    with kvstore.open(path, durability="none") as db:
        db.create_table(TableName="things", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
        with db.Table("things").batch_writer() as batch:
            for i in range(10000):
                batch.put_item(Item={"pk": f"k{i}", "pad": "y" * 200})
    rng = random.Random(20261206)
    restored = 0
    # a backup a kill stopped before its "made" line: the pending digest it was made from (it is kept
    # across rounds, since a later round's pending lines are not its own)
    unjournaled = {}
    for round_ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", CHILD, path, journal, ROOT, str(round_)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdout.readline() == b"ready\n"
        # one more backup made in all before each kill (on a loaded machine a backup takes seconds, and
        # a fixed delay killed the child before it made any), then a random moment of what follows
        _wait_until_made(journal, round_ + 1)
        time.sleep(rng.uniform(0, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        made, gone, pending = read_journal(journal)
        with kvstore.open(path) as db:
            backups = store(db.engine).all()
            directory = os.path.join(path, DIRECTORY)
            if not os.path.exists(os.path.join(directory, RUNS)):    # killed before its first backup
                assert not backups and not made
                continue
            assert not [n for n in os.listdir(directory) if n.endswith(".tmp")]
            runs = {n[:-len(RUN_SUFFIX)] for n in os.listdir(os.path.join(directory, RUNS))}
            assert runs == {r.name for b in backups for r in b.runs}          # no unnamed run left, none missing
            arns = {b.arn for b in backups}
            assert set(made) - gone <= arns                                   # nothing made was lost
            new = arns - set(made) - set(unjournaled)
            assert len(new) <= 1                                              # at most the one being journaled
            unjournaled.update(dict.fromkeys(new, pending))
            for backup in backups:
                target = f"restored{round_}"
                db.meta.client.restore_table_from_backup(TargetTableName=target, BackupArn=backup.arn)
                expected = made[backup.arn] if backup.arn in made else unjournaled[backup.arn]
                assert digest(db.engine.tables[target].rows) == expected
                db.Table(target).delete()
                restored += 1
    assert restored > 0
    made, gone, _ = read_journal(journal)
    assert len(made) >= 5 and gone                # the kills fell among backups and deletes, not before them
