"""The two tables the wire GetItem tests read (``tests/wire/test_get_item_path.py`` and the core
agreement tests in ``tests/test_core_wire.py``): ``snk`` (an S HASH key and an N RANGE key) and
``bink`` (a B HASH key), on demand."""


def create_get_item_tables(db):
    """Create both in ``db``; returns their Table objects."""
    db.create_table(TableName="snk", BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                          {"AttributeName": "sk", "AttributeType": "N"}])
    db.create_table(TableName="bink", BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "B"}])
    return db.Table("snk"), db.Table("bink")
