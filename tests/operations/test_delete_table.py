"""DeleteTable: the description comes back DELETING, the table and its items go, the name is free again."""

from .helpers import create_table, describe, index, raises, unique_name


def test_returns_deleting_description(range_table):
    """DeleteTable answers a TableDescription with TableStatus DELETING."""
    response = range_table.delete()
    desc = response["TableDescription"]
    assert desc["TableStatus"] == "DELETING"
    assert desc["TableName"] == range_table.name


def test_description_omits_schema_and_creation_time(db):
    """DeleteTable's description leaves out KeySchema, AttributeDefinitions, index lists and CreationDateTime."""
    table = create_table(db, range_key=("sk", "N"), gsis=[index("gsi", ("g", "S"))],
                         lsis=[index("lsi", ("pk", "S"), ("l", "S"))])
    desc = table.delete()["TableDescription"]
    for member in ("KeySchema", "AttributeDefinitions", "LocalSecondaryIndexes", "GlobalSecondaryIndexes",
                   "CreationDateTime"):
        assert member not in desc, member


def test_table_is_gone_afterwards(db, hash_table):
    """After deletion DescribeTable and ListTables no longer see the table."""
    hash_table.delete()
    hash_table.wait_until_not_exists()
    with raises("ResourceNotFoundException"):
        hash_table.load()
    assert hash_table.name not in [t.name for t in db.tables.all()]


def test_item_operations_after_deletion(hash_table):
    """Item operations on a deleted table are ResourceNotFoundException."""
    hash_table.put_item(Item={"pk": "a"})
    hash_table.delete()
    hash_table.wait_until_not_exists()
    with raises("ResourceNotFoundException", "Requested resource not found"):
        hash_table.get_item(Key={"pk": "a"})
    with raises("ResourceNotFoundException", "Requested resource not found"):
        hash_table.put_item(Item={"pk": "a"})


def test_missing_table(db):
    """Deleting a table that does not exist is ResourceNotFoundException."""
    with raises("ResourceNotFoundException", startswith="Requested resource not found"):
        db.Table(unique_name()).delete()


def test_recreating_the_same_name_starts_empty(db):
    """The name can be reused at once, and the new table has none of the old items."""
    table = create_table(db, range_key=("sk", "N"))
    table.put_item(Item={"pk": "a", "sk": 1})
    table.delete()
    table.wait_until_not_exists()
    again = create_table(db, table.name, hash_key=("pk", "N"))
    assert again.scan()["Items"] == []
    assert describe(again)["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    again.put_item(Item={"pk": 1})
    assert again.get_item(Key={"pk": 1})["Item"] == {"pk": 1}


def test_deletion_protection(db):
    """A table with DeletionProtectionEnabled cannot be deleted until the flag is cleared."""
    table = create_table(db, DeletionProtectionEnabled=True)
    with raises("ValidationException",
                f"Table '{table.name}' can't be deleted while DeletionProtectionEnabled is set to True"):
        table.delete()
    table.load()
    table.update(DeletionProtectionEnabled=False)
    table.delete()
    table.wait_until_not_exists()


def test_delete_twice(hash_table):
    """The second delete finds nothing."""
    hash_table.delete()
    hash_table.wait_until_not_exists()
    with raises("ResourceNotFoundException"):
        hash_table.delete()


def test_other_tables_are_untouched(db):
    """Deleting one table leaves the others and their items."""
    a = create_table(db)
    b = create_table(db)
    b.put_item(Item={"pk": "x"})
    a.delete()
    assert b.get_item(Key={"pk": "x"})["Item"] == {"pk": "x"}
