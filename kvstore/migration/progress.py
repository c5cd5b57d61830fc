"""A progress display with items, bytes and rate: tqdm when it is installed, else plain lines.

tqdm is optional (the ``migrate`` extra brings it): the embedded database does not need a
terminal UI library, and the plain fallback (a line to stderr every few seconds) says the
same things, which also suits logs of unattended runs.
"""

import sys
import threading
import time


class Progress:
    def __init__(self, total, desc, enabled=True, stream=sys.stderr, every=5.0, initial=0, initial_bytes=0):
        self.desc, self.total, self.stream, self.every = desc, total, stream, every
        self.items, self.bytes = initial, initial_bytes
        self.started = time.monotonic()
        self._first, self._first_bytes = initial, initial_bytes
        self._lock = threading.Lock()
        self._last_line = self.started
        self._bar = None
        self.enabled = enabled
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total or None, initial=initial, desc=desc, unit=" items",
                                 unit_scale=True, file=stream, dynamic_ncols=True)

    def update(self, items, size):
        with self._lock:
            self.items += items
            self.bytes += size
            if not self.enabled:
                return
            elapsed = max(time.monotonic() - self.started, 1e-9)
            mb_s = (self.bytes - self._first_bytes) / elapsed / 1e6
            if self._bar is not None:
                self._bar.update(items)
                self._bar.set_postfix_str(f"{self.bytes / 1e6:.1f} MB, {mb_s:.2f} MB/s", refresh=False)
            elif time.monotonic() - self._last_line >= self.every:
                self._last_line = time.monotonic()
                self.stream.write(self.line() + "\n")
                self.stream.flush()

    def line(self):
        elapsed = max(time.monotonic() - self.started, 1e-9)
        of = f"/{self.total:,}" if self.total else ""
        return (f"{self.desc}: {self.items:,}{of} items, {self.bytes / 1e6:.1f} MB, "
                f"{(self.items - self._first) / elapsed:,.0f} items/s, "
                f"{(self.bytes - self._first_bytes) / elapsed / 1e6:.2f} MB/s")

    def close(self):
        if self._bar is not None:
            self._bar.close()
