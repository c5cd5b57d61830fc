"""Child processes (workers, the server) must not outlive the harness, even
when it is killed: Linux delivers them SIGTERM when their parent dies."""

import signal
import sys


def die_with_parent():
    """``preexec_fn`` for subprocess.Popen (Linux; a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except Exception:
        pass


def terminate_as_interrupt():
    """Turn SIGTERM into KeyboardInterrupt so ``with`` blocks clean up."""

    def handler(signum, frame):
        raise KeyboardInterrupt("terminated")

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        pass
