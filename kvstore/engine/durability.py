"""Durability: the write-ahead log with group commit, background checkpoints, recovery.

The engine's side of the contract::

    d = Durability(directory, policy="batch")
    rec = d.recover()                  # takes the directory lock
    for chunk in rec.snapshot_chunks(): ...   # load the checkpoint
    for payload in rec.log_payloads(): ...    # replay after-images in order
    d.set_checkpoint_source(produce_chunks)
    d.start()
    lsn = d.append(payload)            # under the items' locks: cheap, no system call
    ...apply the write, release the locks...
    d.wait_durable(lsn)                # sync: returns once fsynced (group commit)
    d.close()

``produce_chunks()`` must copy each partition under that partition's lock
(see docs/format.md, "Why a fuzzy checkpoint ... is correct").

Group commit: appends go to an in-memory buffer.  Under ``sync`` the first
thread that waits becomes the leader: it takes the buffer, writes it with one
write(2) and syncs, then wakes the waiters; threads arriving meanwhile wait
on the condition variable and one of them leads the next round.  Under
``batch`` a flusher thread does the same every ``batch_interval`` seconds;
under ``none`` it writes without syncing.  Under both, ``append`` also copies
the record into the mapped staging area (``staging.py``), so a process that
dies before the flusher writes loses no acknowledged write: the next open
appends the staged records to the log.

The flusher is the log's own thread, on the monotonic clock: it is part of
what ``batch`` promises (on disk within milliseconds), so it must not wait for
an engine clock that a test may hold still.  Checkpoints are background jobs
of a :class:`~kvstore.engine.scheduler.Scheduler` (the engine's, or one of the
log's own when used alone): once ``checkpoint_log_bytes`` of log have been
written since the last one, the flusher submits one; a failed one is retried
after a second at the earliest.

Complexity: ``append`` is O(p) for a payload of p bytes (framing and crc32,
no system call) under a short lock; each flush costs one write(2) and one
fsync whatever the number of records in it, so w concurrent writers under
``sync`` share about one fsync per round.  A checkpoint is O(n) for n rows,
with memory bounded by one chunk of keys at a time, and it lets go of every
log segment wholly before its start LSN, so while checkpoints succeed the
log on disk stays near ``checkpoint_log_bytes`` plus one segment.  Recovery is O(checkpoint + log
after it).
"""

import bisect
import collections
import logging
import os
import threading
import time

from kvstore._core import append_record
from kvstore.clock import stopwatch

from . import checkpoint as ckpt
from . import recovery
from . import staging
from . import wal
from .errors import DurabilityError
from .fs import RealFS, SimulatedCrash
from .lock import DirectoryLock
from .scheduler import Scheduler, SchedulerStopped

log = logging.getLogger("kvstore.durability")

POLICIES = ("sync", "batch", "none")
_SYNC_POLICY_TICK = 0.05         # under sync the flusher only retries and triggers checkpoints
_MAX_BACKOFF = 1.0
#: upper bounds of the commit group size histogram (records per write + fsync; kvstore.metrics)
GROUP_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
_GROUP_BUCKETS = GROUP_BUCKETS
# group commit under ``sync``: a new leader waits for as many records as the last batch had, for at
# most this fraction of a recent write+sync (capped), so writers released by that sync can join
_allocate_lock = threading.Lock
_GATHER_FRACTION = 0.25
_GATHER_MAX = 0.002


class _Batch:
    """Records taken from the buffer together: written with one write and one sync."""

    __slots__ = ("data", "first_lsn", "last_lsn", "records")

    def __init__(self, parts, first_lsn, last_lsn):
        self.data, self.first_lsn, self.last_lsn, self.records = parts, first_lsn, last_lsn, len(parts)


