"""Migration: copy throughput and replication lag (kvstore copy / kvstore replicate).

    python -m bench.migration copy --items 1000000        # directory -> kvstore serve, and -> directory
    python -m bench.migration copy --items 100000 --profile
    python -m bench.migration lag --rates 1000,10000 --seconds 20
    python -m bench.migration kill --rate 1000 --seconds 20

``copy``: a kvstore directory of ``--items`` items of about 200 bytes is copied (in process,
``copy_tables``) to a ``kvstore serve`` subprocess with a data directory, then, in the same run,
to a second directory (no HTTP: the same-run baseline that isolates the wire's share).  Reported:
items/s, MB/s (DynamoDB item sizes), and the CPU seconds of the copying process and of the
server, which name the side that saturates; ``--profile`` adds the copying process's top
functions and packages (a stack sampler: copy runs on a thread pool).

``lag``: a writer process sends BatchWriteItem (25 items) at a fixed rate to the source (a
``kvstore serve`` with a NEW_AND_OLD_IMAGES stream, or ``--source moto``); ``replicate`` runs in
this process into a second ``kvstore serve``; each item carries its write time in ns, and lag is
the time from the write to the end of the batch write that applied it to the target.

``kill``: the same writer, ``kvstore replicate`` as a subprocess SIGKILLed halfway and
restarted; after the writer stops and the replicator catches up, ``diff`` must find no difference.
"""

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from .histogram import Histogram
from .machine import describe, load_average, one_line
from .targets.http import WireClient
from .targets.serve import KvstoreServer

