"""UpdateTimeToLive: enabling and disabling a table's TTL, every validation rule and message (reference 5.5).

Runs on every face.  The cooldown DynamoDB applies between changes is off by
default, as the reference advises for a local store, and on with
``kvstore.open(..., ttl_cooldown_seconds=...)``.
"""

import pytest

import kvstore
from kvstore.testing import ManualClock

from .helpers import create_table, raises, unique_name, validation, wrong_type

NULL = "failed to satisfy constraint: Member must not be null"


@pytest.fixture
def clock():
    return ManualClock(1_700_000_000)


@pytest.fixture
def face_db(clock):
    with kvstore.open(":memory:", clock=clock, ttl_cooldown_seconds=1800) as db:
        yield db


@pytest.fixture
def db(dynamodb):
    return dynamodb


@pytest.fixture
def no_cooldown(dynamodb, face_db):
    face_db.engine.ttl_cooldown_seconds = None


def update(db, table, enabled=True, attribute="expires"):
    return db.meta.client.update_time_to_live(
        TableName=table.name, TimeToLiveSpecification={"Enabled": enabled, "AttributeName": attribute})


def status(db, table):
    return db.meta.client.describe_time_to_live(TableName=table.name)["TimeToLiveDescription"]


# -- enabling and disabling ------------------------------------------------------------

def test_enable_echoes_the_specification(db, hash_table):
    """The response is the request's specification, no status."""
    response = update(db, hash_table)
    assert response["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expires"}
    assert status(db, hash_table) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}


def test_disable_echoes_and_forgets_the_attribute(db, hash_table, clock):
    """Disabling names the current attribute; afterwards DescribeTimeToLive shows DISABLED without a name."""
    update(db, hash_table)
    clock.advance(3600)
    response = update(db, hash_table, enabled=False)
    assert response["TimeToLiveSpecification"] == {"Enabled": False, "AttributeName": "expires"}
    assert status(db, hash_table) == {"TimeToLiveStatus": "DISABLED"}


def test_the_table_stays_active(db, hash_table):
    """UpdateTimeToLive does not put the table in UPDATING, and DescribeTable does not show TTL."""
    update(db, hash_table)
    table = db.meta.client.describe_table(TableName=hash_table.name)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert not any("TimeToLive" in member for member in table)


def test_a_key_attribute_may_be_the_ttl_attribute(db, range_table):
    """Even a key attribute (here the N sort key) is accepted."""
    update(db, range_table, attribute="sk")
    assert status(db, range_table)["AttributeName"] == "sk"


def test_a_string_key_attribute_is_accepted_too(db, hash_table):
    """A non-N key attribute is accepted as well (its items then never expire)."""
    update(db, hash_table, attribute="pk")
    assert status(db, hash_table) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "pk"}


def test_attribute_name_of_255_characters(db, hash_table):
    update(db, hash_table, attribute="a" * 255)
    assert status(db, hash_table)["AttributeName"] == "a" * 255


def test_any_characters_in_the_attribute_name(db, hash_table):
    update(db, hash_table, attribute="exp.at#1 é")
    assert status(db, hash_table)["AttributeName"] == "exp.at#1 é"


# -- content rules ---------------------------------------------------------------------------

def test_enable_twice(db, hash_table):
    update(db, hash_table)
    with validation("TimeToLive is already enabled"):
        update(db, hash_table)


def test_enable_another_attribute_while_enabled(db, hash_table):
    update(db, hash_table)
    with validation("TimeToLive is active on a different AttributeName: current AttributeName is expires"):
        update(db, hash_table, attribute="other")


def test_disable_naming_another_attribute(db, hash_table):
    update(db, hash_table)
    with validation("TimeToLive is active on a different AttributeName: current AttributeName is expires"):
        update(db, hash_table, enabled=False, attribute="other")
    assert status(db, hash_table) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}


def test_disable_when_never_enabled(db, hash_table):
    with validation("TimeToLive is already disabled"):
        update(db, hash_table, enabled=False)


def test_disable_twice(db, hash_table, no_cooldown):
    update(db, hash_table)
    update(db, hash_table, enabled=False)
    with validation("TimeToLive is already disabled"):
        update(db, hash_table, enabled=False)


def test_change_of_attribute_is_disable_then_enable(db, hash_table, no_cooldown):
    update(db, hash_table)
    update(db, hash_table, enabled=False)
    update(db, hash_table, attribute="other")
    assert status(db, hash_table) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "other"}


# -- the cooldown (ttl_cooldown_seconds) --------------------------------------------------------

def test_change_within_the_cooldown_is_refused(db, hash_table, clock):
    update(db, hash_table)
    clock.advance(1799)
    with validation("Time to live has been modified multiple times within a fixed interval"):
        update(db, hash_table, enabled=False)
    assert status(db, hash_table) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}


def test_change_after_the_cooldown_is_accepted(db, hash_table, clock):
    update(db, hash_table)
    clock.advance(1800)
    update(db, hash_table, enabled=False)
    assert status(db, hash_table) == {"TimeToLiveStatus": "DISABLED"}


def test_content_rules_come_before_the_cooldown(db, hash_table, clock):
    """Re-enabling within the cooldown still says already enabled."""
    update(db, hash_table)
    with validation("TimeToLive is already enabled"):
        update(db, hash_table)
    with validation("TimeToLive is active on a different AttributeName: current AttributeName is expires"):
        update(db, hash_table, enabled=False, attribute="other")


