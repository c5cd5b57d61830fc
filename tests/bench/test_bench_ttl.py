"""bench/ttl.py at a tiny size: the script runs and reports (no timing is asserted)."""

from bench import ttl
from bench.durability_engine import by_phase
from bench.machine import describe


def test_ttl_bench_smoke():
    """The script sweeps and reports; how many reads fall in its few milliseconds of phases depends
    on the machine's scheduling (none on a loaded one), so that is not asserted here: ``by_phase``
    (bench.durability_engine's, which the checkpoint benchmark uses too) is
    tested on its own below."""
    result = ttl.run(items=300, live=200, rounds=1, readers=1, rate=200, slice_us=100, pause_us=100,
                     log=lambda *_: None)
    assert len(result["sweep_seconds"]) == 1 and result["sweep_seconds"][0] > 0
    assert set(result["with"]) == set(result["without"]) == {"service", "scheduled"}
    text = ttl.report(result, describe())
    assert "Sweep of 300 expired items" in text


def test_samples_belong_to_the_phase_their_scheduled_start_fell_in():
    phases = [(10.0, 11.0, 12.0), (20.0, 22.0, 24.0)]
    samples = [(9.5, "load"), (10.0, "w1"), (10.9, "w1"), (11.0, "q1"), (11.99, "q1"), (12.0, "pause"),
               (21.0, "w2"), (25.0, "after")]
    pooled, pairs = by_phase(samples, phases)
    assert [tag for _, tag in pooled["with"]] == ["w1", "w1", "w2"]
    assert [tag for _, tag in pooled["without"]] == ["q1", "q1"]
    # round 2 has no quiet-phase sample: it is pooled but not paired
    assert [([t for _, t in w], [t for _, t in wo]) for w, wo in pairs] == [(["w1", "w1"], ["q1", "q1"])]


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