KEYS = dict(KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def _quiet(text):
    pass


def _environment():
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


# ------------------------------------------------------------------ copy

def build_source(path, items):
    """``items`` items of about 200 bytes (DynamoDB size) in a new directory."""
    import kvstore
    from kvstore.operations import execute
    from kvstore.types import item_size
    from decimal import Decimal
    with kvstore.open(path, durability="none") as db:
        db.create_table(TableName="bench_items", **KEYS)
        size = 0
        for start in range(0, items, 25):
            batch = [{"pk": "user#%010d" % i, "name": "customer %d" % i, "n": Decimal(i), "tags": {"a", "b"},
                      "pad": "x" * 120} for i in range(start, min(items, start + 25))]
            size += sum(item_size(i) for i in batch)
            execute(db.engine, "BatchWriteItem",
                    {"RequestItems": {"bench_items": [{"PutRequest": {"Item": i}} for i in batch]}})
    return size / items


def _cpu(pid):
    import psutil
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


class Sampler:
    """Where the copying threads spend their time: their stacks sampled every ``interval`` seconds.

    cProfile sees only the thread that enables it, and copy works on a thread pool; this
    samples every other thread's innermost frame (``sys._current_frames``) and counts it by
    function and by package, so waiting (socket reads, locks) shows as well as computing.
    """

    def __init__(self, interval=0.005):
        self.interval, self.functions, self.packages, self.samples = interval, {}, {}, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me, main = threading.get_ident(), threading.main_thread().ident
        while not self._stop.wait(self.interval):
            for ident, frame in sys._current_frames().items():
                if ident in (me, main):
                    continue
                self.samples += 1
                code = frame.f_code
                name = "%s:%s" % (os.path.basename(code.co_filename), code.co_name)
                self.functions[name] = self.functions.get(name, 0) + 1
                package = self._package(frame)
                self.packages[package] = self.packages.get(package, 0) + 1

    @staticmethod
    def _package(frame):
        """The first frame, innermost first, from a package we name (else the innermost file)."""
        while frame is not None:
            path = frame.f_code.co_filename
            for marker in ("botocore", "urllib3", "/json/", "http/client", "kvstore/migration", "kvstore/operations",
                           "kvstore/engine", "kvstore/types", "socket", "threading", "concurrent"):
                if marker in path:
                    return marker.strip("/")
            frame = frame.f_back
        return "other"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def report(self, top=15):
        total = max(self.samples, 1)
        lines = ["thread samples: %d" % self.samples, "by package (innermost named frame):"]
        for name, n in sorted(self.packages.items(), key=lambda kv: -kv[1]):
            lines.append("  %5.1f%%  %s" % (100 * n / total, name))
        lines.append("by innermost function:")
        for name, n in sorted(self.functions.items(), key=lambda kv: -kv[1])[:top]:
            lines.append("  %5.1f%%  %s" % (100 * n / total, name))
        return "\n".join(lines)


def run_copy(source_dir, target, segments, profile=False):
    from kvstore.migration.copy import copy_tables
    from kvstore.migration.endpoints import open_side
    source, sink = open_side(source_dir), open_side(target, create=True, pool=segments * 2 + 2)
    try:
        rusage = resource.getrusage(resource.RUSAGE_SELF)
        sampler = Sampler() if profile else None
        started = time.perf_counter()
        if sampler:
            with sampler:
                counts = copy_tables(source, sink, segments=segments, progress=False, log=_quiet)
        else:
            counts = copy_tables(source, sink, segments=segments, progress=False, log=_quiet)
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = (after.ru_utime - rusage.ru_utime) + (after.ru_stime - rusage.ru_stime)
    finally:
        source.close()
        sink.close()
    [(_, c)] = counts.items()
    out = {"seconds": elapsed, "items": c["items"], "bytes": c["bytes"], "items_per_s": c["items"] / elapsed,
           "mb_per_s": c["bytes"] / elapsed / 1e6, "client_cpu_s": client_cpu}
    if sampler:
        out["profile"] = sampler.report()
    return out


def bench_copy(args):
    _environment()
    work = tempfile.mkdtemp(prefix="bench-migration-")
    try:
        source_dir = os.path.join(work, "source")
        t0 = time.perf_counter()
        mean_size = build_source(source_dir, args.items)
        print(f"source: {args.items:,} items, mean {mean_size:.0f} B, built in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)
        results = {"machine": describe(), "items": args.items, "mean_item_bytes": mean_size, "runs": []}
        for round_ in range(args.rounds):
            with KvstoreServer(os.path.join(work, f"served{round_}")) as server:
                cpu0, load = _cpu(server.proc.pid), load_average()
                served = run_copy(source_dir, server.endpoint, args.segments, args.profile)
                served["server_cpu_s"] = _cpu(server.proc.pid) - cpu0
                served.update(target="kvstore serve", load=load)
            print(json.dumps({k: v for k, v in served.items() if k != "profile"}), file=sys.stderr)
            local = run_copy(source_dir, os.path.join(work, f"copy{round_}"), args.segments)
            local.update(target="directory", load=load_average())
            print(json.dumps(local), file=sys.stderr)
            results["runs"].append({"serve": served, "directory": local})
        if args.profile:
            print(results["runs"][0]["serve"]["profile"])
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------------ the writer process

def writer(endpoint, rate, seconds, started, counter, prefix="k", keyspace=50000):
    """BatchWriteItem of 25 items at ``rate`` items/s for ``seconds``; each item carries its write time."""
    client = WireClient(endpoint, {})
    conn = client.connection()
    batches = max(1, rate // 25)
    interval = 1.0 / batches
    started.wait()
    begin = time.perf_counter()
    n = 0
    while True:
        due = begin + n * interval
        now = time.perf_counter()
        if now - begin >= seconds:
            break
        if due > now:
            time.sleep(due - now)
        items = [{"PutRequest": {"Item": {"pk": {"S": "%s%d" % (prefix, (n * 25 + j) % keyspace)},
                                          "t": {"N": str(time.time_ns())}, "pad": {"S": "y" * 150}}}}
                 for j in range(25)]
        client.call(conn, "BatchWriteItem", {"RequestItems": {"bench_items": items}})
        n += 1
        counter.value = n * 25
    conn.close()


def _moto():
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    import urllib.request   # moto's backends are global to the process: start empty
    urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset", method="POST"), timeout=30).read()
    return server, url


def bench_lag(args):
    from kvstore.migration.endpoints import open_side
    from kvstore.migration.replicate import replicate
    _environment()
    results = {"machine": describe(), "source": args.source, "runs": []}
    for rate in [int(r) for r in args.rates.split(",")]:
        moto = None
        with KvstoreServer(None) as sink_server:
            if args.source == "moto":
                moto, url = _moto()
                source_server = None
            else:
                source_server = KvstoreServer(None).start()
                url = source_server.endpoint
            try:
                source, target = open_side(url), open_side(sink_server.endpoint)
                source.client.create_table(TableName="bench_items", StreamSpecification=STREAM, **KEYS)
                lags = []

                def on_applied(table, records):
                    now = time.time_ns()
                    lags.extend(now - int(r["NewImage"]["t"]) for r in records if r.get("NewImage"))

                stop = threading.Event()
                runner = threading.Thread(target=replicate, args=(source, target), daemon=True,
                                          kwargs=dict(stop=stop, report=0, log=_quiet, on_applied=on_applied,
                                                      idle_wait=0.01))
                runner.start()
                while target.describe("bench_items") is None:
                    time.sleep(0.1)
                started, counter = multiprocessing.Event(), multiprocessing.Value("q", 0)
                proc = multiprocessing.Process(target=writer, args=(url, rate, args.seconds, started, counter))
                proc.start()
                load = load_average()
                started.set()
                proc.join()
                written = counter.value
                deadline = time.monotonic() + 60
                while len(lags) < written and time.monotonic() < deadline:
                    time.sleep(0.1)
                stop.set()
                runner.join(60)
                h = Histogram.of(lags[len(lags) // 10:])          # the first tenth is warm-up
                run = {"rate": rate, "achieved_rate": written / args.seconds, "written": written,
                       "applied": len(lags), "load": load, **{k.replace("_us", "_ms"): v / 1000 for k, v in h.micros().items() if k != "n"}}
                print(json.dumps(run), file=sys.stderr)
                results["runs"].append(run)
                source.close()
                target.close()
            finally:
                if source_server is not None:
                    source_server.stop()
                if moto is not None:
                    moto.stop()
    return results


def bench_kill(args):
    from kvstore.migration.endpoints import open_side
    from kvstore.migration.verify import diff_tables
    _environment()
    work = tempfile.mkdtemp(prefix="bench-migration-")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        with KvstoreServer(None) as source_server, KvstoreServer(None) as sink_server:
            source, target = open_side(source_server.endpoint), open_side(sink_server.endpoint)
            source.client.create_table(TableName="bench_items", StreamSpecification=STREAM, **KEYS)
            command = [sys.executable, "-m", "kvstore", "replicate", "--from", source_server.endpoint,
                       "--to", sink_server.endpoint, "--position", os.path.join(work, "position.json"), "--report", "0"]
            replicator = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
            started, counter = multiprocessing.Event(), multiprocessing.Value("q", 0)
            proc = multiprocessing.Process(target=writer, args=(source_server.endpoint, args.rate, args.seconds,
                                                                started, counter))
            proc.start()
            started.set()
            time.sleep(args.seconds / 2)
            replicator.send_signal(signal.SIGKILL)
            replicator.wait()
            replicator = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
            proc.join()
            deadline, result = time.monotonic() + 120, None
            while time.monotonic() < deadline:
                try:
                    [result] = diff_tables(source, target, ["bench_items"], segments=4)
                except Exception:          # noqa: BLE001 - the target table may not exist yet
                    result = None
                if result and not (result["missing"] or result["extra"] or result["different"]):
                    break
                time.sleep(1)
            replicator.send_signal(signal.SIGTERM)
            code = replicator.wait(60)
            run = {"rate": args.rate, "written": counter.value, "exit_after_sigterm": code, "load": load_average(),
                   "missing": len(result["missing"]) if result else None,
                   "extra": len(result["extra"]) if result else None,
                   "different": len(result["different"]) if result else None,
                   "items": result["source_items"] if result else None}
            print(json.dumps(run), file=sys.stderr)
            source.close()
            target.close()
            return {"machine": describe(), "runs": [run]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.migration", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    copy = sub.add_parser("copy")
    copy.add_argument("--items", type=int, default=1_000_000)
    copy.add_argument("--segments", type=int, default=8)
    copy.add_argument("--rounds", type=int, default=1)
    copy.add_argument("--profile", action="store_true")
    lag = sub.add_parser("lag")
    lag.add_argument("--rates", default="1000,10000")
    lag.add_argument("--seconds", type=float, default=20)
    lag.add_argument("--source", choices=("serve", "moto"), default="serve")
    kill = sub.add_parser("kill")
    kill.add_argument("--rate", type=int, default=1000)
    kill.add_argument("--seconds", type=float, default=20)
    for p in (copy, lag, kill):
        p.add_argument("--json", help="write the raw figures here")
    args = parser.parse_args(argv)
    results = {"copy": bench_copy, "lag": bench_lag, "kill": bench_kill}[args.what](args)
    print(one_line(results["machine"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
