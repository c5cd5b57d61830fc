"""ListTables: names in ascending order, Limit per page, LastEvaluatedTableName while more remain."""

from .helpers import create_table, raises


def names_of(db):
    return [t.name for t in db.tables.all()]


def make(db, *names):
    for name in names:
        create_table(db, name)


def test_empty_database(db):
    """A database without tables lists none."""
    assert names_of(db) == []


def test_names_are_sorted(db):
    """Table names come back in ascending order whatever the creation order."""
    make(db, "ccc", "aaa", "bbb", "B-upper", "a.b")
    assert names_of(db) == sorted(["ccc", "aaa", "bbb", "B-upper", "a.b"])


def test_deleted_tables_disappear(db):
    """A deleted table is no longer listed."""
    make(db, "aaa", "bbb")
    db.Table("aaa").delete()
    db.Table("aaa").wait_until_not_exists()
    assert names_of(db) == ["bbb"]


def test_collection_follows_pages_past_100(db):
    """db.tables.all() follows LastEvaluatedTableName past the default page of 100."""
    names = [f"t{i:03d}" for i in range(105)]
    make(db, *names)
    assert names_of(db) == names


def test_default_limit_is_100(db):
    """Without Limit a page holds 100 names, then LastEvaluatedTableName."""
    names = [f"t{i:03d}" for i in range(101)]
    make(db, *names)
    page = db.meta.client.list_tables()
    assert page["TableNames"] == names[:100]
    assert page["LastEvaluatedTableName"] == names[99]


def test_limit_and_exclusive_start(db):
    """Limit bounds a page; the next page starts strictly after LastEvaluatedTableName."""
    make(db, "aaa", "bbb", "ccc", "ddd", "eee")
    client = db.meta.client
    first = client.list_tables(Limit=2)
    assert first == {"TableNames": ["aaa", "bbb"], "LastEvaluatedTableName": "bbb", **_meta(first)}
    second = client.list_tables(Limit=2, ExclusiveStartTableName="bbb")
    assert second["TableNames"] == ["ccc", "ddd"]
    assert second["LastEvaluatedTableName"] == "ddd"
    third = client.list_tables(Limit=2, ExclusiveStartTableName="ddd")
    assert third["TableNames"] == ["eee"]
    assert "LastEvaluatedTableName" not in third


def _meta(page):
    return {"ResponseMetadata": page["ResponseMetadata"]} if "ResponseMetadata" in page else {}


def test_no_last_evaluated_name_when_the_page_ends_exactly(db):
    """LastEvaluatedTableName appears only when more tables remain."""
    make(db, "aaa", "bbb", "ccc")
    page = db.meta.client.list_tables(Limit=3)
    assert page["TableNames"] == ["aaa", "bbb", "ccc"]
    assert "LastEvaluatedTableName" not in page


def test_exclusive_start_need_not_exist(db):
    """ExclusiveStartTableName need not name an existing table."""
    make(db, "aaa", "bbb", "ccc")
    assert db.meta.client.list_tables(ExclusiveStartTableName="abc")["TableNames"] == ["bbb", "ccc"]
    assert db.meta.client.list_tables(ExclusiveStartTableName="zzz")["TableNames"] == []


def test_limit_of_100_is_accepted(db):
    """Limit ranges 1..100."""
    make(db, "aaa")
    assert db.meta.client.list_tables(Limit=100)["TableNames"] == ["aaa"]
    assert db.meta.client.list_tables(Limit=1)["TableNames"] == ["aaa"]


def test_limit_over_100(db):
    """Limit above 100 is a constraint violation."""
    with raises("ValidationException", "1 validation error detected: Value '101' at 'limit' failed to satisfy "
                "constraint: Member must have value less than or equal to 100"):
        db.meta.client.list_tables(Limit=101)


def test_limit_zero(db):
    """Limit below 1 is a constraint violation."""
    with raises("ValidationException", "1 validation error detected: Value '0' at 'limit' failed to satisfy "
                "constraint: Member must have value greater than or equal to 1"):
        db.meta.client.list_tables(Limit=0)


def test_index_and_stream_tables_never_appear(db):
    """Only user tables are listed: no internal index or stream tables."""
    from .helpers import index
    create_table(db, "with-indexes", range_key=("sk", "N"), gsis=[index("gsi", ("g", "S"))],
                 lsis=[index("lsi", ("pk", "S"), ("l", "S"))],
                 StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    assert names_of(db) == ["with-indexes"]
