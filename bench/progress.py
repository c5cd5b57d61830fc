"""A progress bar on stderr while data loads: tqdm when installed, else a
plain one that redraws at most ten times a second."""

import sys
import time


def progress(iterable, total=None, desc=""):
    try:
        from tqdm import tqdm

        return tqdm(iterable, total=total, desc=desc, unit="rec", unit_scale=True, leave=False, file=sys.stderr, disable=None,
                    mininterval=0.25)
    except ImportError:
        return _Simple(iterable, total, desc)


class _Simple:
    def __init__(self, iterable, total, desc):
        self.iterable, self.total, self.desc = iterable, total, desc

    def __iter__(self):
        last = 0.0
        t0 = time.monotonic()
        n = 0
        tty = sys.stderr.isatty()
        for n, x in enumerate(self.iterable, 1):
            yield x
            now = time.monotonic()
            if tty and now - last > 0.1:
                last = now
                self._draw(n, now - t0)
        if tty:
            sys.stderr.write("\r" + " " * 79 + "\r")
            sys.stderr.flush()

    def _draw(self, n, elapsed):
        rate = n / elapsed if elapsed else 0
        if self.total:
            filled = int(30 * n / self.total)
            bar = "[" + "#" * filled + "." * (30 - filled) + "]"
            text = "%s %s %d/%d %.0f rec/s" % (self.desc, bar, n, self.total, rate)
        else:
            text = "%s %d %.0f rec/s" % (self.desc, n, rate)
        sys.stderr.write("\r" + text[:79])
        sys.stderr.flush()


def preload():
    """Import the bar's library now, so its memory is not counted as data."""
    try:
        import tqdm  # noqa: F401
    except ImportError:
        pass
