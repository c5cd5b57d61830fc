"""bench/streams.py at a tiny size: every part runs and reports (no timing is asserted)."""

from bench import streams


def test_streams_bench_smoke(tmp_path):
    put = streams.bench_put(str(tmp_path / "put"), 0.01, 1)
    assert put["no stream"]["count"] > 0 and put["NEW_AND_OLD_IMAGES"]["count"] > 0 and put["ratio_p50"] > 0
    read = streams.bench_get_records(50, 1)
    assert set(read) == {"in process", "wire (raw HTTP + json.loads)", "wire (boto3)"}
    lag = streams.bench_lag(None, 500, 0.05)
    assert lag["delivered"] == lag["written"] == 25
