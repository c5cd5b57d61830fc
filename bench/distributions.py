"""Key choosers of the YCSB core workloads, written from the YCSB paper and its
generator semantics: uniform, zipfian (Gray et al.'s algorithm, theta 0.99,
scrambled over the key space), and "latest" (zipfian skewed toward the most
recent insert).

Each chooser draws from a ``random.Random`` the caller owns, so a seed fixes
the whole operation sequence.  Key numbers become keys through ``ycsb_key``:
YCSB hashes the number (FNV-1a 64) so consecutive inserts scatter over the key
space, and prints it after "user".
"""

import math

ZIPFIAN_CONSTANT = 0.99
#: YCSB's scrambled zipfian draws from 10^10 items and hashes into the key
#: space; zeta(10^10, 0.99) is a constant so nothing O(n) runs at start-up.
SCRAMBLED_ITEM_COUNT = 10_000_000_000
SCRAMBLED_ZETAN = 26.46902820178302

FNV_OFFSET_BASIS_64 = 0xCBF29CE484222325
FNV_PRIME_64 = 1099511628211
_MASK64 = (1 << 64) - 1


def fnvhash64(value):
    """FNV-1a over the 8 little-endian bytes of ``value``, as Java's YCSB
    computes it: 64-bit wrap-around, then ``Math.abs`` of the signed result."""
    h = FNV_OFFSET_BASIS_64
    for _ in range(8):
        h ^= value & 0xFF
        value >>= 8
        h = (h * FNV_PRIME_64) & _MASK64
    if h >= 1 << 63:
        h -= 1 << 64
    # Math.abs(Long.MIN_VALUE) stays negative in Java; it cannot occur in practice.
    return abs(h)


def ycsb_key(keynum):
    """The YCSB record key for a key number (insertorder=hashed)."""
    return "user" + str(fnvhash64(keynum))


_zeta_cache = {}


def zeta(n, theta, start=0, initial=0.0):
    """sum(1 / i**theta for i in 1..n), continuing from a partial sum over
    1..start; cached for full sums because a 1M-item sum costs ~0.2 s."""
    if start == 0 and (n, theta) in _zeta_cache:
        return _zeta_cache[(n, theta)]
    total = initial
    for i in range(start, n):
        total += 1.0 / (i + 1) ** theta
    if start == 0:
        _zeta_cache[(n, theta)] = total
    return total


class Uniform:
    """Every key number in [low, high] equally likely."""

    name = "uniform"

    def __init__(self, low, high):
        self.low, self.high = low, high

    def next(self, rng):
        return rng.randint(self.low, self.high)


class Zipfian:
    """Zipfian over [low, high]: item ``low`` is the most popular, popularity
    falls as 1/rank**theta (Gray et al., "Quickly generating billion-record
    synthetic databases", SIGMOD 1994), as in YCSB's ZipfianGenerator.

    ``next(rng, items)`` may be given a larger item count than at
    construction (the "latest" chooser grows with inserts); zeta is then
    extended incrementally, never recomputed from scratch.
    """

    def __init__(self, low, high, theta=ZIPFIAN_CONSTANT, zetan=None):
        self.low = low
        self.items = high - low + 1
        self.theta = theta
        self.alpha = 1.0 / (1.0 - theta)
        self.zeta2theta = zeta(2, theta)
        self.zetan = zetan if zetan is not None else zeta(self.items, theta)
        self.count_for_zeta = self.items
        self.half_pow_theta = 1.0 + 0.5 ** theta
        self.eta = self._eta(self.items)

    def _eta(self, items):
        return (1 - (2.0 / items) ** (1 - self.theta)) / (1 - self.zeta2theta / self.zetan)

    def next(self, rng, items=None):
        if items is not None and items != self.count_for_zeta:
            if items > self.count_for_zeta:
                self.zetan = zeta(items, self.theta, self.count_for_zeta, self.zetan)
                self.count_for_zeta = items
                self.eta = self._eta(items)
        else:
            items = self.items
        u = rng.random()
        uz = u * self.zetan
        if uz < 1.0:
            return self.low
        if uz < self.half_pow_theta:
            return self.low + 1
        return self.low + int(items * (self.eta * u - self.eta + 1) ** self.alpha)


class ScrambledZipfian:
    """YCSB's "zipfian" request distribution: zipfian popularity, but the
    popular items are spread over the key space by hashing, so they do not
    cluster at the low key numbers."""

    name = "zipfian"

    def __init__(self, low, high, theta=ZIPFIAN_CONSTANT):
        self.low = low
        self.items = high - low + 1
        if theta == ZIPFIAN_CONSTANT:
            self.gen = Zipfian(0, SCRAMBLED_ITEM_COUNT, theta, SCRAMBLED_ZETAN)
        else:
            self.gen = Zipfian(0, SCRAMBLED_ITEM_COUNT, theta, zeta(SCRAMBLED_ITEM_COUNT, theta))

    def next(self, rng):
        return self.low + fnvhash64(self.gen.next(rng)) % self.items


class Latest:
    """YCSB's "latest" (SkewedLatestGenerator): the most recently inserted
    key number is the most popular, then the one before, zipfian-fashion.
    ``last()`` returns the newest key number that exists."""

    name = "latest"

    def __init__(self, last):
        self.last = last
        self.zipf = Zipfian(0, max(last() + 1, 2) - 1)

    def next(self, rng):
        newest = self.last()
        return max(0, newest - self.zipf.next(rng, max(newest + 1, 2)))


def percentile_share(counts, fraction):
    """Share of all draws taken by the most popular ``fraction`` of keys;
    used by tests and the docs to show what skew a distribution produces."""
    ordered = sorted(counts.values(), reverse=True)
    top = max(1, math.ceil(len(ordered) * fraction))
    return sum(ordered[:top]) / sum(ordered)
