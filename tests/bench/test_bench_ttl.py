"""bench/ttl.py at a tiny size: the script runs and reports (no timing is asserted)."""

from bench import ttl
from bench.machine import describe


def test_ttl_bench_smoke():
    result = ttl.run(items=300, live=200, rounds=1, readers=1, rate=200, slice_us=100, pause_us=100,
                     log=lambda *_: None)
    assert len(result["sweep_seconds"]) == 1
    assert result["with"]["scheduled"]["n"] + result["without"]["scheduled"]["n"] > 0
    text = ttl.report(result, describe())
    assert "Sweep of 300 expired items" in text
