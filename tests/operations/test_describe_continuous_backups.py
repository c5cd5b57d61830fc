"""DescribeContinuousBackups: continuous backups ENABLED; point-in-time recovery DISABLED until it is turned on."""

from .helpers import create_table, raises, unique_name, validation

DESCRIPTION = {"ContinuousBackupsStatus": "ENABLED",
               "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}}


def test_describe_continuous_backups_of_a_table(dynamodb, client):
    table = create_table(dynamodb)
    response = client.describe_continuous_backups(TableName=table.name)
    response.pop("ResponseMetadata")
    assert response == {"ContinuousBackupsDescription": DESCRIPTION}


def test_the_table_may_be_named_by_its_arn(dynamodb, client):
    table = create_table(dynamodb)
    response = client.describe_continuous_backups(TableName=table.table_arn)
    assert response["ContinuousBackupsDescription"] == DESCRIPTION


def test_a_missing_table_is_table_not_found(client):
    name = unique_name()
    with raises("TableNotFoundException", f"Table not found: {name}"):
        client.describe_continuous_backups(TableName=name)


def test_a_name_no_table_could_have_is_not_found(client):
    """TableName takes a name or an ARN: 1 to 1024 characters, no pattern."""
    with raises("TableNotFoundException", "Table not found: a b"):
        client.describe_continuous_backups(TableName="a b")


def test_table_name_is_required(client):
    with validation("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: "
                    "Member must not be null"):
        client.describe_continuous_backups()


def test_table_name_is_at_most_1024_characters(client):
    long = "x" * 1025
    with validation(f"1 validation error detected: Value '{long}' at 'tableName' failed to satisfy constraint: "
                    "Member must have length less than or equal to 1024"):
        client.describe_continuous_backups(TableName=long)


def test_point_in_time_recovery_can_be_enabled(dynamodb, client):
    table = create_table(dynamodb)
    client.update_continuous_backups(TableName=table.name,
                                     PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    status = client.describe_continuous_backups(TableName=table.name)["ContinuousBackupsDescription"]
    assert status["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert set(status["PointInTimeRecoveryDescription"]) == {
        "PointInTimeRecoveryStatus", "RecoveryPeriodInDays", "EarliestRestorableDateTime", "LatestRestorableDateTime"}
