"""The two tables the wire GetItem tests read (``tests/wire/test_get_item_path.py`` and the core
agreement tests in ``tests/test_core_wire.py``): ``snk`` (an S HASH key and an N RANGE key) and
``bink`` (a B HASH key), on demand; and the wire attribute values both wire paths' properties
(``test_get_item_path``, ``test_put_item_path``) send."""

import base64

from hypothesis import strategies as st


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


def wire_attribute_values(more=()):
    """Wire attribute values of every kind, well formed or not (strings, numbers and binaries usual or
    not, other types, values of no type or two, JSON of other kinds), and the values ``more``."""
    strings = st.sampled_from(["a", "b", "é", "z", "", "x" * 2100, "\ud800"])
    numbers = st.sampled_from(["1", "2", "10", "1.0", "01", "1e0", "abc", "", "1" * 50, "-0", "3"])
    binaries = st.sampled_from([base64.b64encode(b"\x00\x01").decode(), base64.b64encode(b"").decode(), "!!", "AA=="])
    return st.one_of(
        strings.map(lambda s: {"S": s}), numbers.map(lambda n: {"N": n}), binaries.map(lambda b: {"B": b}),
        st.sampled_from([{"BOOL": True}, {"NULL": True}, {"S": "a", "N": "1"}, {}, "a", None, 1, {"S": 1},
                         {"L": [{"S": "a"}]}, {"SS": ["a"]}, *more]))
