"""Runs workloads against one target, in this process.

The timed loop is the harness's whole per-operation cost: two
``perf_counter_ns`` calls, one call through a bound method, one list append
(the ``noop`` target measures it).  Operations are generated and prepared
before the loop; latencies are folded into a histogram after it.
"""

import gc
import os
import threading
import time

from . import datasets
from .histogram import Histogram
from .machine import rss_bytes
from .progress import progress  # imports tqdm here, so its memory is not counted as loaded data
from .targets.base import NotSupported
from .workloads import WORKLOADS


#: A round gives up after this many failed operations (and at least a
#: tenth of the round): a store that has gone away must not turn each
#: remaining operation into a timeout.
MAX_ERRORS = 50


def timed_loop(calls, latencies):
    """Run ``calls`` [(execute, prepared)...]; append each latency (ns).
    A failing operation is counted, not timed, and the loop goes on - unless
    failures pile up, then the round ends early with what it has."""
    pc = time.perf_counter_ns
    append = latencies.append
    errors = 0
    first_error = None
    limit = max(MAX_ERRORS, len(calls) // 10)
    it = iter(calls)
    start = pc()
    while True:
        try:
            for fn, arg in it:
                t0 = pc()
                fn(arg)
                append(pc() - t0)
            break
        except Exception as exc:
            errors += 1
            if first_error is None:
                first_error = "%s: %s" % (type(exc).__name__, str(exc)[:300])
            if errors >= limit:
                first_error += " (round abandoned after %d errors)" % errors
                break
    return pc() - start, errors, first_error


def disk_bytes(path):
    """Bytes in the files under ``path`` (what a target keeps on disk)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total


class Runner:
    """One target, its loaded data sets and its per-worker sessions."""

    def __init__(self, spec, workdir, options, seed=1):
        self.spec = spec
        self.workdir = workdir
        self.options = options
        self.seed = seed
        self.target = spec.build(workdir, options)
        self.data = {}
        self.sessions = {}
        self.bound = {}

    # data ------------------------------------------------------------------
    def load(self, dataset, count, show_progress=False, attach=False):
        """Create and fill a data set; returns load time and memory growth."""
        data = datasets.make(dataset, count)
        self.data[dataset] = data
        if attach:
            self.target.attach(data)
            return {"attached": True}
        gc.collect()
        rss0 = rss_bytes()
        t0 = time.perf_counter()
        self.target.setup(data)
        records = data.records()
        if show_progress:
            records = progress(records, total=count, desc="%s: load %s" % (self.target.name, dataset))
        self.target.load(data, records)
        seconds = time.perf_counter() - t0
        gc.collect()
        rss1 = rss_bytes()
        disk = disk_bytes(self.workdir)
        return {"seconds": seconds, "records": count, "rss_before": rss0, "rss_after": rss1,
                "bytes_per_record": (rss1 - rss0) / count if rss0 and rss1 else None,
                "disk_bytes": disk, "disk_bytes_per_record": disk / count if disk else None}

    def probe(self):
        """Time from an opened target to its first answered read: create the
        items table, write one record, read it back (start-up cost)."""
        data = datasets.make("items", 1)
        t0 = time.perf_counter()
        self.target.setup(data)
        self.target.load(data, data.records())
        self.data["items"] = data
        session = self.session(0)
        prepare, execute = session.bind("get")
        execute(prepare(*data.key(0)))
        return {"seconds": time.perf_counter() - t0}

    # sessions --------------------------------------------------------------
    def session(self, worker):
        s = self.sessions.get(worker)
        if s is None:
            s = self.sessions[worker] = self.target.session()
        return s

    def _prepare(self, session, ops):
        bound = {}
        calls = []
        for op, args in ops:
            pair = bound.get(op)
            if pair is None:
                pair = bound[op] = session.bind(op)
            calls.append((pair[1], pair[0](*args)))
        return calls

    def supports(self, workload_name):
        w = WORKLOADS[workload_name]
        session = self.session(0)
        try:
            for op, _ in w.mix:
                session.bind(op)
        except NotSupported as exc:
            return "operation %s not supported" % exc
        return None

    # running ---------------------------------------------------------------
    def calibrate(self, workload_name, seconds, insert_next=None):
        """Warm-up: run the workload for ``seconds`` untimed-per-op, return the
        rate (ops/s) and how many records it inserted."""
        w = WORKLOADS[workload_name]
        data = self.data[w.dataset]
        gen = w.ops(data, self.seed, round_no=-1, insert_next=insert_next)
        session = self.session(0)
        done = 0
        busy = 0
        chunk = 8
        errors = 0
        first_error = None
        start = time.perf_counter()
        while True:
            calls = self._prepare(session, gen.next_ops(chunk))
            wall, e, msg = timed_loop(calls, [])
            busy += wall
            done += len(calls)
            errors += e
            first_error = first_error or msg
            left = seconds - (time.perf_counter() - start)
            if left <= 0 or errors > 100:
                break
            # Size the next chunk from the rate so far: slow operations must
            # not turn a short warm-up into a long one.
            rate = done / (busy / 1e9) if busy else 1e6
            chunk = max(1, min(4096, chunk * 2, int(rate * left) + 1))
        return {"rate": done / (busy / 1e9) if busy else 0.0, "ops": done,
                "inserts": getattr(gen, "inserts", 0), "errors": errors, "error": first_error}

    def run_round(self, workload_name, round_no, ops, concurrency=1, mode="threads", insert_next=None):
        """One measured round of ``ops`` operations per worker."""
        w = WORKLOADS[workload_name]
        data = self.data[w.dataset]
        if concurrency == 1:
            gen = w.ops(data, self.seed, round_no, 0, 1, insert_next)
            calls = self._prepare(self.session(0), gen.next_ops(ops))
            latencies = []
            # The collector stays on, as in the user's process, so its pauses
            # show in the tail.
            wall, errors, first_error = timed_loop(calls, latencies)
            hist = Histogram()
            hist.record_many(latencies)
            return {"hist": hist.to_dict(), "ops": len(latencies), "wall_ns": wall, "errors": errors,
                    "error": first_error, "inserts": gen.inserts}
        if mode == "processes":
            from .concurrency import run_processes

            return run_processes(self, w, data, round_no, ops, concurrency, insert_next)
        return self._run_threads(w, data, round_no, ops, concurrency, insert_next)

    def _run_threads(self, w, data, round_no, ops, concurrency, insert_next):
        plans = []
        inserts = 0
        for worker in range(concurrency):
            gen = w.ops(data, self.seed, round_no, worker, concurrency, insert_next)
            plans.append(self._prepare(self.session(worker), gen.next_ops(ops)))
            inserts = max(inserts, gen.inserts)
        barrier = threading.Barrier(concurrency + 1)
        results = [None] * concurrency

        def work(i):
            latencies = []
            barrier.wait()
            t0 = time.perf_counter_ns()
            wall, errors, msg = timed_loop(plans[i], latencies)
            results[i] = (t0, t0 + wall, latencies, errors, msg)

        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(concurrency)]
        for t in threads:
            t.start()
        barrier.wait()
        for t in threads:
            t.join()
        hist = Histogram()
        errors = 0
        first_error = None
        for _, _, latencies, e, msg in results:
            hist.record_many(latencies)
            errors += e
            first_error = first_error or msg
        wall = max(r[1] for r in results) - min(r[0] for r in results)
        return {"hist": hist.to_dict(), "ops": hist.count, "wall_ns": wall, "errors": errors,
                "error": first_error, "inserts": inserts * concurrency}

    def rss(self):
        return rss_bytes()

    def info(self):
        out = {"pid": os.getpid()}
        out.update(self.target.info())
        return out

    def close(self, clean=True):
        for s in self.sessions.values():
            try:
                s.close()
            except Exception:
                pass
        self.sessions.clear()
        self.target.close(clean=clean)

    def reopen(self):
        t0 = time.perf_counter()
        self.target.reopen()
        return {"seconds": time.perf_counter() - t0}
