"""The examples in the package docstring and the README run as written."""

import doctest
import re
from pathlib import Path

import kvstore

ROOT = Path(__file__).resolve().parent.parent


def test_package_docstring_examples():
    result = doctest.testmod(kvstore, verbose=False)
    assert result.attempted > 0 and result.failed == 0


def test_readme_usage_example_runs(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Use it\s+```python\n(.*?)```", readme, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert (tmp_path / "data").is_dir()


def test_testing_guide_clock_example_runs():
    """docs/testing.md: the TTL example with a ManualClock runs as written (its asserts included)."""
    guide = (ROOT / "docs" / "testing.md").read_text()
    block = re.search(r"```python\n(import boto3\nfrom kvstore.testing import ManualClock.*?)```", guide, re.S).group(1)
    exec(compile(block, "docs/testing.md", "exec"), {})  # noqa: S102 - our own docs


def test_streams_guide_clock_example_runs():
    """docs/streams.md: the example driven by a ManualClock runs as written (its asserts included)."""
    guide = (ROOT / "docs" / "streams.md").read_text()
    block = re.search(r"```python\n(import kvstore\nfrom kvstore.testing import ManualClock.*?)```", guide, re.S).group(1)
    exec(compile(block, "docs/streams.md", "exec"), {})  # noqa: S102 - our own docs
