"""DescribeLimits: the account and per-table capacity quotas, DynamoDB's defaults."""


def test_describe_limits_answers_dynamodbs_default_quotas(client):
    response = client.describe_limits()
    response.pop("ResponseMetadata")
    assert response == {"AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000,
                        "TableMaxReadCapacityUnits": 40000, "TableMaxWriteCapacityUnits": 40000}


def test_describe_limits_does_not_depend_on_the_tables(dynamodb, client):
    from .helpers import create_table
    before = client.describe_limits()
    create_table(dynamodb)
    after = client.describe_limits()
    before.pop("ResponseMetadata"), after.pop("ResponseMetadata")
    assert before == after
