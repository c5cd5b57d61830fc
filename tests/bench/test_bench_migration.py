"""bench/migration.py at a tiny size: copy and the SIGKILL run end to end (no timing is asserted)."""

import json

from bench import migration


def test_copy_bench_smoke(tmp_path, capsys):
    out = tmp_path / "copy.json"
    assert migration.main(["copy", "--items", "300", "--segments", "2", "--json", str(out)]) == 0
    [run] = json.loads(out.read_text())["runs"]
    assert run["serve"]["items"] == run["directory"]["items"] == 300
    assert run["serve"]["server_cpu_s"] >= 0


def test_kill_bench_smoke(tmp_path):
    out = tmp_path / "kill.json"
    assert migration.main(["kill", "--rate", "100", "--seconds", "3", "--json", str(out)]) == 0
    [run] = json.loads(out.read_text())["runs"]
    assert (run["missing"], run["extra"], run["different"], run["exit_after_sigterm"]) == (0, 0, 0, 0)
    assert run["items"] == run["written"] > 0
