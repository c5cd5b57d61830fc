"""bench.indexes runs every workload, reports issue 17's two ratios, and runs a chosen subset."""

import pytest

from bench import indexes


def test_a_small_run_reports_every_workload_and_both_ratios(capsys):
    assert indexes.main(["--items", "200", "--rounds", "1", "--slice", "0.01"]) == 0
    out = capsys.readouterr().out
    for name in ("put_plain", "put_2gsi", "get", "gsi_query", "lsi_query", "batch_write_25", "batch_get_100",
                 "transact_2", "transact_10"):
        assert f"| {name} |" in out
    assert "| PutItem with two GSIs / PutItem without indexes, p50 |" in out and "<= 1.6x |" in out
    assert "| TransactWriteItems of 2 / PutItem, p50 |" in out and "<= 2x |" in out


def test_a_subset_runs_only_its_workloads_and_the_ratios_it_has(capsys):
    assert indexes.main(["--items", "200", "--rounds", "1", "--slice", "0.01",
                         "--workloads", "put_plain,put_2gsi"]) == 0
    out = capsys.readouterr().out
    assert "| put_2gsi |" in out and "| get |" not in out and "| transact_2 |" not in out
    assert "PutItem with two GSIs" in out and "TransactWriteItems of 2" not in out


def test_an_unknown_workload_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as raised:
        indexes.main(["--workloads", "put_plain,nope"])
    assert raised.value.code == 2
    assert "unknown workloads: nope" in capsys.readouterr().err
