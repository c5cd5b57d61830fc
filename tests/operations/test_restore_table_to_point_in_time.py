"""RestoreTableToPointInTime on every face: the items as they were, the source's settings, overrides, validation.

The database runs on a manual clock, so "as they were at T" is exact: writes
at T are in, writes a second later are not.  The model-based property over
random histories is tests/property/test_pitr_history.py.
"""

import pytest

from .helpers import create_table, index, raises, unique_name, validation
from .pitr_helpers import START, at, enable, epoch, face_db, pitr_description  # noqa: F401 (face_db: fixture)

INVALID_TIME = "RestoreDateTime must be between EarliestRestorableDateTime and LatestRestorableDateTime"


def _items(dynamodb, name):
    return sorted((i["pk"], int(i.get("v", -1))) for i in dynamodb.Table(name).scan()["Items"])


def _history(dynamodb, client, face_db, **table):
    """A PITR table: a=1 before T0, then each second one more change; returns the table and T0."""
    source = create_table(dynamodb, **table)
    source.put_item(Item={"pk": "a", "v": 1, "g": "x"})
    enable(client, source.name)
    t0 = face_db.clock()
    face_db.clock.advance(1)
    source.put_item(Item={"pk": "b", "v": 2, "g": "x"})             # T0 + 1
    face_db.clock.advance(1)
    source.update_item(Key={"pk": "a"}, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": 10})
    face_db.clock.advance(1)
    source.delete_item(Key={"pk": "b"})                              # T0 + 3
    face_db.clock.advance(1)
    client.transact_write_items(TransactItems=[                      # T0 + 4: both or neither
        {"Put": {"TableName": source.name, "Item": {"pk": "c", "v": 3}}},
        {"Delete": {"TableName": source.name, "Key": {"pk": "a"}}}])
    face_db.clock.advance(1)
    return source, t0


@pytest.mark.parametrize("offset, expected", [
    (0, [("a", 1)]), (0.5, [("a", 1)]), (1, [("a", 1), ("b", 2)]), (2, [("a", 10), ("b", 2)]),
    (3, [("a", 10)]), (3.999, [("a", 10)]), (4, [("c", 3)]), (5, [("c", 3)])])
def test_a_restore_holds_every_write_committed_at_or_before_the_time(dynamodb, client, face_db, offset, expected):
    source, t0 = _history(dynamodb, client, face_db)
    target = unique_name()
    response = client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=target,
                                                     RestoreDateTime=at(t0 + offset))
    description = response["TableDescription"]
    assert description["TableStatus"] == "ACTIVE"
    assert description["ItemCount"] == len(expected)
    summary = description["RestoreSummary"]
    assert summary["SourceTableArn"] == source.table_arn
    assert epoch(summary["RestoreDateTime"]) == pytest.approx(t0 + offset)
    assert summary["RestoreInProgress"] is False
    assert _items(dynamodb, target) == expected


def test_use_latest_restorable_time_restores_the_table_as_it_is(dynamodb, client, face_db):
    source, _t0 = _history(dynamodb, client, face_db)
    target = unique_name()
    client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=target,
                                          UseLatestRestorableTime=True)
    assert _items(dynamodb, target) == _items(dynamodb, source.name) == [("c", 3)]


def test_the_source_may_be_named_by_its_arn(dynamodb, client, face_db):
    source, t0 = _history(dynamodb, client, face_db)
    target = unique_name()
    client.restore_table_to_point_in_time(SourceTableArn=source.table_arn, TargetTableName=target,
                                          RestoreDateTime=at(t0 + 1))
    assert _items(dynamodb, target) == [("a", 1), ("b", 2)]


def test_the_new_table_takes_the_sources_current_indexes_and_not_its_pitr_or_tags(dynamodb, client, face_db):
    gsi = index("by_g", ("g", "S"))
    source, t0 = _history(dynamodb, client, face_db, gsis=[gsi],
                          Tags=[{"Key": "team", "Value": "orders"}])
    target = unique_name()
    description = client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=target,
                                                        RestoreDateTime=at(t0 + 1))["TableDescription"]
    assert [g["IndexName"] for g in description["GlobalSecondaryIndexes"]] == ["by_g"]
    assert sorted(i["pk"] for i in dynamodb.Table(target).scan(IndexName="by_g")["Items"]) == ["a", "b"]
    assert pitr_description(client, target) == {"PointInTimeRecoveryStatus": "DISABLED"}
    arn = description["TableArn"]
    assert client.list_tags_of_resource(ResourceArn=arn)["Tags"] == []


