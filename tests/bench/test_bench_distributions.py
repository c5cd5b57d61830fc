"""YCSB's key choosers: the same keys as YCSB, the promised skew, and
reproducible draws from a seed."""

import collections
import random

from bench.distributions import Latest, ScrambledZipfian, Uniform, Zipfian, fnvhash64, percentile_share, ycsb_key, zeta


def test_record_keys_match_ycsb():
    # YCSB's first record key (insertorder=hashed), seen in any YCSB load log.
    assert ycsb_key(0) == "user6284781860667377211"
    assert fnvhash64(0) == 6284781860667377211


def test_fnv_hash_is_non_negative_and_spreads_consecutive_numbers():
    hashes = [fnvhash64(n) for n in range(1000)]
    assert all(h >= 0 for h in hashes)
    assert len(set(h % 1000 for h in hashes)) > 550


def test_zeta_continues_from_a_partial_sum():
    assert abs(zeta(1000, 0.99) - zeta(1000, 0.99, 400, zeta(400, 0.99))) < 1e-9


def test_zipfian_stays_in_range_and_favours_the_first_items():
    rng = random.Random(3)
    z = Zipfian(0, 9_999)
    counts = collections.Counter(z.next(rng) for _ in range(50_000))
    assert min(counts) >= 0 and max(counts) <= 9_999
    assert [k for k, _ in counts.most_common(3)] == [0, 1, 2]
    assert percentile_share(counts, 0.01) > 0.4  # theta 0.99: the top 1% take a large share


def test_scrambled_zipfian_is_skewed_but_not_clustered_at_low_keys():
    rng = random.Random(4)
    z = ScrambledZipfian(0, 9_999)
    counts = collections.Counter(z.next(rng) for _ in range(50_000))
    assert min(counts) >= 0 and max(counts) <= 9_999
    assert percentile_share(counts, 0.01) > 0.15
    top = [k for k, _ in counts.most_common(10)]
    assert max(top) > 1_000


def test_uniform_is_flat():
    rng = random.Random(5)
    counts = collections.Counter(Uniform(0, 99).next(rng) for _ in range(50_000))
    assert len(counts) == 100 and max(counts.values()) < 2 * min(counts.values())


def test_latest_favours_the_newest_record_and_follows_inserts():
    newest = [999]
    rng = random.Random(6)
    chooser = Latest(lambda: newest[0])
    counts = collections.Counter(chooser.next(rng) for _ in range(20_000))
    assert counts.most_common(1)[0][0] == 999 and max(counts) == 999 and min(counts) >= 0
    newest[0] = 5_000
    assert collections.Counter(chooser.next(rng) for _ in range(5_000)).most_common(1)[0][0] == 5_000


def test_same_seed_same_draws():
    a = [ScrambledZipfian(0, 999).next(r) for r in [random.Random(9)] for _ in range(100)]
    b = [ScrambledZipfian(0, 999).next(r) for r in [random.Random(9)] for _ in range(100)]
    assert a == b