class Durability:
    """The write-ahead log and checkpoints of one database directory (see the module docstring)."""

    def __init__(self, directory, policy="batch", fs=None, *, batch_interval=0.005,
                 segment_bytes=64 << 20, checkpoint_log_bytes=256 << 20, repair=False, scheduler=None,
                 staging_bytes=staging.REGION_BYTES):
        if policy not in POLICIES:
            raise ValueError(f"durability policy must be one of {', '.join(POLICIES)}, not {policy!r}")
        self.directory = os.fspath(directory)
        self.policy = policy
        self.fs = fs if fs is not None else RealFS()
        self.batch_interval = batch_interval
        self.segment_bytes = segment_bytes
        self.checkpoint_log_bytes = checkpoint_log_bytes
        self.repair = repair
        self._sync = policy != "none"
        self.staging_bytes = staging_bytes
        self._staging = None               # under batch and none: the mapped copy of unwritten records
        self._unstaged = 0                 # the last LSN the staging area could not hold

        self._lock = lock = threading.Lock()   # the conditions' lock: ``with self._lock`` where no one waits
        self._cond = threading.Condition(lock)
        self._gathered = threading.Condition(lock)   # a leader waiting for followers' records (same lock)
        self._gather_target = 0            # while a leader gathers: the buffered records it waits for
        self._waiters = []                 # (lsn, lock) of followers asleep until a leader releases them
        self._chain = []                   # locks of followers made durable, each released by the one before
        self._listeners = []               # called after every batch, failure and close (add_listener)
        self._last_batch = 1               # records in the last batch written
        self._sync_seconds = 0.0           # moving average of one batch's write + sync
        self._buf = []                     # framed records not yet taken by a flush
        self._buf_bytes = 0
        self._buf_first = 0
        self._next_lsn = 1
        self._durable_lsn = 0              # highest LSN written (and synced unless policy none)
        self._pending = collections.deque()  # _Batch taken from the buffer, not yet durable
        self._flushing = False
        self._failure = None               # OSError of the last failed flush until one succeeds
        self._fail_gen = 0
        self._state = "new"
        self._segment = None
        self._segments = []                # (first_lsn, path) oldest first
        self._rotate_requested = False
        self._log_bytes = 0                # bytes written since the last checkpoint began

        self._ckpt_lock = threading.Lock()
        self._ckpt_source = None
        self._ckpt_retry_at = 0.0          # monotonic time before which a failed checkpoint is not retried
        self._own_scheduler = scheduler is None
        self._scheduler = scheduler if scheduler is not None else Scheduler(time.time, name="kvstore-log")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads = []
        self._dir_lock = DirectoryLock(self.fs, self.directory)
        self._info = None
        #: summary of the last checkpoint written, and the error of the last failed background one
        self.last_checkpoint = None
        self.checkpoint_error = None
        #: batches written (one write + one sync each) and records in them: records per sync = group size
        self.batches_written = 0
        self.records_written = 0
        #: point-in-time recovery (kvstore/engine/pitr.py) sets these: ``retain(path)`` takes a log
        #: segment or checkpoint that is no longer needed for recovery (True: it kept the file, so it
        #: must not be deleted); ``on_checkpoint(start_lsn, end_lsn)`` runs before a checkpoint is
        #: published, once the log is durable through ``end_lsn - 1``
        self.retain = None
        self.on_checkpoint = None
        #: for metrics (kvstore/metrics.py): log bytes written, batches by records (GROUP_BUCKETS),
        #: checkpoints written and the last one's duration
        self.bytes_written = 0
        self.group_sizes = [0] * (len(_GROUP_BUCKETS) + 1)
        self.checkpoints_written = 0
        self.checkpoint_seconds = None
        #: the engine's clock (the engine sets it): when the last checkpoint of this process finished
        self.clock = None
        self.checkpoint_at = None

    # ------------------------------------------------------------------ lifecycle

    def recover(self):
        """Lock the directory, read checkpoint + log, fix a torn tail; return a Recovery."""
        if self._state != "new":
            raise RuntimeError("recover() runs once, before start()")
        self.fs.makedirs(self.directory)
        self._dir_lock.acquire()
        try:
            info = recovery.inspect(self.fs, self.directory)
            dropped = recovery.apply(self.fs, info, repair=self.repair, sync=self._sync, retain=self.retain)
            staged = staging.read(self.fs, self.directory, info.next_lsn)
            if staged:
                self._promote(info, staged)
                info = recovery.inspect(self.fs, self.directory)
                dropped += recovery.apply(self.fs, info, repair=self.repair, sync=self._sync, retain=self.retain)
                info.notes.append(f"{len(staged)} acknowledged record(s) (LSN {staged[0][0]}..{staged[-1][0]}) "
                                  f"were only in {staging.NAME}; appended to the log")
        except BaseException:
            self._dir_lock.release()
            raise
        self._info = info
        self._next_lsn = info.next_lsn
        self._durable_lsn = info.next_lsn - 1
        self._segments = [(s.first_lsn, s.path) for s in info.segments]
        self._log_bytes = sum(s.end for s in info.segments)
        self._state = "recovered"
        return recovery.Recovery(self.fs, info, dropped, repaired=self.repair)

    def _promote(self, info, staged):
        """Append records that only the staging area kept (the process died before writing them)."""
        data = b"".join(wal.encode_record(lsn, payload, wal.CONT if i else wal.BEGIN)
                        for i, (lsn, payload) in enumerate(staged))
        last = info.segments[-1] if info.segments else None
        if last is not None:
            segment = wal.SegmentWriter.reopen(self.fs, last.path, last.first_lsn, last.end, self._sync, last.flags)
        else:
            segment = wal.SegmentWriter.create(self.fs, self.directory, info.next_lsn, self._sync)
        try:
            segment.write_batch(data, len(staged))
            segment.trim()
        finally:
            segment.close()

    def start(self):
        """Open the log for appending and start the flusher (and the scheduler, if the log's own)."""
        if self._state != "recovered":
            raise RuntimeError("start() follows recover()")
        last = self._info.segments[-1] if self._info.segments else None
        try:
            if last is not None and last.end < self.segment_bytes:
                self._segment = wal.SegmentWriter.reopen(self.fs, last.path, last.first_lsn, last.end, self._sync,
                                                         last.flags)
                self._segment.records = last.records
                if self._sync:
                    self._segment.sync()       # what recovery read is durable before anything builds on it
            else:
                self._new_segment(self._next_lsn)
            if self.policy != "sync":
                self._staging = staging.Staging(self.fs, self.directory, self.staging_bytes)
        except OSError as exc:
            raise DurabilityError(f"could not open the write-ahead log in {self.directory}", exc) from exc
        self._info = None
        self._state = "running"
        t = threading.Thread(target=self._flusher, name="kvstore-flusher", daemon=True)
        t.start()
        self._threads.append(t)
        if self._own_scheduler:
            self._scheduler.start()

    def close(self):
        """Flush and sync everything, stop the threads, release the lock.  Idempotent.

        With the engine's scheduler the engine stops it first (so no
        checkpoint is running); the log's own scheduler is stopped here.
        """
        if self._state == "closed":
            return
        error = None
        try:
            if self._state == "running":
                self._stop.set()
                self._wake.set()
                for t in self._threads:
                    if t is not threading.current_thread():
                        t.join()
                if self._own_scheduler:
                    self._scheduler.stop()
                try:
                    self.flush()
                    self._segment.trim()
                except DurabilityError as exc:
                    error = exc
                self._segment.close()
                if self._staging is not None:
                    self._staging.close(written=error is None)
        finally:
            with self._cond:
                self._state = "closed"
                self._release_waiters()
            self._dir_lock.release()
        if error is not None:
            raise error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ writing

    @property
    def next_lsn(self):
        return self._next_lsn

    @property
    def durable_lsn(self):
        """Highest LSN on disk (fsynced; under ``none``: written)."""
        return self._durable_lsn

    @property
    def closed(self):
        return self._state == "closed"

    @property
    def failure(self):
        """The OSError that keeps the log from being written, or None when healthy."""
        return self._failure

    #: ``append(payload)``: frame and buffer one record, copy it into the staging area; its LSN.  No
    #: system call.  Refuses (DurabilityError) while the log cannot be written, so a write fails before
    #: the engine applies it.  Every logged write's path: ``kvstore._pycore.append_record`` is the
    #: reference, compiled in ``kvstore._clog``.
    append = append_record

    def _refuse(self):
        if self._state != "running":
            raise DurabilityError(f"the write-ahead log of {self.directory} is {self._state}, not open for writing")
        raise DurabilityError(f"the write-ahead log of {self.directory} cannot be written (retrying in the "
                              f"background)", self._failure)

    def wait_durable(self, lsn):
        """Block until ``lsn`` is durable per the policy (``batch``/``none``: at once, since the
        staging area holds it, unless a record it could not hold is still unwritten).

        Raises DurabilityError if the record could not be written.
        """
        if lsn <= self._durable_lsn:
            return
        if self.policy != "sync":
            if self._failure is not None:
                raise DurabilityError("the write-ahead log cannot be written", self._failure)
            if self._unstaged > self._durable_lsn:    # not all of it is staged: write it now
                self._wait(lsn)
            return
        self._wait(lsn)

    def sync_to(self, lsn):
        """Make the log durable through ``lsn`` now, whatever the policy (a stream reader needs it)."""
        if lsn > self._durable_lsn:
            self._wait(lsn)

    def flush(self):
        """Write (and sync, unless ``none``) everything appended so far; DurabilityError on failure."""
        self._wait(self._next_lsn - 1)

    def add_listener(self, listener):
        """Call ``listener()`` (from whichever thread wrote, holding the log's lock: it must only
        schedule work, never wait or append) after every batch made durable, every failed write and
        the close.  With :meth:`request_flush` it lets a caller wait for an LSN without a thread
        blocked on it: the server's event loop holds a write's answer until its record is durable
        (kvstore.server.app, "answers held until durable")."""
        with self._cond:
            self._listeners.append(listener)

    def remove_listener(self, listener):
        with self._cond:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def request_flush(self):
        """Have the flusher write (and sync) everything appended so far, now rather than at its next
        tick; returns at once.  A flush already running takes what it took, and the flusher writes
        the rest as soon as it is done."""
        self._wake.set()

    def _wait(self, lsn):
        """Return once ``lsn`` is durable: lead a write if nobody is, else sleep until a leader is done.

        A follower sleeps on a lock of its own (not on the shared condition):
        with eight writers, re-acquiring a shared lock one after another cost
        more CPU per write than the write itself.  The followers a sync made
        durable wake one after another, not all at once: the leader wakes
        one, and each woken follower wakes the next (``_chain``, last in
        first out) before it returns.  Woken together, seven threads queued
        for the GIL, and each slept twice (on its lock, then on the GIL) and
        preempted the thread holding it; woken in turn, each wakes while the
        one before runs (bench/results/durability_engine.md, session 15).
        The leader also wakes one follower still waiting, to lead the next
        batch.
        """
        gen = None
        woken = False
        while True:
            with self._cond:
                if woken and self._chain:
                    self._chain.pop().release()
                if gen is None:
                    gen = self._fail_gen
                if self._durable_lsn >= lsn:
                    return
                if self._state == "closed":
                    raise DurabilityError(f"the write-ahead log of {self.directory} is closed; LSN {lsn} "
                                          f"was not written")
                if self._fail_gen != gen:
                    raise DurabilityError("the write-ahead log cannot be written", self._failure)
                if self._flushing:
                    waiter = _allocate_lock()
                    waiter.acquire()
                    self._waiters.append((lsn, waiter))
                else:
                    waiter = None
                    woken = False            # a leader's sync wakes a chain of its own
                    self._flushing = True
                    self._gather()
            if waiter is not None:
                try:
                    waiter.acquire()             # released by _release_waiters or the follower before
                except BaseException:            # KeyboardInterrupt in the main thread
                    with self._cond:
                        self._abandon((lsn, waiter))
                    raise
                woken = True
                continue
            try:
                self._lead()
            finally:
                with self._cond:
                    self._flushing = False
                    self._release_waiters(handover=True)

    def _abandon(self, entry):
        """A follower interrupted in its sleep stops waiting (holding ``_cond``).  If it had already been
        woken, the next follower in the chain would wait for it forever: it wakes that one instead."""
        if entry in self._waiters:
            self._waiters.remove(entry)
        elif entry[1] in self._chain:
            self._chain.remove(entry[1])
        elif self._chain:
            self._chain.pop().release()

    def _release_waiters(self, handover=False):
        """Wake the followers whose records are durable (all of them at once after a failure or close).

        The durable ones join ``_chain`` and the first of it is woken; it wakes
        the next (see :meth:`_wait`).  ``handover``: the leader is done, so also
        wake the first follower still waiting, to lead the next batch.  Called
        holding ``_cond``.  Tells the listeners too.
        """
        for listener in self._listeners:
            listener()
        if not self._waiters:
            return
        durable, everyone = self._durable_lsn, self._failure is not None or self._state == "closed"
        keep = []
        chain = self._chain
        for entry in self._waiters:
            if everyone:
                entry[1].release()
            elif entry[0] <= durable:
                chain.append(entry[1])
            elif handover:
                entry[1].release()
                handover = False
            else:
                keep.append(entry)
        self._waiters = keep
        if everyone:
            while chain:
                chain.pop().release()
        elif chain:
            chain.pop().release()

    def _gather(self):
        """As a new leader (holding ``_cond``), give concurrent writers a moment to join the batch.

        Writers released by the last sync come back with their next record a
        few tens of microseconds later; taking the buffer before they do
        would sync a batch of one and leave them for the next round.  So the
        leader waits until the buffer holds as many records as the last batch
        did, for at most a quarter of a recent write + sync (the time a
        follower would otherwise wait anyway), never more than 2 ms.  A lone
        writer (last batch of one) never waits.
        """
        target = self._last_batch
        if target <= 1 or self.policy != "sync" or len(self._buf) >= target or self._failure is not None:
            return
        timeout = min(self._sync_seconds * _GATHER_FRACTION, _GATHER_MAX)
        if timeout <= 0:
            return
        deadline = time.monotonic() + timeout
        self._gather_target = target
        try:
            while len(self._buf) < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._gathered.wait(remaining)
        finally:
            self._gather_target = 0

    def _lead(self):
        """Write every pending batch, oldest first, one write + one sync each."""
        with self._cond:
            if self._buf:
                self._pending.append(_Batch(self._buf, self._buf_first, self._next_lsn - 1))
                self._buf, self._buf_bytes = [], 0
                if self._staging is not None:
                    self._staging.switch(self._durable_lsn)
            batches = list(self._pending)
            rotate, self._rotate_requested = self._rotate_requested, False
        for batch in batches:
            if isinstance(batch.data, list):
                batch.data = b"".join(batch.data)
            try:
                seg = self._segment
                if (rotate or seg.size >= self.segment_bytes) and seg.records and not seg.dirty:
                    self._new_segment(batch.first_lsn)
                    rotate = False
                started = time.monotonic()
                self._segment.write_batch(batch.data, batch.records)
                elapsed = time.monotonic() - started
            except OSError as exc:
                with self._cond:
                    self._rotate_requested = self._rotate_requested or rotate
                    if self._failure is None:
                        log.error("writing the write-ahead log of %s failed: %s", self.directory, exc)
                    self._failure = exc
                    self._fail_gen += 1
                raise DurabilityError("could not write the write-ahead log", exc) from exc
            with self._cond:
                self._pending.popleft()
                self._durable_lsn = batch.last_lsn
                self.batches_written += 1
                self.records_written += batch.records
                self.bytes_written += len(batch.data)
                self.group_sizes[bisect.bisect_left(_GROUP_BUCKETS, batch.records)] += 1
                self._last_batch = batch.records
                self._sync_seconds += (elapsed - self._sync_seconds) * 0.2
                self._log_bytes += len(batch.data)
                if self._failure is not None:
                    log.warning("the write-ahead log of %s is writable again", self.directory)
                    self._failure = None
                self._release_waiters()

    def written_end(self):
        """``(path, first LSN, offset)`` of the segment being written and the end of its written batches,
        or None: a reader of the log stops there (and reads no later segment), since past it a write in
        progress may be half copied in (pages of allocated space change in place, so a later page can
        show new records before an earlier one)."""
        segment = self._segment
        return None if segment is None else (segment.path, segment.first_lsn, segment.synced)

    def _new_segment(self, first_lsn):
        if self._segment is not None:
            self._segment.trim()
        new = wal.SegmentWriter.create(self.fs, self.directory, first_lsn, self._sync)
        old, self._segment = self._segment, new
        if old is not None:
            old.close()
        with self._cond:
            self._segments.append((first_lsn, new.path))

    # ------------------------------------------------------------------ background

    def _flusher(self):
        tick = self.batch_interval if self.policy != "sync" else _SYNC_POLICY_TICK
        wait = tick
        try:
            while not self._stop.is_set():
                self._wake.wait(wait)
                self._wake.clear()
                if self._stop.is_set():
                    break
                if self._buf or self._pending or self._failure is not None:
                    try:
                        self.flush()
                        wait = tick
                    except DurabilityError:
                        wait = min(_MAX_BACKOFF, max(wait * 2, 0.01))
                if (self._ckpt_source is not None and self._log_bytes >= self.checkpoint_log_bytes
                        and not self._ckpt_lock.locked() and time.monotonic() >= self._ckpt_retry_at):
                    try:
                        self._scheduler.submit("checkpoint", self._background_checkpoint, unique=True)
                    except SchedulerStopped:      # the engine is closing
                        pass
        except SimulatedCrash:
            self._stop.set()

    def _background_checkpoint(self):
        """The checkpoint job; a failure is retried by a later trigger, a second later at the earliest."""
        if self._stop.is_set() or self._state != "running":
            return
        try:
            self.checkpoint()
            self.checkpoint_error = None
        except SimulatedCrash:                    # the simulated process died: stop as it would
            self._stop.set()
        except Exception as exc:                  # the scheduler logs and keeps it
            self.checkpoint_error = exc
            self._ckpt_retry_at = time.monotonic() + _MAX_BACKOFF
            raise

    # ------------------------------------------------------------------ checkpoints

    def set_checkpoint_source(self, produce_chunks):
        """The engine callback automatic checkpoints use (see ``checkpoint``)."""
        self._ckpt_source = produce_chunks

    def checkpoint(self, produce_chunks=None):
        """Write a snapshot now; writes keep flowing meanwhile.  Returns a summary dict.

        L0 (the next LSN) is read before ``produce_chunks()`` is called; the log
        is made durable through the last LSN assigned before the file is
        published; afterwards older checkpoints and the segments holding only
        records before L0 are deleted.
        """
        produce = produce_chunks or self._ckpt_source
        if produce is None:
            raise ValueError("checkpoint() needs produce_chunks (or set_checkpoint_source first)")
        if self._state != "running":
            raise DurabilityError(f"the write-ahead log of {self.directory} is {self._state}")
        with self._ckpt_lock:
            started = stopwatch()
            with self._cond:
                start_lsn = self._next_lsn
                log_bytes = self._log_bytes
                self._rotate_requested = True

            def before_publish():
                end_lsn = self._next_lsn
                self._wait(end_lsn - 1)
                if self.on_checkpoint is not None:
                    self.on_checkpoint(start_lsn, end_lsn)
                return end_lsn

            try:
                info = ckpt.write_checkpoint(self.fs, self.directory, start_lsn, produce(), before_publish,
                                             sync=self._sync)
            except OSError as exc:
                raise DurabilityError(f"could not write a checkpoint in {self.directory}", exc) from exc
            with self._cond:
                self._log_bytes = max(0, self._log_bytes - log_bytes)
            released = self._release(start_lsn)
            self.last_checkpoint = dict(info.as_dict(), released=released)
            self.checkpoints_written += 1
            self.checkpoint_seconds = stopwatch() - started
            self.checkpoint_at = self.clock() if self.clock is not None else None
            return self.last_checkpoint

    def checkpoints_paused(self):
        """A context manager: no checkpoint starts (or is running) inside it.

        Point-in-time restores log a new table's rows in several records and the
        table itself in a last one; a checkpoint between them would start its
        replay after rows that its snapshot does not hold.
        """
        return self._ckpt_lock

    def figures(self):
        """What metrics report about the log (``kvstore.metrics``): counters since open, current sizes."""
        with self._cond:
            return {"fsyncs": self.batches_written if self._sync else 0, "records": self.records_written,
                    "bytes_written": self.bytes_written, "group_sizes": list(self.group_sizes),
                    "segments": len(self._segments), "log_bytes": self._log_bytes,
                    "checkpoints": self.checkpoints_written, "checkpoint_seconds": self.checkpoint_seconds,
                    "checkpoint_at": self.checkpoint_at}

    def _release(self, start_lsn):
        """Delete older checkpoints and the segments wholly before ``start_lsn``; best effort."""
        with self._cond:
            keep = 0
            for i, (first, _path) in enumerate(self._segments):
                if first <= start_lsn:
                    keep = i
            doomed = [p for _f, p in self._segments[:keep]]
            del self._segments[:keep]
        for name in self.fs.listdir(self.directory):
            lsn = ckpt.parse_checkpoint_name(name)
            if lsn is not None and lsn < start_lsn:
                doomed.append(os.path.join(self.directory, name))
        released = []
        for path in doomed:
            try:
                if self.retain is not None and self.retain(path):
                    continue
                self.fs.remove(path)
                released.append(path)
            except OSError as exc:      # a leftover is removed by the next open
                log.warning("could not remove %s: %s", path, exc)
        return released
