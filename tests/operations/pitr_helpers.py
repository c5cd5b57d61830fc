"""What the point-in-time recovery tests share: a database on a manual clock, and timestamps on any face."""

from datetime import datetime, timezone

import pytest

import kvstore
from kvstore.clock import ManualClock

#: the manual clock's start: 2026-01-01T00:00:00Z
START = 1_767_225_600.0


@pytest.fixture
def face_db():
    """The database behind ``dynamodb`` on every face, on a manual clock (``face_db.clock.advance``)."""
    with kvstore.open(":memory:", clock=ManualClock(START)) as db:
        yield db


def epoch(value):
    """A timestamp as boto3 returns it (a datetime) or as the embedded API does (epoch seconds)."""
    return value.timestamp() if isinstance(value, datetime) else float(value)


def at(seconds):
    """A RestoreDateTime every face accepts."""
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def enable(client, name, **spec):
    return client.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, **spec})


def pitr_description(client, name):
    return client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"]
