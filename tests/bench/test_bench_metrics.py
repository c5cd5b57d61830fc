"""bench/metrics.py at a tiny size: the script runs and reports (no timing is asserted)."""

from bench import metrics
from bench.machine import describe


def test_metrics_bench_smoke():
    embedded = metrics.embedded(rounds=2, calls=50, items=100, log=lambda *_, **__: None)
    wire = metrics.wire(rounds=2, seconds=0.1, items=100, max_ops=200, log=lambda *_, **__: None)
    assert len(embedded["ratios"]) == len(wire["ratios"]) == 2
    machine = describe()
    text = metrics.report({"embedded": embedded, "wire": wire}, machine, ["--rounds", "2"],
                          counted={"answer": {"off": 1000.0, "on": 1010.0}})
    assert "raw HTTP GetItem, 1 connection" in text and "Target: wire GetItem p50 ratio" in text
    assert "| `RequestHandler.answer` (decode, operation, encode) | 1,000 | 1,010 | +10 | 1.010 |" in text
