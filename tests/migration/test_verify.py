"""Content hashes and the running comparison behind kvstore diff / copy --verify."""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st

from kvstore._core import from_wire, item_from_wire, item_to_wire
from kvstore.migration.endpoints import open_side
from kvstore.migration.verify import TableDiff, content_hash, diff_tables
from kvstore.types import Binary

from .conftest import make_directory, native_item as sample_item


def test_hash_ignores_attribute_and_set_order_and_number_spelling():
    a = {"pk": "x", "n": from_wire({"N": "1.50e2"}), "ss": {"b", "a", "c"}, "m": {"y": Decimal(1), "x": Decimal(2)}}
    b = {"m": {"x": Decimal(2), "y": Decimal(1)}, "ss": {"c", "a", "b"}, "n": from_wire({"N": "150"}), "pk": "x"}
    assert content_hash(a) == content_hash(b)


def test_hash_tells_types_and_values_apart():
    variants = [{"v": "1"}, {"v": Decimal(1)}, {"v": Binary(b"1")}, {"v": {"1"}}, {"v": ["1"]}, {"v": True},
                {"v": None}, {"v": {"1": None}}, {"v": "1", "w": None}, {"v": [["1"]]}, {"v": ["1", "2"]},
                {"v": ["12"]}, {"v": {"1", "2"}}, {"v": {"1,2"}}]
    assert len({content_hash(v) for v in variants}) == len(variants)


scalar = st.one_of(st.text(max_size=5), st.decimals(allow_nan=False, allow_infinity=False, places=3,
                                                     min_value=-1000, max_value=1000),
                   st.binary(max_size=4).map(Binary), st.booleans(), st.none())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(min_size=1, max_size=4), st.recursive(
    scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8), max_size=5))
def test_wire_round_trip_keeps_the_hash(item):
    from kvstore.types import number
    item = _canonical_numbers(item, number)
    assert item_from_wire(item_to_wire(item)) == item
    assert content_hash(item_from_wire(item_to_wire(item))) == content_hash(item)


def _canonical_numbers(value, number):
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, dict):
        return {k: _canonical_numbers(v, number) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical_numbers(v, number) for v in value]
    return value


def test_table_diff_classifies_whatever_order_the_sides_arrive_in():
    diff = TableDiff("t")
    diff.add(1, [("a", b"1"), ("x", b"9")])
    diff.add(0, [("a", b"1"), ("b", b"2"), ("c", b"3")])
    diff.add(1, [("c", b"4")])
    result = diff.result()
    assert (result["missing"], result["extra"], result["different"]) == (["b"], ["x"], ["c"])
    assert (result["source_items"], result["target_items"]) == (3, 3)
    assert diff.pending.keys() == {"b", "x", "c"}          # equal items are dropped as soon as both arrive


def test_diff_between_directories_in_segments(tmp_path):
    source = open_side(make_directory(tmp_path / "a", 80))
    target = open_side(make_directory(tmp_path / "b", 80))
    try:
        changed = dict(sample_item(3), n=Decimal(-1))
        target.put("orders", changed)
        target.delete("orders", {"pk": "p4", "sk": Decimal(4)})
        target.put("orders", dict(sample_item(500)))
        [result] = diff_tables(source, target, segments=5, page_size=7)
        assert result["different"] == ['{"pk":{"S":"p3"},"sk":{"N":"3"}}']
        assert result["missing"] == ['{"pk":{"S":"p4"},"sk":{"N":"4"}}']
        assert result["extra"] == ['{"pk":{"S":"p19"},"sk":{"N":"500"}}']
        assert (result["source_items"], result["target_items"]) == (80, 80)
    finally:
        source.close()
        target.close()
