"""bench/partiql.py at a tiny size: the script runs on both faces and reports (no timing is asserted)."""

from bench import partiql


def test_partiql_bench_smoke(tmp_path, capsys):
    output = tmp_path / "partiql.md"
    rows = partiql.main(["--items", "50", "--rounds", "1", "--calls", "3", "--output", str(output),
                         "--json", str(tmp_path / "partiql.json")])
    assert [(r["face"], r["statement"]) for r in rows] == [
        ("in process", "SELECT by key"), ("in process", "SELECT by partition (10 items)"),
        ("wire", "SELECT by key"), ("wire", "SELECT by partition (10 items)")]
    assert "| wire | SELECT by key |" in output.read_text()
