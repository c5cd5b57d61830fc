"""DescribeTimeToLive: ENABLED with the attribute, or DISABLED without one (reference 5.5).  Every face."""

import pytest

from .helpers import raises, unique_name, validation


@pytest.fixture
def db(dynamodb):
    return dynamodb


def describe(db, name):
    return db.meta.client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]


def test_never_configured(db, hash_table):
    assert describe(db, hash_table.name) == {"TimeToLiveStatus": "DISABLED"}


def test_enabled(db, hash_table):
    db.meta.client.update_time_to_live(TableName=hash_table.name,
                                       TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert describe(db, hash_table.name) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}


def test_disabled_after_enabled(db, hash_table):
    """The settled state at once (never ENABLING/DISABLING), and the old attribute is forgotten."""
    client = db.meta.client
    client.update_time_to_live(TableName=hash_table.name,
                               TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    client.update_time_to_live(TableName=hash_table.name,
                               TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"})
    assert describe(db, hash_table.name) == {"TimeToLiveStatus": "DISABLED"}


def test_missing_table(db):
    with raises("ResourceNotFoundException"):
        describe(db, unique_name())


def test_deleted_table(db, hash_table):
    hash_table.delete()
    with raises("ResourceNotFoundException"):
        describe(db, hash_table.name)


def test_table_name_constraints(db):
    with validation(contains=["tableName", "Member must satisfy regular expression pattern"]):
        describe(db, "bad name!")


def test_missing_table_name(db):
    with validation("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: "
                    "Member must not be null"):
        db.meta.client.describe_time_to_live()
