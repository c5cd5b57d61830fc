"""The hot paths, compiled when possible: ``implementation`` says which is active.

``KVSTORE_PURE_PYTHON=1`` in the environment forces the pure-Python twin
(``kvstore._pycore``), the way msgpack-python switches to its fallback.
"""

import os

if os.environ.get("KVSTORE_PURE_PYTHON"):
    from kvstore._pycore import *  # noqa: F401,F403
    implementation = "python"
else:
    try:
        from kvstore._ccore import *  # noqa: F401,F403
        implementation = "cython"
    except ImportError:
        from kvstore._pycore import *  # noqa: F401,F403
        implementation = "python"

from kvstore._pycore import EXT_B, EXT_BS, EXT_N, EXT_NS, EXT_SS  # noqa: E402,F401
