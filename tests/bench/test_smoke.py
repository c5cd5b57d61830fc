"""``kvstore bench --smoke`` end to end, so the harness never rots: every
available target starts in its own process, loads, runs every workload,
sweeps concurrency, scales, and the JSON / Markdown / PNG outputs appear.
Nothing here asserts a timing."""

import json
import os
import subprocess
import sys

import pytest

from bench.cli import main
from bench.workloads import WORKLOADS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    paths = {"json": out / "r.json", "md": out / "r.md", "plots": out / "plots"}
    code = main(["--smoke", "--scaling", "--quiet", "--json", str(paths["json"]), "--markdown", str(paths["md"]),
                 "--plots", str(paths["plots"])])
    with open(paths["json"]) as f:
        paths["results"] = json.load(f)
    paths["code"] = code
    return paths


def test_every_started_target_ran_every_workload_without_errors(smoke):
    r = smoke["results"]
    assert smoke["code"] == 0
    assert r["failed"] == {}
    started = set(r["targets"])
    assert {"noop", "dict", "sqlite-wal-normal", "sqlite-wal-full"} <= started
    ran = {(c["workload"], c["target"]) for c in r["cells"]}
    skipped = {(x["workload"], x["target"]) for x in r["not_supported"]}
    for w in WORKLOADS:
        for t in started:
            assert (w, t) in ran or (w, t) in skipped, (w, t)
    for c in r["cells"]:
        assert c["ops"] > 0 and c["errors"] == 0, (c["workload"], c["target"], c["error"])
        lat = c["latency_ns"]
        assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"]


def test_the_report_describes_the_machine_and_the_workloads(smoke):
    r = smoke["results"]
    m = r["machine"]
    assert m["cpu"] and m["logical_cores"] and m["python"] and "sqlite3 (library)" in m["packages"]
    assert "kvstore_implementation" in m
    assert r["workloads"]["ycsb_a_zipfian"]["parameters"]["key choice"].startswith("zipfian")
    text = smoke["md"].read_text()
    assert "ratio to sqlite-wal-normal" in text and "Harness floor" in text and "### ycsb_f_uniform" in text


def test_ratios_are_against_the_baseline(smoke):
    from bench.report import ratios

    rat = ratios(smoke["results"])
    assert all(abs(rat[w]["sqlite-wal-normal"]["latency"] - 1.0) < 1e-9 for w in rat)


def test_concurrency_and_scaling_ran(smoke):
    r = smoke["results"]
    assert {c["concurrency"] for c in r["concurrency"]} == {1, 2}
    sizes = r["scaling"]["sizes"]
    assert [s["records"] for s in sizes] == [1000]
    for s in sizes:
        for name, row in s["targets"].items():
            assert "error" not in row, (name, row)
            assert row["load_rate"] > 0 and row["workloads"]["get"]["count"] > 0
    assert "sqlite-wal-normal" in r["scaling"]["startup"]
    assert sizes[0]["targets"]["sqlite-wal-normal"]["reopen_seconds"] is not None


def test_plots_are_written(smoke):
    names = sorted(os.listdir(smoke["plots"]))
    assert names == ["latency_cdf.png", "latency_size.png", "throughput_concurrency.png"]


@pytest.mark.parametrize("command", [["-m", "bench"], ["-m", "kvstore", "bench"]])
def test_both_entry_points_list_targets_and_workloads(command):
    out = subprocess.run([sys.executable] + command + ["--list"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "ycsb_d_latest" in out.stdout and "sqlite-wal-normal" in out.stdout


def test_any_endpoint_is_benchmarked_through_raw_http_and_boto3(tmp_path):
    from bench import targets

    if targets.builtin()["kvstore-http"].available():
        pytest.skip("kvstore serve unavailable")
    from bench.targets.serve import KvstoreServer

    with KvstoreServer(None) as server:
        code = main(["--smoke", "--quiet", "--endpoint", server.endpoint, "--targets", "endpoint-*,dict",
                     "--baseline", "dict", "--workloads", "get,transact_2,ycsb_e_zipfian",
                     "--json", str(tmp_path / "e.json")])
        r = json.loads((tmp_path / "e.json").read_text())
        assert code == 0 and r["failed"] == {}
        assert {c["target"] for c in r["cells"]} == {"endpoint-http", "endpoint-boto3", "dict"}
        assert all(c["errors"] == 0 for c in r["cells"])
        # The harness removes the tables it made on someone else's endpoint.
        from bench.targets.http import WireClient

        client = WireClient(server.endpoint, {})
        conn = client.connection()
        assert client.call(conn, "ListTables", {})["TableNames"] == []
        conn.close()


def test_a_server_that_dies_mid_run_is_reported_and_its_clients_dropped():
    from bench import targets
    from bench.suite import Config, Suite

    specs = targets.select(["kvstore-http", "dict"])
    if any(s.available() for s in specs):
        pytest.skip("kvstore serve unavailable")
    cfg = Config(workloads=[WORKLOADS["get"], WORKLOADS["put"]], targets=specs, items=200, records=200,
                 warmup=0.01, rounds=1, round_seconds=0.01, max_round_ops=50, progress=False)
    with Suite(cfg, log=lambda msg: None) as suite:
        suite.start()
        suite.load("items", 200)
        suite.server.proc.kill()
        suite.server.proc.wait()
        for w in cfg.workloads:
            suite.check_server()
            suite.run_workload(w)
        results = suite.results
    assert "exited" in results["failed"]["kvstore-http"]
    assert {c["target"] for c in results["cells"]} == {"dict"}


def test_no_compare_without_scaling_is_refused_with_a_usage_error(capsys):
    """``--no-compare`` alone leaves nothing to run: a usage error, not a traceback after the run."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--no-compare", "--targets", "dict", "--workloads", "get"])
    assert exit_info.value.code == 2
    assert "--no-compare skips the comparison" in capsys.readouterr().err
