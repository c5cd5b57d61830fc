"""No call leaves references behind (``tests/leaks/calls.py``), checked in an interpreter of its own.

Those tests count every object the garbage collector tracks before and after
batches of calls; inside the whole suite, threads that earlier tests left
running (servers, sweepers, consumers) make objects meanwhile and the count
means nothing, so they run here as a separate pytest process on the same core
(``KVSTORE_PURE_PYTHON`` is inherited) and this test passes when every one of
them does.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_operation_leaks_on_any_face_in_a_fresh_interpreter():
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/leaks/calls.py"],
                         cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout or "[100%]" in run.stdout
