"""UpdateContinuousBackups: point-in-time recovery on and off, the recovery period, validation, on every face."""

import pytest

from .helpers import create_table, raises, unique_name, validation
from .pitr_helpers import START, enable, epoch, face_db, pitr_description  # noqa: F401 (face_db: fixture)

SPEC = "pointInTimeRecoverySpecification"


def test_enabling_answers_the_new_description(dynamodb, client, face_db):
    table = create_table(dynamodb)
    face_db.clock.advance(5)
    response = enable(client, table.name)
    description = response["ContinuousBackupsDescription"]
    assert description["ContinuousBackupsStatus"] == "ENABLED"
    pitr = description["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    assert pitr["RecoveryPeriodInDays"] == 35
    assert epoch(pitr["EarliestRestorableDateTime"]) == START + 5
    assert epoch(pitr["LatestRestorableDateTime"]) == START + 5


def test_the_window_grows_with_time_and_is_capped_by_the_recovery_period(dynamodb, client, face_db):
    table = create_table(dynamodb)
    enable(client, table.name, RecoveryPeriodInDays=2)
    face_db.clock.advance(86400)
    pitr = pitr_description(client, table.name)
    assert (epoch(pitr["EarliestRestorableDateTime"]), epoch(pitr["LatestRestorableDateTime"])) == \
        (START, START + 86400)
    face_db.clock.advance(3 * 86400)
    pitr = pitr_description(client, table.name)
    assert epoch(pitr["EarliestRestorableDateTime"]) == START + 4 * 86400 - 2 * 86400
    assert pitr["RecoveryPeriodInDays"] == 2


def test_changing_the_period_keeps_the_history(dynamodb, client, face_db):
    table = create_table(dynamodb)
    enable(client, table.name, RecoveryPeriodInDays=7)
    face_db.clock.advance(100)
    pitr = enable(client, table.name)["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["RecoveryPeriodInDays"] == 7                       # unchanged when not given
    pitr = enable(client, table.name, RecoveryPeriodInDays=3)["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"]
    assert pitr["RecoveryPeriodInDays"] == 3
    assert epoch(pitr["EarliestRestorableDateTime"]) == START


def test_disabling_drops_the_history_and_enabling_again_starts_anew(dynamodb, client, face_db):
    table = create_table(dynamodb)
    enable(client, table.name)
    face_db.clock.advance(60)
    response = client.update_continuous_backups(
        TableName=table.name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    assert response["ContinuousBackupsDescription"] == {
        "ContinuousBackupsStatus": "ENABLED",
        "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}}
    face_db.clock.advance(60)
    pitr = enable(client, table.name)["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert epoch(pitr["EarliestRestorableDateTime"]) == START + 120


def test_the_table_may_be_named_by_its_arn(dynamodb, client):
    table = create_table(dynamodb)
    enable(client, table.table_arn)
    assert pitr_description(client, table.name)["PointInTimeRecoveryStatus"] == "ENABLED"


def test_a_missing_table_is_table_not_found(client):
    name = unique_name()
    with raises("TableNotFoundException", f"Table not found: {name}"):
        enable(client, name)


def test_the_specification_is_required(client):
    with validation("2 validation errors detected: Value null at 'tableName' failed to satisfy constraint: "
                    "Member must not be null; Value null at 'pointInTimeRecoverySpecification' failed to satisfy "
                    "constraint: Member must not be null"):
        client.update_continuous_backups()


def test_point_in_time_recovery_enabled_is_required(dynamodb, client):
    table = create_table(dynamodb)
    with validation(f"1 validation error detected: Value null at '{SPEC}.pointInTimeRecoveryEnabled' failed to "
                    "satisfy constraint: Member must not be null"):
        client.update_continuous_backups(TableName=table.name,
                                         PointInTimeRecoverySpecification={"RecoveryPeriodInDays": 3})


@pytest.mark.parametrize("days, constraint", [(0, "Member must have value greater than or equal to 1"),
                                              (36, "Member must have value less than or equal to 35")])
def test_the_recovery_period_is_1_to_35_days(dynamodb, client, days, constraint):
    table = create_table(dynamodb)
    with validation(f"1 validation error detected: Value '{days}' at '{SPEC}.recoveryPeriodInDays' failed to "
                    f"satisfy constraint: {constraint}"):
        enable(client, table.name, RecoveryPeriodInDays=days)
    assert pitr_description(client, table.name)["PointInTimeRecoveryStatus"] == "DISABLED"


def test_a_recovery_period_without_enabling_is_refused(dynamodb, client):
    """Not silently ignored: a period only means something while PITR is on."""
    table = create_table(dynamodb)
    with validation("RecoveryPeriodInDays can only be set when PointInTimeRecoveryEnabled is true"):
        client.update_continuous_backups(TableName=table.name, PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": False, "RecoveryPeriodInDays": 3})


def test_the_table_name_is_at_most_1024_characters(client):
    long = "x" * 1025
    with validation(f"1 validation error detected: Value '{long}' at 'tableName' failed to satisfy constraint: "
                    "Member must have length less than or equal to 1024"):
        enable(client, long)
