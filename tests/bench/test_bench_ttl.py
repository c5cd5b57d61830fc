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


def test_ttl_report_when_the_sweep_ended_before_any_read_fell_in_it():
    """A sweep shorter than the gap between reads leaves no pair: the report says so rather than failing."""
    result = ttl.run(items=50, live=50, rounds=1, readers=1, rate=200, slice_us=100, pause_us=100,
                     log=lambda *_: None)
    for metric in ("service", "scheduled"):
        for p in ("p50_us", "p99_us"):
            result[f"{metric} {p} ratio median"] = None
            result[f"{metric} {p} ratios"] = []
    text = ttl.report(result, describe())
    assert "| unmeasured |" in text
