"""The two cores the agreement tests compare: the pure-Python reference and the compiled twin.

``ccore`` is None when the extension is not built; ``needs_ccore`` skips a test then.  Every test
that compares them is marked ``agreement``: CI runs those once (``.ci/run``).  Both are
imported by name (not through ``kvstore._core``), so the agreement tests compare the two whatever
``KVSTORE_PURE_PYTHON`` says.
"""

import importlib

import pytest

pycore = importlib.import_module("kvstore._pycore")
try:
    ccore = importlib.import_module("kvstore._ccore")
except ImportError:  # pragma: no cover - depends on the build
    ccore = None

#: the mark of a test that compares the cores by name: it runs the same whatever ``KVSTORE_PURE_PYTHON``
#: says, so CI (``.ci/run``) runs it in one of its two runs, not in both
agreement = pytest.mark.agreement

_without_ccore = pytest.mark.skipif(
    ccore is None,
    reason="kvstore._ccore is not built (pip install -e . or python setup.py build_ext --inplace)")

#: the marks of a parameter that is the compiled core: ``pytest.param(ccore, ..., marks=CCORE_MARKS)``
CCORE_MARKS = [agreement, _without_ccore]


def needs_ccore(test):
    """``@needs_ccore``: a test that compares the compiled core with the reference, skipped without
    the extension and marked :data:`agreement`."""
    return agreement(_without_ccore(test))


#: ``@pytest.mark.parametrize("core", CORES)``: a test run once on each core
CORES = [pytest.param(pycore, id="python", marks=agreement), pytest.param(ccore, id="cython", marks=CCORE_MARKS)]
