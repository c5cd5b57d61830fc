"""bench.server's reading of the server's own log figures (records per fsync under ``sync``)."""

import os

from bench import server


def test_records_per_fsync_is_the_records_written_over_the_fsyncs_between_two_readings():
    assert server.records_per_fsync((10.0, 40.0), (14.0, 54.0)) == 3.5
    assert server.records_per_fsync((10.0, 40.0), (10.0, 40.0)) is None      # no fsync between them
    assert server.records_per_fsync(None, (1.0, 2.0)) is None


def test_log_counts_come_from_a_served_database_metrics(tmp_path):
    running = server.start_kvstore(os.path.join(str(tmp_path), "db"), ["--durability", "sync"])
    try:
        before = server.log_counts(running.port)
        server.preload(running.port, 50)
        after = server.log_counts(running.port)
    finally:
        running.proc.terminate()
        running.proc.wait(30)
    assert before is not None and after is not None
    assert after[1] - before[1] >= 51                # the table and its 50 items, one record each
    assert after[0] > before[0]                      # fsynced under sync
    assert server.records_per_fsync(before, after) >= 1.0


def test_paired_sync_rounds_report_both_sides_and_their_ratio_per_round(tmp_path):
    import types
    running = server.start_kvstore(os.path.join(str(tmp_path), "db"), ["--durability", "sync"])
    try:
        server.preload(running.port, 50)
        requests = server.request_sets(running.port, 50, count=50)["PutItem"]
        args = types.SimpleNamespace(sync_rounds=2, seconds=0.2, max_ops=50)
        paired = server.paired_sync_rounds(running.port, requests, args, str(tmp_path), running.proc.pid)
    finally:
        running.proc.terminate()
        running.proc.wait(30)
    assert len(paired["rounds"]) == 2
    for pair in paired["rounds"]:
        assert pair["errors"] == 0 and pair["PutItem"] > 0 and pair["sqlite FULL"] > 0
        assert pair["ratio"] == round(pair["PutItem"] / pair["sqlite FULL"], 2)
        assert pair["records_per_fsync"] >= 1.0
    assert paired["ratio"] in [pair["ratio"] for pair in paired["rounds"]]
