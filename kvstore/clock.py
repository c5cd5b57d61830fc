"""The injectable clock: where every feature of kvstore reads the time.

A clock is any callable returning epoch seconds as a float, as ``time.time``
does; the engine keeps one (``engine.clock``) and features call it instead of
``time.time()`` (table creation times, TransactWriteItems token expiry, TTL,
streams, backups), so a test can move time instead of waiting for it::

    clock = ManualClock(start=1_700_000_000)
    db = kvstore.open(":memory:", clock=clock)
    clock.advance(3600)          # an hour later: jobs due by then run (see kvstore.engine.scheduler)

:class:`SystemClock` is wall time (the default).  :class:`ManualClock` only
moves when told to, and wakes whoever subscribed to it (the engine's
scheduler) each time it moves, so background jobs due at the new time run
promptly; ``engine.scheduler.run_pending()`` then waits for them in the test's
thread.
"""

import threading
import time
import weakref

__all__ = ["SystemClock", "ManualClock", "stopwatch"]

#: How long something took, as opposed to what time it is: a monotonic counter in seconds that
#: no test moves.  kvstore.metrics' SuccessfulRequestLatency and the log's checkpoint duration
#: read it, and nothing else: a feature's time (ages, expiry, schedules) is the engine's clock.
#: (The compiled metrics recorder, ext/kvstore/_cmetrics.pyx, reads the same counter, CPython's
#: performance counter, through its C API: no call into Python or float object per request.)
stopwatch = time.perf_counter


class SystemClock:
    """Wall time: ``time.time()``."""

    __slots__ = ()

    def __call__(self):
        return time.time()

    def __repr__(self):
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told to (tests, simulations).

    ``advance(seconds)`` moves it forward, ``set(epoch_seconds)`` to a given
    time (backwards too, to test a clock that steps back).  Subscribers
    (``subscribe(callback)``, held weakly) are called after every move, from
    the thread that moved the clock.
    """

    def __init__(self, start=None):
        self._now = float(time.time() if start is None else start)
        self._lock = threading.Lock()
        self._subscribers = []          # weak references to callables

    def __call__(self):
        return self._now

    def __repr__(self):
        return f"ManualClock({self._now!r})"

    def advance(self, seconds):
        """Move the clock ``seconds`` forward (not backward: use ``set`` for that)."""
        if seconds < 0:
            raise ValueError(f"advance() moves forward; use set() to go back ({seconds!r} seconds)")
        with self._lock:
            self._now += seconds
        self._moved()

    def set(self, epoch_seconds):
        """Set the clock to ``epoch_seconds``."""
        with self._lock:
            self._now = float(epoch_seconds)
        self._moved()

    def subscribe(self, callback):
        """Call ``callback()`` after each move; the clock holds it weakly (bound methods included)."""
        ref = weakref.WeakMethod(callback) if hasattr(callback, "__self__") else weakref.ref(callback)
        with self._lock:
            self._subscribers.append(ref)

    def unsubscribe(self, callback):
        with self._lock:
            self._subscribers = [r for r in self._subscribers if r() is not None and r() != callback]

    def _moved(self):
        with self._lock:
            self._subscribers = [r for r in self._subscribers if r() is not None]
            callbacks = [r() for r in self._subscribers]
        for callback in callbacks:
            if callback is not None:
                callback()
