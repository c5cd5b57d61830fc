"""The comparison run: every target in its own worker process, every
workload run in short rounds that alternate between targets (round-robin,
the order rotating each round), so drift on a shared machine - another
process, a thermal limit, a noisy neighbour - lands on every target alike.
"""

import concurrent.futures
import tempfile
import time
from dataclasses import asdict, dataclass, field

from . import datasets
from .histogram import Histogram
from .machine import describe
from .pool import LocalHandle, WorkerError, WorkerHandle

#: Seconds one round may take before its worker is declared hung and killed.
ROUND_TIMEOUT = 180


@dataclass
class Config:
    workloads: list
    targets: list  # of bench.targets.Spec
    items: int = 100_000
    records: int = 100_000
    warmup: float = 0.2
    rounds: int = 5
    round_seconds: float = 0.12
    min_round_ops: int = 5
    max_round_ops: int = 10_000
    seed: int = 1
    baseline: str = "sqlite-wal-normal"
    sweep_workloads: list = field(default_factory=list)
    sweep_levels: list = field(default_factory=lambda: [1, 2, 4, 8])
    sweep_rounds: int = 3
    sweep_mode: str = "auto"  # "auto" | "threads" | "processes"
    in_process: bool = False
    server_in_memory: bool = False
    server_args: list = field(default_factory=list)
    options: dict = field(default_factory=dict)
    progress: bool = True

    def public(self):
        out = asdict(self)
        out["targets"] = [s.name for s in self.targets]
        out["workloads"] = [w.name if hasattr(w, "name") else w for w in self.workloads]
        # Never write credentials (not even the key id) into a report.
        out["options"] = {k: v for k, v in self.options.items() if not k.startswith("aws_")}
        return out


def log_default(msg):
    import sys

    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


class Cell:
    """Accumulates one (workload, target) measurement over its rounds."""

    def __init__(self):
        self.hist = Histogram()
        self.ops = 0
        self.wall_ns = 0
        self.errors = 0
        self.error = None
        self.rounds = 0

    def add(self, r):
        self.hist.merge(Histogram.from_dict(r["hist"]))
        self.ops += r["ops"]
        self.wall_ns += r["wall_ns"]
        self.errors += r["errors"]
        self.error = self.error or r.get("error")
        self.rounds += 1

    def result(self, workload, target):
        return {
            "workload": workload,
            "target": target,
            "latency_ns": self.hist.summary(),
            "throughput": self.ops / (self.wall_ns / 1e9) if self.wall_ns else 0.0,
            "ops": self.ops,
            "seconds": self.wall_ns / 1e9,
            "rounds": self.rounds,
            "errors": self.errors,
            "error": self.error,
            "hist": self.hist.to_dict(),
        }


