"""The table's schema, as code: one definition for kvstore, DynamoDB and DynamoDB's import.

``definition(name)`` is the CreateTable request; the service creates the table
from it on start (when configured to), ``python -m examples.orders
create-tables`` creates it on any backend, and ``import-parameters`` prints
the same definition as the ``TableCreationParameters`` of DynamoDB's
ImportTable (import from S3 creates the table itself).

On-demand billing (PAY_PER_REQUEST): a small service has spiky, low traffic,
and there is no capacity to size.  Both indexes project ALL attributes, so a
listing is one Query and never a Query plus a GetItem per row.

Time to Live on ``expires_at`` (epoch seconds): idempotency records carry it
and the database deletes them a while after it passes (kvstore within a
second, DynamoDB within about two days, so the store never trusts a record
past its ``expires_at``).  TTL is not part of CreateTable (nor of ImportTable's
parameters): :func:`create_table` turns it on with UpdateTimeToLive.

A stream of every change, old and new images (``NEW_AND_OLD_IMAGES``): the
order summaries (summaries.py) are kept current from it.  ImportTable cannot
create a stream either; :func:`create_table` adds one to a table without.
"""

from examples.orders import keys

DEFAULT_TABLE = "orders"
#: the Number attribute (epoch seconds) after which the database deletes an item
TTL_ATTRIBUTE = "expires_at"
STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def definition(name=DEFAULT_TABLE):
    """CreateTable keyword arguments of the orders table."""
    def index(index_name, hash_key, range_key):
        return {
            "IndexName": index_name,
            "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"},
                          {"AttributeName": range_key, "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }

    return {
        "TableName": name,
        "KeySchema": [{"AttributeName": keys.PK, "KeyType": "HASH"},
                      {"AttributeName": keys.SK, "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": attribute, "AttributeType": "S"} for attribute in
                                 (keys.PK, keys.SK, keys.GSI1PK, keys.GSI1SK, keys.GSI2PK, keys.GSI2SK)],
        "GlobalSecondaryIndexes": [index(keys.GSI1, keys.GSI1PK, keys.GSI1SK),
                                   index(keys.GSI2, keys.GSI2PK, keys.GSI2SK)],
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": dict(STREAM),
    }


def import_parameters(name=DEFAULT_TABLE):
    """``TableCreationParameters`` for ``aws dynamodb import-table`` (same table, same indexes; the
    stream and TTL are turned on afterwards, see README.md)."""
    params = definition(name)
    del params["StreamSpecification"]
    return params


def create_table(resource, name=DEFAULT_TABLE, exist_ok=True):
    """Create the table on ``resource`` (kvstore database or boto3 resource); True if created.

    Waits until the table is ACTIVE (immediate on kvstore, seconds on DynamoDB),
    then turns Time to Live on.  An existing table is left alone when
    ``exist_ok`` (its schema is not compared), except that its stream and TTL
    are turned on if they are off.
    """
    try:
        table = resource.create_table(**definition(name))
    except resource.meta.client.exceptions.ClientError as e:
        if exist_ok and e.response["Error"]["Code"] == "ResourceInUseException":
            enable_stream(resource, name)
            enable_time_to_live(resource, name)
            return False
        raise
    table.wait_until_exists()
    enable_time_to_live(resource, name)
    return True


def enable_stream(resource, name=DEFAULT_TABLE):
    """Give a table created without one its stream (a table made by ImportTable, or by an older version)."""
    table = resource.meta.client.describe_table(TableName=name)["Table"]
    if table.get("StreamSpecification", {}).get("StreamEnabled"):
        return False
    resource.meta.client.update_table(TableName=name, StreamSpecification=dict(STREAM))
    resource.Table(name).wait_until_exists()
    return True


def enable_time_to_live(resource, name=DEFAULT_TABLE):
    """Turn TTL on for ``expires_at`` unless it already is (DynamoDB refuses to enable it twice)."""
    client = resource.meta.client
    status = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if status.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and status.get("AttributeName") == TTL_ATTRIBUTE:
        return False
    client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True,
                                                                        "AttributeName": TTL_ATTRIBUTE})
    return True


def table_exists(resource, name=DEFAULT_TABLE):
    try:
        resource.Table(name).load()
    except resource.meta.client.exceptions.ClientError as e:
        if e.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise
    return True