def test_failed_changes_do_not_extend_the_cooldown(db, hash_table, clock):
    update(db, hash_table)
    clock.advance(1000)
    with validation("Time to live has been modified multiple times within a fixed interval"):
        update(db, hash_table, enabled=False)
    clock.advance(800)
    update(db, hash_table, enabled=False)


def test_every_success_restarts_the_cooldown(db, hash_table, clock):
    update(db, hash_table)
    clock.advance(1800)
    update(db, hash_table, enabled=False)
    clock.advance(1799)
    with validation("Time to live has been modified multiple times within a fixed interval"):
        update(db, hash_table)


def test_no_cooldown_by_default(db, hash_table):
    """Without ttl_cooldown_seconds a database accepts changes back to back."""
    with kvstore.open(":memory:") as other:
        table = create_table(other)
        update(other, table)
        update(other, table, enabled=False)
        update(other, table)
        assert status(other, table)["TimeToLiveStatus"] == "ENABLED"


# -- request validation ---------------------------------------------------------------------

def test_missing_table(db):
    with raises("ResourceNotFoundException"):
        db.meta.client.update_time_to_live(
            TableName=unique_name(), TimeToLiveSpecification={"Enabled": True, "AttributeName": "x"})


def test_missing_specification(db, hash_table):
    with validation(f"1 validation error detected: Value null at 'timeToLiveSpecification' {NULL}"):
        db.meta.client.update_time_to_live(TableName=hash_table.name)


@pytest.mark.parametrize("enabled", [True, False])
def test_missing_attribute_name(db, hash_table, enabled):
    """AttributeName is required to disable as well as to enable."""
    with validation(f"1 validation error detected: Value null at 'timeToLiveSpecification.attributeName' {NULL}"):
        db.meta.client.update_time_to_live(TableName=hash_table.name,
                                           TimeToLiveSpecification={"Enabled": enabled})


def test_missing_enabled(db, hash_table):
    with validation(f"1 validation error detected: Value null at 'timeToLiveSpecification.enabled' {NULL}"):
        db.meta.client.update_time_to_live(TableName=hash_table.name,
                                           TimeToLiveSpecification={"AttributeName": "x"})


def test_both_members_missing(db, hash_table):
    with validation(f"2 validation errors detected: Value null at 'timeToLiveSpecification.attributeName' {NULL}; "
                    f"Value null at 'timeToLiveSpecification.enabled' {NULL}"):
        db.meta.client.update_time_to_live(TableName=hash_table.name, TimeToLiveSpecification={})


def test_attribute_name_too_long(db, hash_table):
    name = "a" * 256
    with validation(f"1 validation error detected: Value '{name}' at 'timeToLiveSpecification.attributeName' "
                    "failed to satisfy constraint: Member must have length less than or equal to 255"):
        update(db, hash_table, attribute=name)


def test_empty_attribute_name(db, hash_table):
    with validation("1 validation error detected: Value '' at 'timeToLiveSpecification.attributeName' "
                    "failed to satisfy constraint: Member must have length greater than or equal to 1"):
        update(db, hash_table, attribute="")


def test_constraints_come_before_the_table_lookup(db):
    """A missing table with a bad specification is a ValidationException, not ResourceNotFound."""
    with validation(contains="timeToLiveSpecification.enabled"):
        db.meta.client.update_time_to_live(TableName=unique_name(), TimeToLiveSpecification={"AttributeName": "x"})


def test_bad_table_name(db):
    with validation(contains=["tableName", "Member must satisfy regular expression pattern"]):
        db.meta.client.update_time_to_live(TableName="bad name!",
                                           TimeToLiveSpecification={"Enabled": True, "AttributeName": "x"})


def test_enabled_not_a_boolean(db, hash_table):
    with wrong_type(db, "TimeToLiveSpecification.Enabled"):
        db.meta.client.update_time_to_live(TableName=hash_table.name,
                                           TimeToLiveSpecification={"Enabled": "dog", "AttributeName": "x"})


def test_attribute_name_not_a_string(db, hash_table):
    with wrong_type(db, "TimeToLiveSpecification.AttributeName"):
        db.meta.client.update_time_to_live(TableName=hash_table.name,
                                           TimeToLiveSpecification={"Enabled": True, "AttributeName": 3})


# -- where the settings go -------------------------------------------------------------------

def test_settings_survive_a_restart(tmp_path):
    """The settings are in the table's catalog entry: logged, checkpointed, recovered."""
    with kvstore.open(str(tmp_path)) as first:
        table = create_table(first)
        update(first, table)
    with kvstore.open(str(tmp_path)) as second:
        assert status(second, second.Table(table.name)) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
        second.checkpoint()
    with kvstore.open(str(tmp_path)) as third:
        assert status(third, third.Table(table.name))["AttributeName"] == "expires"


def test_backups_record_ttl_and_restores_do_not_carry_it(db, hash_table):
    """DescribeBackup lists the source's TTL; the restored table has TTL disabled (as in DynamoDB)."""
    client = db.meta.client
    update(db, hash_table)
    arn = client.create_backup(TableName=hash_table.name, BackupName="before-ttl")["BackupDetails"]["BackupArn"]
    details = client.describe_backup(BackupArn=arn)["BackupDescription"]["SourceTableFeatureDetails"]
    assert details["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    target = unique_name()
    client.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    assert client.describe_time_to_live(TableName=target)["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}
