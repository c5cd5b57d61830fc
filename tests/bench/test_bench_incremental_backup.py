"""bench/incremental_backup.py at a tiny size: the script runs and reports (no timing is asserted)."""

from bench import incremental_backup
from bench.machine import describe


def test_incremental_backup_bench_smoke(tmp_path):
    result = incremental_backup.run(items=400, pad=20, rounds=1, fractions=[0.01, 0.1], chain=2, write_rate=200,
                                    directory=str(tmp_path), log=lambda *_: None)
    for cases in result["cases"].values():
        (case,) = cases
        assert 0 < case["incremental_bytes"] < case["full_bytes"]
    assert len(result["chain"]) == 4
    text = incremental_backup.report(result, describe())
    assert "| 1.0% | 4 |" in text and "A chain of 2 backups" in text
