"""The engine's background jobs: one scheduler, started on open, stopped and joined on close.

Everything an engine does in the background goes through its scheduler
(``engine.scheduler``), so nothing outlives ``Engine.close()`` and every
failure ends up in one place:

- ``every(name, seconds, fn)``: a periodic job (TTL sweeps, stream trimming,
  backup plans).  Due times are read from the engine's clock, so with a
  :class:`kvstore.clock.ManualClock` a job runs when the test advances the
  clock past its due time, never on its own.  One scheduler thread runs the
  periodic jobs one after another; it exists only while a periodic job does.
- ``submit(name, fn)``: a one-shot job that starts at once on a thread of
  its own (a GSI backfill, a checkpoint).  ``unique=True`` returns the job of
  that name already pending or running instead of starting a second one.

Jobs take no arguments.  A long job checks :attr:`Scheduler.stopping`
(a ``threading.Event``) between steps (a backfill between partitions) and
returns early once it is set; ``stop()`` sets it, then joins every thread.

A job's exception is logged with its traceback, kept in :attr:`errors` (the
last ``max_errors``; ``engine.background_errors``, and ``kvstore check`` for
a database directory) and handed to ``on_error``; a failing periodic job
keeps its schedule.

Tests never sleep: :meth:`run_pending` runs, in the caller's thread, every
periodic job due at the clock's current time, waits for jobs running on other
threads (one-shot jobs included), and returns when all are done.

Complexity: ``every``/``submit``/``cancel`` are O(1) plus O(J) (J = periodic
jobs, a handful) to find the next due time; a scheduler wake-up scans the J
jobs.  A clock without ``subscribe`` (wall time, a plain function) is re-read
at least once a second, so a clock that jumps is noticed within a second.
"""

import collections
import json
import logging
import os
import threading
import traceback

log = logging.getLogger("kvstore.scheduler")

_MAX_IDLE_WAIT = 1.0        # re-read a clock that cannot notify us at least this often (seconds)
#: a database directory's record of its last background-job failures (see docs/format.md)
ERRORS_FILE = "background-errors.json"
MAX_SAVED_ERRORS = 20


class SchedulerStopped(RuntimeError):
    """A job was scheduled on a scheduler that has been stopped (its engine is closed)."""


class JobError:
    """One failure of a job: its name, the clock time, the exception, and the formatted traceback."""

    __slots__ = ("job", "at", "error", "traceback")

    def __init__(self, job, at, error, tb):
        self.job, self.at, self.error, self.traceback = job, at, error, tb

    def as_dict(self):
        return {"job": self.job, "at": self.at, "error": f"{type(self.error).__name__}: {self.error}",
                "traceback": self.traceback}

    def __repr__(self):
        return f"JobError({self.job!r}, at={self.at!r}, error={self.error!r})"


class Job:
    """A scheduled job: periodic when ``interval`` is set, else one-shot."""

    def __init__(self, scheduler, name, fn, interval=None, due=None):
        self.scheduler = scheduler
        self.name = name
        self.fn = fn
        self.interval = interval
        self.due = due                  # clock time of the next run (periodic jobs)
        self.running = False
        self.cancelled = False
        self.runs = 0                   # completed runs, failed ones included
        self.failures = 0
        self.last_error = None
        self.done = threading.Event()   # one-shot: set when it has finished (or will never run)
        self.thread = None

    def cancel(self):
        """Stop scheduling this job (a run in progress finishes; a one-shot job must check ``stopping``)."""
        self.scheduler._cancel(self)

    def wait(self, timeout=None):
        """One-shot jobs: block until finished; True if it has."""
        return self.done.wait(timeout)

    def __repr__(self):
        kind = f"every {self.interval}s" if self.interval is not None else "once"
        return f"<Job {self.name!r} {kind} runs={self.runs} failures={self.failures}>"


