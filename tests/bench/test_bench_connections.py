"""bench/connections.py at a tiny size: the script runs and reports (no timing is asserted)."""

from bench import connections


def test_connections_bench_smoke():
    report = connections.run(connections=20, extra=3, header_timeout=0.3, rounds_again=1, quiet=True,
                                 settle=0.1)
    assert report["cap"] == {"extra_connections": 3, "refused_503": 3, "complete_503": 3}
    assert report["slow_heads"] == {"held": 20, "answered_408": 20}
    text = connections.render(report)
    assert "20 idle keep-alive connections" in text and "Per idle connection" in text
