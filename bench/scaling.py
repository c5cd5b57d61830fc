"""Scaling runs: the same workloads at growing data sizes, each target in a
fresh process per size (so the resident-set growth is that target's alone),
then start-up time and recovery time (a new process opens the directory the
previous one left, first after a kill, then after a clean close)."""

import statistics

from .pool import LocalHandle, WorkerError, WorkerHandle
from .suite import Config, Suite
from .workloads import WORKLOADS

DEFAULT_SIZES = [10_000, 100_000, 1_000_000]
DEFAULT_TARGETS = "kvstore,sqlite-wal-normal,lmdb,dict"
SCALING_WORKLOADS = ["get", "put"]


def parse_size(text):
    text = text.strip().lower().replace("_", "")
    mult = 1
    if text.endswith("k"):
        mult, text = 1_000, text[:-1]
    elif text.endswith("m"):
        mult, text = 1_000_000, text[:-1]
    return int(float(text) * mult)


def _recover(handle_cls, spec, workdir, options, seed):
    """Open ``workdir`` in a new process; the time to the first read."""
    h = handle_cls(spec, dict(options, defer_open=True), seed, workdir=workdir)
    try:
        h.start()
        return h, h.call("reopen", timeout=1800)["seconds"]
    except Exception:
        h.stop()
        raise


def measure_startup(specs, options, in_process=False, repeats=3, log=print):
    """Median time for a fresh worker to be ready with an empty store."""
    out = {}
    handle_cls = LocalHandle if in_process else WorkerHandle
    for spec in specs:
        if spec.available() or spec.needs:
            continue
        ready, opened, first = [], [], []
        try:
            for _ in range(repeats):
                h = handle_cls(spec, options)
                h.start()
                try:
                    probe = h.call("probe")["seconds"]
                    ready.append(h.ready_seconds + probe)
                    opened.append(h.info.get("open_seconds") or 0.0)
                    first.append(probe)
                    h.call("close")
                finally:
                    h.stop()
        except Exception as exc:
            log("  ! start-up of %s failed: %s" % (spec.name, exc))
            continue
        out[spec.name] = {"ready_seconds": statistics.median(ready), "open_seconds": statistics.median(opened),
                          "first_op_seconds": statistics.median(first)}
    return out


def available_memory():
    try:
        import psutil

        return psutil.virtual_memory().available
    except ImportError:
        try:
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
    return None


def _fits(specs, size, last, log):
    """Targets whose memory at ``size`` records, extrapolated from the last
    size, fits together in what the machine has free (the targets of one
    size are alive at the same time, each in its own process)."""
    free = available_memory()
    if not free or not last:
        return specs, {}
    need = {}
    for spec in specs:
        per = last["targets"].get(spec.name, {}).get("bytes_per_record")
        need[spec.name] = max(per or 0, 0) * size * 1.3
    keep = list(specs)
    skipped = {}
    while keep and sum(need[s.name] for s in keep) > free * 0.8:
        big = max(keep, key=lambda s: need[s.name])
        keep.remove(big)
        skipped[big.name] = {"error": "skipped: would need ~%.1f GB of RAM beside the others, %.1f GB free" % (
            need[big.name] / 2**30, free / 2**30)}
        log("  - %s at %d records skipped (memory)" % (big.name, size))
    return keep, skipped


def run_scaling(specs, sizes, base_config, log=print, recovery=True):
    results = {"sizes": [], "workloads": SCALING_WORKLOADS, "targets": {}}
    handle_cls = LocalHandle if base_config.in_process else WorkerHandle
    all_specs = [s for s in specs if not s.needs]  # wire targets would measure the server, not this process
    for size in sizes:
        log("  scaling: %d records" % size)
        specs, skipped = _fits(all_specs, size, results["sizes"][-1] if results["sizes"] else None, log)
        cfg = Config(workloads=[WORKLOADS[w] for w in SCALING_WORKLOADS], targets=specs, items=size,
                     records=size, warmup=base_config.warmup, rounds=base_config.rounds,
                     round_seconds=base_config.round_seconds, max_round_ops=base_config.max_round_ops,
                     seed=base_config.seed, baseline=base_config.baseline, in_process=base_config.in_process,
                     options=base_config.options, progress=base_config.progress)
        entry = {"records": size, "targets": dict(skipped)}
        suite = Suite(cfg, log=log)
        try:
            suite.start()
            suite.load("items", size, parallel=1)  # alone: load rate and memory are measured
            for w in cfg.workloads:
                suite.run_workload(WORKLOADS[w.name])
            for name, info in suite.results["targets"].items():
                results["targets"].setdefault(name, info)
            for name, reason in list(suite.results["failed"].items()):
                entry["targets"][name] = {"error": reason}
            for h in suite.handles:
                load = suite.results["loads"].get(h.name, {}).get("items", {})
                row = {
                    "load_seconds": load.get("seconds"),
                    "load_rate": size / load["seconds"] if load.get("seconds") else None,
                    "rss_before": load.get("rss_before"),
                    "rss_after": load.get("rss_after"),
                    "bytes_per_record": load.get("bytes_per_record"),
                    "disk_bytes_per_record": load.get("disk_bytes_per_record"),
                    "workloads": {},
                }
                for c in suite.results["cells"]:
                    if c["target"] == h.name:
                        row["workloads"][c["workload"]] = dict(c["latency_ns"], throughput=c["throughput"])
                entry["targets"][h.name] = row
            if recovery:
                for h in list(suite.handles):
                    if h.info.get("kind") == "floor" or h.info.get("path") == "memory":
                        continue
                    row = entry["targets"][h.name]
                    workdir, spec = h.workdir, h.spec
                    h.crash()
                    suite.handles.remove(h)
                    try:
                        r, row["reopen_seconds"] = _recover(handle_cls, spec, workdir, cfg.options, cfg.seed)
                        r.call("close", timeout=600)
                        r.stop()
                        r, row["reopen_clean_seconds"] = _recover(handle_cls, spec, workdir, cfg.options, cfg.seed)
                        r.call("close", timeout=600)
                        r.stop()
                    except (WorkerError, Exception) as exc:
                        row["reopen_error"] = str(exc)
                        log("  ! reopening %s failed: %s" % (h.name, exc))
        finally:
            suite.close()
        results["sizes"].append(entry)
    return results