class Scheduler:
    """Background jobs of one engine (see the module docstring)."""

    def __init__(self, clock, *, name="kvstore", max_errors=50, on_error=None):
        self.clock = clock
        self.name = name
        self.on_error = on_error
        #: set by ``stop()``: long jobs check it between steps and return early
        self.stopping = threading.Event()
        #: the last ``max_errors`` JobError, oldest first
        self.errors = collections.deque(maxlen=max_errors)
        self._cond = threading.Condition(threading.Lock())
        self._periodic = []
        self._oneshot = []              # one-shot jobs not yet finished
        self._thread = None
        self._started = False
        self._subscribed = False

    # ------------------------------------------------------------------ lifecycle

    def start(self):
        """Start running jobs (one-shot jobs submitted before start begin now)."""
        with self._cond:
            if self.stopping.is_set():
                raise SchedulerStopped("a stopped scheduler does not start again")
            if self._started:
                return
            self._started = True
            waiting = [j for j in self._oneshot if j.thread is None]
            if self._periodic:
                self._start_loop()
            for job in waiting:
                self._launch(job)

    def stop(self, timeout=None):
        """Set ``stopping``, wake everything and join every job thread.  Idempotent.

        Called from inside a job, it does not join that job's own thread.
        """
        with self._cond:
            self.stopping.set()
            self._cond.notify_all()
            threads = [self._thread] + [j.thread for j in self._oneshot]
            for job in [j for j in self._oneshot if j.thread is None]:    # submitted, never started
                job.cancelled = True
                self._oneshot.remove(job)
                job.done.set()
        if self._subscribed:
            self.clock.unsubscribe(self._clock_moved)
            self._subscribed = False
        current = threading.current_thread()
        for t in threads:
            if t is not None and t is not current:
                t.join(timeout)

    @property
    def running(self):
        return self._started and not self.stopping.is_set()

    # ------------------------------------------------------------------ scheduling

    def every(self, name, seconds, fn, *, first=None):
        """Run ``fn()`` every ``seconds`` of the clock; the first run at ``first`` (default now + seconds)."""
        if not seconds > 0:
            raise ValueError(f"a periodic job needs a positive interval, not {seconds!r}")
        with self._cond:
            self._check_open()
            job = Job(self, name, fn, interval=seconds, due=self.clock() + seconds if first is None else first)
            self._periodic.append(job)
            if self._started and self._thread is None:
                self._start_loop()
            self._cond.notify_all()
        return job

    def submit(self, name, fn, *, unique=False):
        """Run ``fn()`` once, now, on a thread of its own.  ``unique``: reuse a pending job of that name."""
        with self._cond:
            self._check_open()
            if unique:
                for job in self._oneshot:
                    if job.name == name:
                        return job
            job = Job(self, name, fn)
            self._oneshot.append(job)
            if self._started:
                self._launch(job)
        return job

    def jobs(self):
        """The periodic jobs and the unfinished one-shot jobs."""
        with self._cond:
            return list(self._periodic) + list(self._oneshot)

    def _check_open(self):
        if self.stopping.is_set():
            raise SchedulerStopped(f"the {self.name} scheduler is stopped")

    def _cancel(self, job):
        with self._cond:
            job.cancelled = True
            if job in self._periodic:
                self._periodic.remove(job)
            self._cond.notify_all()

    # ------------------------------------------------------------------ running

    def run_pending(self):
        """Run every periodic job due now in this thread; wait for jobs running elsewhere.

        Returns the names of the jobs this call ran, in order.  Each due job
        runs once (it is then due again only after the clock moves on), so
        the call returns even if a job's interval is shorter than its run.
        Never call it from inside a job: it would wait for itself.
        """
        ran = []
        with self._cond:
            now = self.clock()
        while True:
            with self._cond:
                job = next((j for j in self._periodic if not j.running and j.due <= now), None)
                if job is None:
                    busy = any(j.running for j in self._periodic) or any(
                        j.thread is not None for j in self._oneshot)
                    if not busy:
                        return ran
                    self._cond.wait()
                    continue
                job.running = True
            self._run_periodic(job, now)
            ran.append(job.name)

    def _start_loop(self):
        if not self._subscribed and hasattr(self.clock, "subscribe"):
            self.clock.subscribe(self._clock_moved)
            self._subscribed = True
        self._thread = threading.Thread(target=self._loop, name=f"{self.name}-scheduler", daemon=True)
        self._thread.start()

    def _clock_moved(self):
        with self._cond:
            self._cond.notify_all()

    def _loop(self):
        notifying = self._subscribed
        while True:
            with self._cond:
                if self.stopping.is_set():
                    return
                now = self.clock()
                job = next((j for j in self._periodic if not j.running and j.due <= now), None)
                if job is None:
                    pending = [j.due for j in self._periodic if not j.running]
                    timeout = None if notifying else _MAX_IDLE_WAIT
                    if pending and not notifying:
                        timeout = max(0.0, min(_MAX_IDLE_WAIT, min(pending) - now))
                    self._cond.wait(timeout)
                    continue
                job.running = True
            self._run_periodic(job, now)

    def _run_periodic(self, job, now):
        try:
            self._call(job)
        finally:
            with self._cond:
                job.running = False
                job.runs += 1
                job.due += job.interval
                if job.due <= now:          # fell behind (a clock jump): one run catches up, not many
                    job.due = now + job.interval
                self._cond.notify_all()

    def _launch(self, job):
        # Called under ``_cond``: ``stop()`` then never sees a thread that exists but has not
        # started (joining one raises), nor cancels a job whose thread is about to start.
        # ``Thread.start`` waits only for the new thread's bootstrap, which takes no lock of ours.
        job.thread = threading.Thread(target=self._run_oneshot, args=(job,), name=f"{self.name}-{job.name}",
                                      daemon=True)
        job.thread.start()

    def _run_oneshot(self, job):
        try:
            if not job.cancelled:
                self._call(job)
        finally:
            with self._cond:
                job.runs += 1
                self._oneshot.remove(job)
                job.done.set()
                self._cond.notify_all()

    def _call(self, job):
        try:
            job.fn()
        except Exception as exc:
            job.failures += 1
            error = JobError(job.name, self.clock(), exc, traceback.format_exc())
            job.last_error = error
            self.errors.append(error)
            log.error("background job %r failed", job.name, exc_info=True)
            if self.on_error is not None:
                try:
                    self.on_error(error)
                except Exception:
                    log.exception("reporting the failure of background job %r failed", job.name)


def load_errors(fs, directory):
    """The job failures saved in ``directory`` (dicts of ``JobError.as_dict``), oldest first."""
    path = os.path.join(directory, ERRORS_FILE)
    if not fs.exists(path):
        return []
    try:
        errors = json.loads(fs.read_bytes(path))
    except ValueError as exc:
        return [{"job": None, "at": None, "error": f"{ERRORS_FILE} is unreadable: {exc}", "traceback": ""}]
    return errors if isinstance(errors, list) else []


def save_error(fs, directory, error):
    """Add ``error`` to the failures saved in ``directory`` (the last MAX_SAVED_ERRORS); best effort.

    Written to a temporary file and renamed over the old one, so a crash
    leaves the old list or the new one (and a ``.tmp`` the next open removes).
    """
    path = os.path.join(directory, ERRORS_FILE)
    try:
        errors = load_errors(fs, directory) + [error.as_dict()]
        fs.write_file(path + ".tmp", json.dumps(errors[-MAX_SAVED_ERRORS:], indent=1).encode())
        fs.rename(path + ".tmp", path)
    except Exception as exc:
        log.warning("could not save the failure of background job %r in %s: %s", error.job, directory, exc)
