"""TagResource / UntagResource / ListTagsOfResource on table ARNs (through the resource's low-level client)."""

import pytest

from .helpers import create_table, describe, index, raises, unique_name, validation


@pytest.fixture
def arn(hash_table):
    return describe(hash_table)["TableArn"]


@pytest.fixture
def client(db):
    return db.meta.client


def tags_of(client, arn):
    return {t["Key"]: t["Value"] for t in client.list_tags_of_resource(ResourceArn=arn)["Tags"]}


def test_new_table_has_no_tags(client, arn):
    """A table created without tags lists none."""
    assert client.list_tags_of_resource(ResourceArn=arn)["Tags"] == []


def test_tag_and_list(client, arn):
    """TagResource adds tags; ListTagsOfResource returns them."""
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "storage"}, {"Key": "env", "Value": ""}])
    assert tags_of(client, arn) == {"team": "storage", "env": ""}


def test_retagging_overwrites(client, arn):
    """Tagging an existing key replaces its value."""
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "1"}])
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "2"}, {"Key": "other", "Value": "x"}])
    assert tags_of(client, arn) == {"k": "2", "other": "x"}


def test_untag(client, arn):
    """UntagResource removes keys; absent keys are fine."""
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    client.untag_resource(ResourceArn=arn, TagKeys=["a", "never-set"])
    assert tags_of(client, arn) == {"b": "2"}


def test_tags_given_at_creation(db, client):
    """Tags given to CreateTable are listed."""
    table = create_table(db, Tags=[{"Key": "created", "Value": "yes"}])
    assert tags_of(client, describe(table)["TableArn"]) == {"created": "yes"}


def test_allowed_characters(client, arn):
    """Letters, digits, whitespace and + - = . _ : / @ are allowed; lengths 128 (key) and 256 (value)."""
    tags = [{"Key": "a b+c-d=e.f_g:h/i@j", "Value": "ok value"}, {"Key": "k" * 128, "Value": "v" * 256},
            {"Key": "ключ", "Value": "значение"}]
    client.tag_resource(ResourceArn=arn, Tags=tags)
    assert tags_of(client, arn) == {t["Key"]: t["Value"] for t in tags}


def test_fifty_tags(client, arn):
    """Up to 50 tags per resource."""
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert len(tags_of(client, arn)) == 50


def test_more_than_fifty_tags(client, arn):
    """A 51st tag is rejected and nothing changes."""
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with validation():
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": "one-more", "Value": "v"}])
    assert len(tags_of(client, arn)) == 50


def test_empty_tag_list(client, arn):
    """At least one tag."""
    with validation("Atleast one Tag needs to be provided as Input."):
        client.tag_resource(ResourceArn=arn, Tags=[])


@pytest.mark.parametrize("tag", [{"Key": "", "Value": "v"}, {"Key": "k" * 129, "Value": "v"},
                                 {"Key": "k", "Value": "v" * 257}, {"Key": "bad*char", "Value": "v"},
                                 {"Key": "k", "Value": "bad#value"}])
def test_invalid_tags(client, arn, tag):
    """Empty or over-long keys, over-long values and disallowed characters are rejected."""
    with validation():
        client.tag_resource(ResourceArn=arn, Tags=[tag])
    assert tags_of(client, arn) == {}


def test_index_arn_is_rejected(db, client):
    """Only table ARNs can be tagged: an index ARN is a ValidationException."""
    table = create_table(db, gsis=[index("gsi", ("g", "S"))])
    index_arn = describe(table)["GlobalSecondaryIndexes"][0]["IndexArn"]
    with validation():
        client.tag_resource(ResourceArn=index_arn, Tags=[{"Key": "k", "Value": "v"}])


def test_arn_must_start_with_arn(client):
    """Something that is not an ARN is a ValidationException."""
    with validation(contains="ARNs must start with 'arn:'"):
        client.list_tags_of_resource(ResourceArn="table/x")


def test_missing_table_in_own_account(client, arn):
    """A well-formed ARN of a missing table in the caller's account is ResourceNotFoundException."""
    missing = arn.rsplit("/", 1)[0] + "/" + unique_name()
    with raises("ResourceNotFoundException"):
        client.tag_resource(ResourceArn=missing, Tags=[{"Key": "k", "Value": "v"}])
    with raises("ResourceNotFoundException"):
        client.list_tags_of_resource(ResourceArn=missing)


def test_another_account_is_access_denied(client, arn):
    """An ARN naming another account is AccessDeniedException."""
    parts = arn.split(":")
    parts[4] = "000000000000"
    with raises("AccessDeniedException"):
        client.tag_resource(ResourceArn=":".join(parts), Tags=[{"Key": "k", "Value": "v"}])


def test_tags_go_with_the_table(db, client):
    """A recreated table starts without the old table's tags."""
    table = create_table(db)
    arn = describe(table)["TableArn"]
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    table.delete()
    table.wait_until_not_exists()
    again = create_table(db, table.name)
    assert tags_of(client, describe(again)["TableArn"]) == {}