class Suite:
    def __init__(self, config, log=log_default):
        self.config = config
        self.log = log
        self.handles = []
        self.server = None
        self.results = {
            "version": 1,
            "kind": "comparison",
            "machine": describe(),
            "config": config.public(),
            "baseline": config.baseline,
            "datasets": {},
            "workloads": {},
            "targets": {},
            "skipped": {},
            "failed": {},
            "loads": {},
            "cells": [],
            "not_supported": [],
            "concurrency": [],
        }
        # Per shared store and data set: the next free YCSB record number.
        self.insert_next = {}

    # lifecycle -------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close(orderly=exc_type is None)

    def close(self, orderly=True):
        """Close every target; after an error or an interrupt, just kill."""
        for h in self.handles:
            if not orderly:
                getattr(h, "kill", h.stop)()
                continue
            try:
                h.call("close", timeout=120)
            except Exception:
                pass
            h.stop()
        self.handles = []
        if self.server is not None:
            self.server.stop()
            self.server = None

    def _drop(self, handle, message):
        self.log("  ! %s dropped: %s" % (handle.name, message))
        self.results["failed"][handle.name] = message
        try:
            handle.stop()
        except Exception:
            pass
        self.handles.remove(handle)

    def start(self):
        cfg = self.config
        specs = []
        for spec in cfg.targets:
            reason = spec.available()
            if reason:
                self.results["skipped"][spec.name] = reason
                self.log("  - %s skipped: %s" % (spec.name, reason))
                continue
            specs.append(spec)
        if any(s.needs == "server" for s in specs):
            specs = self._start_server(specs)
        make = LocalHandle if cfg.in_process else WorkerHandle
        handles = [make(s, cfg.options, cfg.seed) for s in specs]

        def handshake(h):
            try:
                return h.handshake()
            except Exception as exc:
                h.stop()
                return exc

        spawned = []
        for h in handles:  # processes start from this (the main) thread
            try:
                spawned.append(h.spawn())
            except Exception as exc:
                spawned.append(exc)
        if cfg.in_process:
            started = [x if isinstance(x, Exception) else handshake(x) for x in spawned]
        else:
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                started = list(pool.map(lambda x: x if isinstance(x, Exception) else handshake(x), spawned))
        for h, outcome in zip(handles, started):
            if isinstance(outcome, Exception):
                self.results["failed"][h.spec.name] = str(outcome)
                self.log("  ! %s failed to start: %s" % (h.spec.name, outcome))
            else:
                self.handles.append(h)
                info = dict(h.info)
                self.results["targets"][h.name] = {
                    "description": info.pop("description", ""),
                    "durability": info.pop("durability", ""),
                    "kind": info.pop("kind", ""),
                    "remote": info.pop("remote", False),
                    "ready_seconds": h.ready_seconds,
                    "open_seconds": info.pop("open_seconds", None),
                    "info": {k: v for k, v in info.items() if k not in ("name", "pid")},
                }
        return self

    def _start_server(self, specs):
        from .targets.serve import KvstoreServer

        cfg = self.config
        data_dir = None if cfg.server_in_memory else tempfile.mkdtemp(prefix="kvbench-server-")
        try:
            self.server = KvstoreServer(data_dir, cfg.server_args).start()
        except Exception as exc:
            for s in specs:
                if s.needs == "server":
                    self.results["skipped"][s.name] = "kvstore serve did not start: %s" % exc
            self.log("  ! kvstore serve did not start: %s" % exc)
            return [s for s in specs if s.needs != "server"]
        where = "in memory" if data_dir is None else "temp dir, default durability"
        self.results["server"] = {"endpoint": self.server.endpoint, "started_seconds": self.server.started_in,
                                  "command": " ".join(self.server.command()[1:]), "storage": where}
        for s in specs:
            if s.needs == "server":
                how = "raw keep-alive HTTP, pre-built requests" if "http:" in s.factory else "boto3 Table resource"
                s.kwargs.update(endpoint=self.server.endpoint, name=s.name, prefix="", kind="kvstore",
                                description="kvstore serve (%s) over loopback, %s" % (where, how))
        return specs

    # loading ---------------------------------------------------------------
    def load(self, dataset, count, parallel=None):
        """Load a data set into every target; stores shared by several
        targets (one server, two clients) are loaded once.  Loads run
        ``parallel`` at a time (default: one per core) - load time is not a
        comparison metric here, only in the scaling run, which loads alone."""
        import os

        self.results["datasets"][dataset] = datasets.make(dataset, count).describe()
        loaders, attachers, keys = [], [], set()
        for h in self.handles:
            key = h.info.get("endpoint") if h.spec.needs else None
            if key is not None and key in keys:
                attachers.append(h)
            else:
                loaders.append(h)
                if key is not None:
                    keys.add(key)

        def one(h, attach):
            try:
                return h.call("load", dataset=dataset, count=count, show_progress=self.config.progress,
                              attach=attach)
            except WorkerError as exc:
                return exc

        workers = parallel or min(len(loaders), os.cpu_count() or 1) or 1
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            outcomes = list(pool.map(lambda h: one(h, False), loaders))
        outcomes += [one(h, True) for h in attachers]
        for h, stats in zip(loaders + attachers, outcomes):
            if isinstance(stats, WorkerError):
                self._drop(h, "loading %s: %s" % (dataset, stats.message))
                continue
            self.results["loads"].setdefault(h.name, {})[dataset] = stats
            if not stats.get("attached"):
                self.log("  loaded %-20s %-9s %8d records in %6.1f s" % (h.name, dataset, count, stats["seconds"]))
            key = h.info.get("endpoint") if h.spec.needs else None
            self.insert_next[(key or h.name, dataset)] = count

    # measuring -------------------------------------------------------------
    def _round_ops(self, rate, seconds=None):
        cfg = self.config
        n = int(rate * (seconds or cfg.round_seconds))
        return max(cfg.min_round_ops, min(cfg.max_round_ops, n))

    def _store_key(self, h):
        return h.info.get("endpoint") if h.spec.needs else h.name

    def check_server(self):
        """Drop the server's clients if ``kvstore serve`` has exited."""
        if self.server is None or self.server.proc is None:
            return
        code = self.server.proc.poll()
        if code is None:
            return
        message = "kvstore serve exited (code %s)%s" % (code, self.server.tail())
        for h in list(self.handles):
            if h.spec.needs == "server":
                self._drop(h, message)
        self.server = None

    def run_workload(self, workload):
        cfg = self.config
        data = datasets.make(workload.dataset, cfg.items if workload.dataset == "items" else cfg.records)
        self.results["workloads"][workload.name] = {
            "description": workload.description, "parameters": workload.parameters(data.count)}
        active = []
        rates = {}
        for h in list(self.handles):
            try:
                why = h.call("supports", workload_name=workload.name)
                if why:
                    self.results["not_supported"].append({"workload": workload.name, "target": h.name, "reason": why})
                    continue
                key = (self._store_key(h), workload.dataset)
                cal = h.call("calibrate", workload_name=workload.name, seconds=cfg.warmup,
                             insert_next=self.insert_next.get(key), timeout=ROUND_TIMEOUT)
                self.insert_next[key] = self.insert_next.get(key, data.count) + cal["inserts"]
            except WorkerError as exc:
                self._drop(h, "%s warm-up: %s" % (workload.name, exc.message))
                continue
            rates[h.name] = cal["rate"]
            active.append(h)
        cells = {h.name: Cell() for h in active}
        for r in range(cfg.rounds):
            order = active[r % len(active):] + active[:r % len(active)] if active else []
            for h in order:
                if h not in self.handles:
                    continue
                key = (self._store_key(h), workload.dataset)
                try:
                    res = h.call("run_round", workload_name=workload.name, round_no=r,
                                 ops=self._round_ops(rates[h.name]), insert_next=self.insert_next.get(key),
                                 timeout=ROUND_TIMEOUT)
                except WorkerError as exc:
                    self._drop(h, "%s round %d: %s" % (workload.name, r, exc.message))
                    continue
                self.insert_next[key] = self.insert_next.get(key, data.count) + res["inserts"]
                cells[h.name].add(res)
        out = []
        for h in active:
            if h in self.handles and cells[h.name].rounds:
                out.append(cells[h.name].result(workload.name, h.name))
        self.results["cells"].extend(out)
        return out

    def sweep(self, workload, levels=None):
        """Throughput against concurrency: threads for in-process targets,
        client processes for targets reached over a socket."""
        cfg = self.config
        levels = levels or cfg.sweep_levels
        data = datasets.make(workload.dataset, cfg.items if workload.dataset == "items" else cfg.records)
        out = []
        for h in list(self.handles):
            if h.info.get("kind") == "floor" and h.name == "noop":
                continue
            try:
                if h.call("supports", workload_name=workload.name):
                    continue
                cal = h.call("calibrate", workload_name=workload.name, seconds=cfg.warmup / 2,
                             insert_next=self.insert_next.get((self._store_key(h), workload.dataset)))
            except WorkerError as exc:
                self._drop(h, "%s sweep warm-up: %s" % (workload.name, exc.message))
                continue
            remote = h.info.get("remote")
            if cfg.sweep_mode == "processes" and not remote:
                continue  # an in-process store cannot be shared with other processes
            mode = cfg.sweep_mode if cfg.sweep_mode != "auto" else ("processes" if remote else "threads")
            for level in levels:
                cell = Cell()
                # Keep each level's round about as long as the others.
                ops = self._round_ops(cal["rate"] / max(1, level) * min(level, 2))
                for r in range(cfg.sweep_rounds):
                    key = (self._store_key(h), workload.dataset)
                    try:
                        res = h.call("run_round", workload_name=workload.name, round_no=1000 + r, ops=ops,
                                     concurrency=level, mode=mode, insert_next=self.insert_next.get(key),
                                     timeout=ROUND_TIMEOUT)
                    except WorkerError as exc:
                        cell.error = exc.message
                        break
                    self.insert_next[key] = self.insert_next.get(key, data.count) + res["inserts"]
                    cell.add(res)
                row = cell.result(workload.name, h.name)
                row.update(concurrency=level, mode=mode)
                row.pop("hist")
                out.append(row)
        self.results["concurrency"].extend(out)
        return out

    def run(self):
        """Start, load, measure every workload, sweep; returns the results."""
        cfg = self.config
        t0 = time.perf_counter()
        self.start()
        needed = []
        for w in cfg.workloads:
            if w.dataset not in needed:
                needed.append(w.dataset)
        for w in cfg.sweep_workloads:
            if w.dataset not in needed:
                needed.append(w.dataset)
        for ds in needed:
            self.load(ds, cfg.items if ds == "items" else cfg.records)
        for w in cfg.workloads:
            self.log("  workload %s" % w.name)
            self.check_server()
            self.run_workload(w)
        for w in cfg.sweep_workloads:
            self.log("  concurrency sweep: %s at %s" % (w.name, cfg.sweep_levels))
            self.check_server()
            self.sweep(w)
        self.check_server()
        self.results["elapsed_seconds"] = time.perf_counter() - t0
        return self.results
