"""DynamoDB's limit on concurrent restores, on every face.

"Any number of users can run up to 50 concurrent restores (any type of
restore) in a given account": RestoreTableToPointInTime and
RestoreTableFromBackup share it; one more is LimitExceededException.  The test
lowers the limit to 1 and holds one restore in progress.
"""

import threading

import pytest

from kvstore import limits

from .helpers import create_table, raises, unique_name
from .pitr_helpers import enable, face_db  # noqa: F401 (face_db: fixture)

MESSAGE = "Subscriber limit exceeded: Only 1 restores can be in progress at the same time"


@pytest.fixture
def one_restore_held(face_db, monkeypatch):
    """The limit is 1; ``hold()`` starts a PITR restore that stays in progress until the test ends."""
    monkeypatch.setattr(limits, "CONCURRENT_RESTORES", 1)
    entered, release = threading.Event(), threading.Event()
    pitr = face_db.engine.pitr
    original = pitr._rows_at

    def held(table, when):
        entered.set()
        release.wait(30)
        return original(table, when)

    threads = []

    def hold(client, source):
        monkeypatch.setattr(pitr, "_rows_at", held)
        thread = threading.Thread(target=client.restore_table_to_point_in_time, kwargs=dict(
            SourceTableName=source, TargetTableName=unique_name(), UseLatestRestorableTime=True))
        thread.start()
        threads.append(thread)
        assert entered.wait(30)
        monkeypatch.setattr(pitr, "_rows_at", original)

    yield hold
    release.set()
    for thread in threads:
        thread.join(30)


def test_a_restore_beyond_the_limit_is_limit_exceeded(dynamodb, client, face_db, one_restore_held):
    source = create_table(dynamodb)
    source.put_item(Item={"pk": "a"})
    enable(client, source.name)
    backup = client.create_backup(TableName=source.name, BackupName="held")["BackupDetails"]["BackupArn"]
    one_restore_held(client, source.name)
    with raises("LimitExceededException", MESSAGE):
        client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=unique_name(),
                                              UseLatestRestorableTime=True)
    with raises("LimitExceededException", MESSAGE):
        client.restore_table_from_backup(TargetTableName=unique_name(), BackupArn=backup)


def test_validation_comes_before_the_limit(dynamodb, client, face_db, one_restore_held):
    source = create_table(dynamodb)
    enable(client, source.name)
    one_restore_held(client, source.name)
    with raises("TableNotFoundException"):
        client.restore_table_to_point_in_time(SourceTableName=unique_name(), TargetTableName=unique_name(),
                                              UseLatestRestorableTime=True)
    with raises("TableAlreadyExistsException"):
        client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=source.name,
                                              UseLatestRestorableTime=True)


def test_a_finished_or_failed_restore_frees_its_place(dynamodb, client, face_db, monkeypatch):
    monkeypatch.setattr(limits, "CONCURRENT_RESTORES", 1)
    source = create_table(dynamodb)
    source.put_item(Item={"pk": "a"})
    enable(client, source.name)
    first = unique_name()
    client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=first,
                                          UseLatestRestorableTime=True)
    backup = client.create_backup(TableName=source.name, BackupName="held")["BackupDetails"]["BackupArn"]
    client.restore_table_from_backup(TargetTableName=unique_name(), BackupArn=backup)
    assert face_db.engine.restores_in_progress == 0
    with raises("TableAlreadyExistsException"):
        client.restore_table_from_backup(TargetTableName=first, BackupArn=backup)
    assert face_db.engine.restores_in_progress == 0
    client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=unique_name(),
                                          UseLatestRestorableTime=True)


def test_the_limit_is_dynamodbs():
    assert limits.CONCURRENT_RESTORES == 50
