"""The two cores the agreement tests compare: the pure-Python reference and the compiled twin.

``ccore`` is None when the extension is not built; ``needs_ccore`` skips a test then.  Both are
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

needs_ccore = pytest.mark.skipif(
    ccore is None,
    reason="kvstore._ccore is not built (pip install -e . or python setup.py build_ext --inplace)")

#: ``@pytest.mark.parametrize("core", CORES)``: a test run once on each core
CORES = [pytest.param(pycore, id="python"), pytest.param(ccore, id="cython", marks=needs_ccore)]
