"""bench/pitr.py at a tiny size: the script runs and reports (no timing is asserted)."""

from bench import pitr
from bench.machine import describe


def test_pitr_bench_smoke(tmp_path):
    result = pitr.run(puts=50, rounds=2, items=300, updates=20, restores=1, directory=str(tmp_path),
                      log=lambda *_: None)
    assert len(result["cost"]["directory"]["rounds"]) == 2
    assert len(result["restore"]["checkpoint_and_log"]["seconds"]) == 1
    text = pitr.report(result, describe())
    assert "restore to a point in time of a 300-item table" in text
