"""``bench.soak`` end to end for a few seconds, so the script never rots (issue 14, item 5).

The real run is ``python -m bench.soak`` (30 minutes, bench/results/soak.md).
Here: 2 clients for a few seconds with the SIGKILL in the middle, under
``durability="sync"`` so that every acknowledged write must survive the kill
whatever the machine's load (under ``batch`` the last few milliseconds of
acknowledged writes may be lost to a SIGKILL; see docs/format.md).  Nothing
here asserts a timing.
"""

import pytest

from bench import soak


@pytest.mark.slow
def test_a_short_soak_loses_nothing_and_answers_every_request(tmp_path):
    report = soak.run(minutes=0.08, clients=2, durability="sync", data_dir=str(tmp_path), sample_seconds=1.0,
                      log=lambda *a: None)
    totals = report["totals"]
    assert totals["requests"] > 0 and totals["malformed"] > 0
    assert totals["5xx"] == 0 and totals["malformed_5xx"] == 0 and totals["dropped"] == 0
    assert report["kills"] == 2
    assert report["acknowledged_keys"] > 0
    assert report["lost_live"] == 0 and report["lost_after_restart"] == 0, report["lost_examples"]
    assert report["lost_seen_by_clients"] == 0, report["mismatch_examples"]
    assert report["server_error_log_lines"] == 0
    assert report["per_minute"] and report["rss"]
    # a few seconds answer far fewer requests than the warm-up needs: growth is not claimed as measured
    assert not report["rss"][0]["warmed_up"] and report["warmup"]["requests"] == 10 * 2 * 200 * 10
    text = soak.markdown(report, "python -m bench.soak --minutes 0.08")
    assert "All checks met" in text
