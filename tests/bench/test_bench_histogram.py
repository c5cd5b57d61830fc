"""The latency histogram: exact below 2**SUB_BITS, within 0.1 % above, and
mergeable without loss."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.histogram import SUB_BITS, Histogram, bucket_bounds, bucket_index


def exact_percentile(values, p):
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def test_buckets_tile_the_integers_without_gaps_or_overlaps():
    previous_high = -1
    for i in range(40_000):
        low, high = bucket_bounds(i)
        assert low == previous_high + 1
        previous_high = high


def test_every_value_falls_in_the_bucket_whose_bounds_hold_it():
    for v in [0, 1, 2**SUB_BITS - 1, 2**SUB_BITS, 2**SUB_BITS + 1, 10**6, 10**9 + 7, 2**40 + 3]:
        low, high = bucket_bounds(bucket_index(v))
        assert low <= v <= high


def test_small_values_are_counted_exactly():
    h = Histogram()
    h.record_many([5, 1, 3, 2, 4])
    assert [h.percentile(p) for p in (20, 40, 60, 80, 100)] == [1, 2, 3, 4, 5]
    assert (h.count, h.min, h.max, h.mean) == (5, 1, 5, 3.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**10), min_size=1, max_size=300),
       st.sampled_from([50, 90, 99, 99.9, 100]))
def test_percentiles_are_within_a_thousandth_of_the_exact_value(values, p):
    h = Histogram()
    h.record_many(values)
    exact = exact_percentile(values, p)
    assert abs(h.percentile(p) - exact) <= exact * 2 ** -(SUB_BITS - 1) + 1


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**9), max_size=100),
       st.lists(st.integers(min_value=0, max_value=10**9), max_size=100))
def test_merging_equals_recording_everything_in_one(a, b):
    one = Histogram()
    one.record_many(a + b)
    left, right = Histogram(), Histogram()
    left.record_many(a)
    right.record_many(b)
    merged = left.merge(right)
    assert merged.to_dict() == one.to_dict()


def test_the_dict_form_round_trips():
    h = Histogram()
    h.record_many(range(0, 10**7, 9973))
    again = Histogram.from_dict(h.to_dict())
    assert again.to_dict() == h.to_dict()
    assert again.summary() == h.summary()


def test_cdf_rises_to_one_and_never_falls():
    h = Histogram()
    h.record_many(range(1000, 200_000, 7))
    points = h.cdf()
    fractions = [f for _, f in points]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert points[-1][0] == h.max


def test_an_empty_histogram_reports_zeros():
    h = Histogram()
    assert h.percentile(99) == 0 and h.summary()["count"] == 0 and h.cdf() == []


def test_rounded_form_keeps_exact_totals_and_close_percentiles():
    h = Histogram()
    h.record_many(range(1000, 3_000_000, 37))
    small = Histogram.from_dict(h.to_dict(digits=3))
    assert (small.count, small.total, small.min, small.max) == (h.count, h.total, h.min, h.max)
    for p in (50, 90, 99):
        assert abs(small.percentile(p) - h.percentile(p)) <= h.percentile(p) * 0.006
    assert len(h.to_dict(digits=3)["values"]) < len(h.to_dict()["buckets"])