def test_overrides_set_billing_and_replace_the_indexes(dynamodb, client, face_db):
    source, t0 = _history(dynamodb, client, face_db, gsis=[index("by_g", ("g", "S"))])
    target = unique_name()
    description = client.restore_table_to_point_in_time(
        SourceTableName=source.name, TargetTableName=target, RestoreDateTime=at(t0 + 2),
        BillingModeOverride="PROVISIONED",
        ProvisionedThroughputOverride={"ReadCapacityUnits": 7, "WriteCapacityUnits": 3},
        GlobalSecondaryIndexOverride=[],
        SSESpecificationOverride={"Enabled": True, "SSEType": "KMS"})["TableDescription"]
    assert "BillingModeSummary" not in description
    assert description["ProvisionedThroughput"]["ReadCapacityUnits"] == 7
    assert "GlobalSecondaryIndexes" not in description
    assert description["SSEDescription"]["Status"] == "ENABLED"
    assert _items(dynamodb, target) == [("a", 10), ("b", 2)]


def test_an_lsi_override_builds_that_index_from_the_restored_items(dynamodb, client, face_db):
    source = create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"))
    enable(client, source.name)
    for sk in range(3):
        source.put_item(Item={"pk": "p", "sk": sk, "v": 10 - sk})
    when = face_db.clock()
    face_db.clock.advance(1)
    source.put_item(Item={"pk": "p", "sk": 9, "v": 0})
    target = unique_name()
    lsi = {"IndexName": "keys_only", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                  {"AttributeName": "sk", "KeyType": "RANGE"}],
           "Projection": {"ProjectionType": "KEYS_ONLY"}}
    description = client.restore_table_to_point_in_time(
        SourceTableName=source.name, TargetTableName=target, RestoreDateTime=at(when),
        LocalSecondaryIndexOverride=[lsi])["TableDescription"]
    assert [i["IndexName"] for i in description["LocalSecondaryIndexes"]] == ["keys_only"]
    found = dynamodb.Table(target).query(IndexName="keys_only", KeyConditionExpression="pk = :p",
                                         ExpressionAttributeValues={":p": "p"})["Items"]
    assert [(i["pk"], int(i["sk"])) for i in found] == [("p", 0), ("p", 1), ("p", 2)]


def test_an_lsi_override_on_a_table_without_a_sort_key_is_refused(dynamodb, client, face_db):
    source, t0 = _history(dynamodb, client, face_db, hash_key=("pk", "S"))
    target = unique_name()
    with validation(contains="Table KeySchema does not have a range key"):
        client.restore_table_to_point_in_time(
            SourceTableName=source.name, TargetTableName=target, RestoreDateTime=at(t0 + 2),
            LocalSecondaryIndexOverride=[{"IndexName": "by_v", "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "v", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"}}])
    assert target not in client.list_tables()["TableNames"]


def test_the_new_table_is_validated_as_create_table_validates(dynamodb, client, face_db):
    source, t0 = _history(dynamodb, client, face_db)
    with validation(contains="ReadCapacityUnits"):
        client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=unique_name(),
                                              RestoreDateTime=at(t0), BillingModeOverride="PROVISIONED")


def test_a_restored_table_is_independent_of_its_source(dynamodb, client, face_db):
    source, t0 = _history(dynamodb, client, face_db)
    target = unique_name()
    client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=target,
                                          RestoreDateTime=at(t0 + 2))
    dynamodb.Table(target).put_item(Item={"pk": "z", "v": 26})
    source.put_item(Item={"pk": "y", "v": 25})
    assert _items(dynamodb, target) == [("a", 10), ("b", 2), ("z", 26)]
    assert _items(dynamodb, source.name) == [("c", 3), ("y", 25)]


