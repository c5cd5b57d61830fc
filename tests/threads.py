"""Running test threads so that races show: the interpreter switches threads every microsecond."""

import sys
import threading


def run_interleaved(target, args_list):
    """Run ``target(*args)`` for each of ``args_list`` on its own thread and wait for them all, with
    the switch interval at 1 µs (restored after), so a step that is not atomic is interrupted often."""
    threads = [threading.Thread(target=target, args=args) for args in args_list]
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(previous)
