"""StreamSpecification on CreateTable and UpdateTable: the rules, their messages, the table description."""

import re

import pytest

from .helpers import describe, validation
from .stream_helpers import stream_table
from .helpers import create_table, unique_name

INVALID = "One or more parameter values were invalid: "
ENUM = "[OLD_IMAGE, KEYS_ONLY, NEW_AND_OLD_IMAGES, NEW_IMAGE]"


def _create(db, spec, **extra):
    return create_table(db, unique_name(), StreamSpecification=spec, **extra)


def test_create_with_stream_describes_it(dynamodb):
    """StreamSpecification, LatestStreamArn = <tableArn>/stream/<label>, label = ISO time with ms, no zone."""
    table = stream_table(dynamodb, "NEW_AND_OLD_IMAGES")
    d = describe(table)
    assert d["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", d["LatestStreamLabel"])
    assert d["LatestStreamArn"] == f"{d['TableArn']}/stream/{d['LatestStreamLabel']}"


def test_create_response_carries_the_stream(dynamodb):
    """The CreateTable response already names the stream."""
    name = unique_name()
    response = dynamodb.meta.client.create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})["TableDescription"]
    assert response["StreamSpecification"]["StreamViewType"] == "KEYS_ONLY" and response["LatestStreamArn"]


def test_stream_disabled_alone_means_no_stream(dynamodb):
    """{StreamEnabled: false}: no stream, none of the three members."""
    d = describe(_create(dynamodb, {"StreamEnabled": False}))
    assert not {"StreamSpecification", "LatestStreamArn", "LatestStreamLabel"} & set(d)


def test_create_enabled_without_view_type(dynamodb):
    with validation(INVALID + "Table is being created with a stream enabled, UpdateViewType is required"):
        _create(dynamodb, {"StreamEnabled": True})


def test_create_disabled_with_view_type(dynamodb):
    with validation(INVALID + "Table is being created with a stream disabled, UpdateViewType should not be "
                              "specified"):
        _create(dynamodb, {"StreamEnabled": False, "StreamViewType": "KEYS_ONLY"})


@pytest.mark.parametrize("spec", [{}, {"StreamViewType": "KEYS_ONLY"}])
def test_stream_enabled_missing(dynamodb, spec):
    with validation("1 validation error detected: Value null at 'streamSpecification.streamEnabled' failed to "
                    "satisfy constraint: Member must not be null"):
        _create(dynamodb, spec)
    table = create_table(dynamodb, unique_name())
    with validation("1 validation error detected: Value null at 'streamSpecification.streamEnabled' failed to "
                    "satisfy constraint: Member must not be null"):
        table.update(StreamSpecification=spec)


@pytest.mark.parametrize("view", ["new_image", "Fisk"])
def test_view_type_enum(dynamodb, view):
    with validation(f"1 validation error detected: Value '{view}' at 'streamSpecification.streamViewType' failed "
                    f"to satisfy constraint: Member must satisfy enum value set: {ENUM}"):
        _create(dynamodb, {"StreamEnabled": True, "StreamViewType": view})


@pytest.mark.parametrize("view", ["KEYS_ONLY", "NEW_IMAGE"])
def test_enable_twice(dynamodb, view):
    """Enabling while a stream is enabled, same or another view type: refused."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    with validation(f"Table already has an enabled stream: TableName: {table.name}"):
        table.update(StreamSpecification={"StreamEnabled": True, "StreamViewType": view})


def test_update_enable_without_view_type(dynamodb):
    table = create_table(dynamodb, unique_name())
    with validation(INVALID + "If stream is being enabled then UpdateViewType is required"):
        table.update(StreamSpecification={"StreamEnabled": True})


def test_update_disable_with_view_type(dynamodb):
    table = stream_table(dynamodb, "KEYS_ONLY")
    with validation(INVALID + "If stream is being disabled, then UpdateViewType must not be specified"):
        table.update(StreamSpecification={"StreamEnabled": False, "StreamViewType": "KEYS_ONLY"})


def test_disable_without_stream(dynamodb):
    """Never enabled, or already disabled: nothing to disable."""
    table = create_table(dynamodb, unique_name())
    message = f"Table has no stream to disable: TableName: {table.name}"
    with validation(message):
        table.update(StreamSpecification={"StreamEnabled": False})
    table.update(StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    table.update(StreamSpecification={"StreamEnabled": False})
    with validation(message):
        table.update(StreamSpecification={"StreamEnabled": False})


def test_stream_change_with_throughput(dynamodb):
    """A stream change together with provisioned throughput is refused; with PAY_PER_REQUEST it is fine."""
    table = create_table(dynamodb, unique_name())
    with validation(INVALID + "You cannot modify stream status while updating table IOPS"):
        table.update(StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
                     BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    table.update(StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
                 BillingMode="PAY_PER_REQUEST")
    assert describe(table)["StreamSpecification"]["StreamEnabled"] is True


def test_disable_keeps_latest_stream_members(dynamodb):
    """After a disable StreamSpecification is omitted, LatestStreamArn/Label still name the old stream;
    re-enabling makes a new stream with a new label."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    first = describe(table)
    table.update(StreamSpecification={"StreamEnabled": False})
    d = describe(table)
    assert "StreamSpecification" not in d
    assert (d["LatestStreamArn"], d["LatestStreamLabel"]) == (first["LatestStreamArn"], first["LatestStreamLabel"])
    table.update(StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    d = describe(table)
    assert d["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert d["LatestStreamArn"] != first["LatestStreamArn"]


def test_update_response_carries_the_new_stream(dynamodb):
    table = create_table(dynamodb, unique_name())
    response = dynamodb.meta.client.update_table(
        TableName=table.name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    assert response["TableDescription"]["LatestStreamArn"] == describe(table)["LatestStreamArn"]