@pytest.mark.parametrize("offset", [-0.001, -3600])
def test_a_time_before_the_earliest_is_invalid_restore_time(dynamodb, client, face_db, offset):
    source, t0 = _history(dynamodb, client, face_db)
    with raises("InvalidRestoreTimeException", INVALID_TIME):
        client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=unique_name(),
                                              RestoreDateTime=at(t0 + offset))


def test_a_time_after_the_latest_is_invalid_restore_time(dynamodb, client, face_db):
    source, _t0 = _history(dynamodb, client, face_db)
    with raises("InvalidRestoreTimeException", INVALID_TIME):
        client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=unique_name(),
                                              RestoreDateTime=at(face_db.clock() + 1))


def test_a_time_past_the_recovery_period_is_invalid_restore_time(dynamodb, client, face_db):
    source = create_table(dynamodb)
    enable(client, source.name, RecoveryPeriodInDays=1)
    face_db.clock.advance(2 * 86400)
    with raises("InvalidRestoreTimeException", INVALID_TIME):
        client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=unique_name(),
                                              RestoreDateTime=at(START + 86400 - 1))


def test_a_table_without_pitr_is_point_in_time_recovery_unavailable(dynamodb, client):
    source = create_table(dynamodb)
    with raises("PointInTimeRecoveryUnavailableException",
                f"Point in time recovery is not enabled for table '{source.name}'"):
        client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=unique_name(),
                                              UseLatestRestorableTime=True)


def test_a_missing_source_is_table_not_found(client):
    name = unique_name()
    with raises("TableNotFoundException", f"Table not found: {name}"):
        client.restore_table_to_point_in_time(SourceTableName=name, TargetTableName=unique_name(),
                                              UseLatestRestorableTime=True)


def test_an_existing_target_is_table_already_exists(dynamodb, client, face_db):
    source, _t0 = _history(dynamodb, client, face_db)
    other = create_table(dynamodb)
    with raises("TableAlreadyExistsException", f"Table already exists: {other.name}"):
        client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=other.name,
                                              UseLatestRestorableTime=True)


def test_a_source_is_required(client):
    with validation("Either SourceTableName or SourceTableArn must be specified"):
        client.restore_table_to_point_in_time(TargetTableName=unique_name(), UseLatestRestorableTime=True)


def test_name_and_arn_together_are_refused(dynamodb, client):
    source = create_table(dynamodb)
    with validation("Only one of SourceTableName or SourceTableArn may be specified"):
        client.restore_table_to_point_in_time(SourceTableName=source.name, SourceTableArn=source.table_arn,
                                              TargetTableName=unique_name(), UseLatestRestorableTime=True)


def test_a_time_is_required(dynamodb, client):
    source = create_table(dynamodb)
    with validation("Either RestoreDateTime or UseLatestRestorableTime must be specified"):
        client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=unique_name())
    with validation("Either RestoreDateTime or UseLatestRestorableTime must be specified"):
        client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=unique_name(),
                                              UseLatestRestorableTime=False)


def test_a_time_and_latest_together_are_refused(dynamodb, client):
    source = create_table(dynamodb)
    with validation("Only one of RestoreDateTime or UseLatestRestorableTime may be specified"):
        client.restore_table_to_point_in_time(SourceTableName=source.name, TargetTableName=unique_name(),
                                              RestoreDateTime=at(START), UseLatestRestorableTime=True)


def test_member_constraints_are_reported_together(client):
    with validation("3 validation errors detected: Value 'x' at 'targetTableName' failed to satisfy constraint: "
                    "Member must have length greater than or equal to 3; Value 'a b' at 'sourceTableName' failed "
                    "to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; "
                    "Value 'FREE' at 'billingModeOverride' failed to satisfy constraint: Member must satisfy enum "
                    "value set: [PROVISIONED, PAY_PER_REQUEST]"):
        client.restore_table_to_point_in_time(SourceTableName="a b", TargetTableName="x",
                                              UseLatestRestorableTime=True, BillingModeOverride="FREE")


def test_the_target_name_is_required(client):
    with validation("1 validation error detected: Value null at 'targetTableName' failed to satisfy constraint: "
                    "Member must not be null"):
        client.restore_table_to_point_in_time(SourceTableName="abc", UseLatestRestorableTime=True)
