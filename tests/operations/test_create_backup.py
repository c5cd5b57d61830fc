"""CreateBackup: an on-demand backup of a whole table at one point in time, without stopping writes.

Shape and error tests run on every face (``dynamodb``: embedded API, in-process
boto3 hook, HTTP server) through the low-level client; the point-in-time and
file tests run on the embedded database.
"""

import os
import re
import threading
import time
from pathlib import Path

import pytest

import kvstore
from kvstore.engine.backup import store

from .backup_helpers import ARN_RE, backup_items, fill
from .helpers import as_epoch, create_table, raises, unique_name, validation


def test_create_backup_answers_available_user_backup_details(dynamodb, client):
    """CreateBackup answers BackupDetails: an ARN under the table's ARN, the name, size, status and type."""
    table = create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"))
    fill(table, 10)
    before = time.time()
    details = client.create_backup(TableName=table.name, BackupName="nightly")["BackupDetails"]
    assert re.match(ARN_RE.format(table.name), details["BackupArn"])
    assert details["BackupName"] == "nightly"
    assert details["BackupStatus"] == "AVAILABLE"
    assert details["BackupType"] == "USER"
    assert details["BackupSizeBytes"] > 0
    assert before - 1 <= as_epoch(details["BackupCreationDateTime"]) <= time.time() + 1
    assert set(details) == {"BackupArn", "BackupName", "BackupSizeBytes", "BackupStatus", "BackupType",
                            "BackupCreationDateTime"}


def test_create_backup_accepts_the_table_arn(dynamodb, client):
    """TableName may be the table's ARN."""
    table = create_table(dynamodb)
    details = client.create_backup(TableName=table.table_arn, BackupName="by-arn")["BackupDetails"]
    assert re.match(ARN_RE.format(table.name), details["BackupArn"])


def test_create_backup_of_a_missing_table_is_table_not_found(dynamodb, client):
    name = unique_name()
    with raises("TableNotFoundException", f"Table not found: {name}"):
        client.create_backup(TableName=name, BackupName="b-1")


def test_two_backups_of_one_table_may_share_a_name(dynamodb, client):
    """BackupName need not be unique: each backup has its own ARN."""
    table = create_table(dynamodb)
    arns = {client.create_backup(TableName=table.name, BackupName="same")["BackupDetails"]["BackupArn"]
            for _ in range(2)}
    assert len(arns) == 2


# -- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, constraint", [
    ("ab", "Member must have length greater than or equal to 3"),
    ("x" * 256, "Member must have length less than or equal to 255"),
    ("no spaces", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
])
def test_backup_name_constraints(dynamodb, client, name, constraint):
    """BackupName is 3 to 255 characters of [a-zA-Z0-9_.-]."""
    table = create_table(dynamodb)
    with validation(f"1 validation error detected: Value '{name}' at 'backupName' failed to satisfy "
                    f"constraint: {constraint}"):
        client.create_backup(TableName=table.name, BackupName=name)


def test_create_backup_requires_both_names(client):
    with validation("2 validation errors detected: Value null at 'tableName' failed to satisfy constraint: "
                    "Member must not be null; Value null at 'backupName' failed to satisfy constraint: "
                    "Member must not be null"):
        client.create_backup()


def test_table_name_or_arn_is_1_to_1024_characters(client):
    """TableName takes a name or an ARN: only its length is constrained before the lookup."""
    long = "x" * 1025
    with validation(f"1 validation error detected: Value '{long}' at 'tableName' failed to satisfy constraint: "
                    "Member must have length less than or equal to 1024"):
        client.create_backup(TableName=long, BackupName="b-1")
    with validation("2 validation errors detected: Value null at 'tableName' failed to satisfy constraint: "
                    "Member must not be null; Value 'ab' at 'backupName' failed to satisfy constraint: "
                    "Member must have length greater than or equal to 3"):
        client.create_backup(BackupName="ab")


def test_an_empty_table_name_is_quoted_in_the_constraint_error(client):
    with validation("1 validation error detected: Value '' at 'tableName' failed to satisfy constraint: "
                    "Member must have length greater than or equal to 1"):
        client.create_backup(TableName="", BackupName="b-1")


# -- a point in time ------------------------------------------------------------------------------

def test_backup_is_a_point_in_time_copy_while_writes_continue(db):
    """A writer inserts keys 0, 1, 2, ... in order without pause; every backup taken meanwhile holds
    exactly a prefix 0..n-1 of them (no later key without every earlier one), although the keys
    hash to every partition of the table."""
    table = create_table(db, hash_key=("k", "N"))
    client = db.meta.client
    stop = threading.Event()
    started = threading.Event()
    written = [0]

    def writer():
        i = 0
        while not stop.is_set():
            table.put_item(Item={"k": i})
            i += 1
            written[0] = i
            if i == 200:
                started.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert started.wait(30)
        arns = [client.create_backup(TableName=table.name, BackupName=f"pit-{n}")["BackupDetails"]["BackupArn"]
                for n in range(5)]
    finally:
        stop.set()
        thread.join()
    counts = []
    for arn in arns:
        backup = store(db.engine).get(arn)
        keys = sorted(int(item["k"]) for item in backup_items(db, backup))
        assert keys == list(range(len(keys))), "the backup is not a prefix of the writes"
        assert backup.item_count == len(keys)
        counts.append(len(keys))
    assert counts == sorted(counts)
    assert counts[0] >= 200
    assert counts[-1] <= written[0]


# -- backup files ---------------------------------------------------------------------------------

def test_unfinished_backup_file_is_dropped_on_open(tmp_path):
    """A ``.tmp`` file under backups/ is a backup that was never published: removed on open, never listed."""
    path = str(tmp_path / "db")
    with kvstore.open(path) as db:
        table = create_table(db)
        db.meta.client.create_backup(TableName=table.name, BackupName="real")
    leftover = os.path.join(path, "backups", "01700000000000-00000000.backup.tmp")
    Path(leftover).write_bytes(b"half a backup")
    with kvstore.open(path) as db:
        assert len(db.meta.client.list_backups()["BackupSummaries"]) == 1
    assert not os.path.exists(leftover)
