"""bench/capacity.py at a tiny size: both modes run every call, nothing is throttled, the report has every row."""

from bench import capacity


def test_capacity_bench_smoke():
    results, throttled = capacity.measure(rounds=2, calls=3, hook=True)
    assert throttled == 0
    assert set(results) == {"PutItem", "PutItem (GSI)", "GetItem", "UpdateItem", "Query (10 items)",
                            "Query GSI (10 items)", "Scan (10 items)", "BatchWriteItem (25)",
                            "TransactWriteItems (2)", "hook PutItem", "hook GetItem"}
    assert all(r["off"]["n"] == 6 and r["on"]["n"] == 6 for r in results.values())
    text = capacity.report(results, throttled, 2, 3)
    assert text.count("\n| ") == len(results) + 1
