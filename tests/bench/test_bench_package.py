"""The harness installs as ``kvstore_bench`` (the repository's ``bench/`` folder, mapped by setup.py).

So that one tree runs under both names, no module of it may import itself by
the name ``bench``; and ``kvstore bench`` must find the harness under either.
"""

import ast
import pathlib
import subprocess
import sys

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"


def test_no_module_of_the_harness_imports_it_by_the_name_bench():
    offenders = []
    for path in sorted(BENCH.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            offenders += [f"{path.relative_to(BENCH)}:{node.lineno} {n}" for n in names
                          if n == "bench" or n.startswith("bench.")]
    assert offenders == []


def test_the_harness_runs_under_another_package_name(tmp_path):
    """A copy of bench/ named kvstore_bench lists its workloads and spawns its workers by that name."""
    (tmp_path / "kvstore_bench").symlink_to(BENCH, target_is_directory=True)
    code = ("import sys, kvstore_bench.cli, kvstore_bench.pool as pool; "
            "assert 'bench' not in sys.modules; print(pool.__package__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": f"{tmp_path}:{BENCH.parent}", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "kvstore_bench"


def test_kvstore_bench_finds_the_harness_in_a_checkout():
    from kvstore.cli import SUBCOMMANDS, _first_importable

    modules, _, _ = SUBCOMMANDS["bench"]
    assert modules == ("kvstore_bench.cli", "bench.cli")
    assert _first_importable(("no_such_package_xyz.cli", "bench.cli")).__name__ == "bench.cli"
