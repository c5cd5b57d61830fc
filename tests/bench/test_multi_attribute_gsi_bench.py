"""``bench.multi_attribute_gsi`` end to end on a small table, so it never rots.

The paired queries must return the same items (the bench checks that before
timing); every workload is measured and the report names each target ratio.
Nothing here asserts a timing.
"""

from bench import multi_attribute_gsi
from bench.machine import describe


def test_the_bench_runs_and_reports_every_ratio(tmp_path):
    results = multi_attribute_gsi.run(items=400, rounds=1, slice_seconds=0.01)
    assert set(results) == {"query_multi", "query_single", "query_multi_hash", "query_single_hash",
                            "put_multi", "put_single", "ratios"}
    assert all(results[name]["count"] > 0 for name in results if name != "ratios")
    assert all(len(r) == 1 for r in results["ratios"].values())
    text = multi_attribute_gsi.report(results, describe(), 400)
    for a, b, goal in multi_attribute_gsi.TARGETS:
        assert f"| {a} / {b} |" in text and f"<= {goal}x" in text


def test_paired_queries_read_the_same_items():
    import random
    db, multi, single = multi_attribute_gsi.setup(400)
    try:
        ops = multi_attribute_gsi.workloads(multi, single, 400, random.Random(3))
        multi_attribute_gsi.check_same_answers(ops)
        assert any(ops["query_multi"]()["Items"] for _ in range(20))
    finally:
        db.close()
