"""Where a wire PutItem's CPU goes at 8 connections: the server's, the clients', the machine's idle time.

    python -m bench.server_budget --durability sync --rounds 5 --seconds 2

Issue 17 wants PutItem over the wire under ``sync`` at 8 clients at 4x sqlite3 FULL's commit rate.
On a 2-vCPU machine the server, its log's flusher, the 8 client processes and the kernel share two
CPUs, so the rate is bounded by the CPU all of them spend per request, however well the sync is
overlapped: this bench measures that budget (bench/results/server.md, session 16).  Per round of
``--seconds``: PutItem/s from ``bench.server``'s raw keep-alive clients (forked, one request
outstanding each), the server process's CPU per request (/proc), the clients' CPU per request
(``RUSAGE_CHILDREN`` of this process, which forks and reaps them), the machine's idle share of its
CPUs (/proc/stat: time no process ran, which a faster server could use) and the records per fsync.

``--callgrind DIR``: the server runs under callgrind (threads apart), counting only while the clients
run; each round then prints the user-space instructions per request of the loop's thread and of the
log's flusher.  Valgrind runs one thread at a time and ~50x slower, so the rates say nothing then, but
the instructions per request do not depend on the machine's load (the kernel's work is not in them).

    python -m bench.server_budget --durability sync --rounds 1 --callgrind /tmp/cg --max-ops 300
"""

import glob
import subprocess

import argparse
import os
import resource
import tempfile
import time

from .targets.serve import KvstoreServer
from .server import (
    cpu_seconds, log_counts, preload, records_per_fsync, request_sets, run_clients, start_kvstore, _raw_worker,
)


def machine_times():
    """``(busy, idle)`` jiffies of all CPUs (idle counts iowait: no process was running)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields[:8]) - idle, idle


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _CallgrindServer(KvstoreServer):
    def __init__(self, out, *args):
        super().__init__(*args)
        self.out = out

    def command(self):
        return ["valgrind", "--tool=callgrind", "--separate-threads=yes", "--instr-atstart=no",
                f"--callgrind-out-file={self.out}/callgrind.out.%p"] + super().command()


def _callgrind(pid, *options):
    subprocess.run(["callgrind_control", *options, str(pid)], check=True, stdout=subprocess.DEVNULL)


def _thread_instructions(out):
    """``{thread number: instructions}`` of the last dump of every thread's file in ``out``."""
    found = {}
    for path in glob.glob(os.path.join(out, "callgrind.out.*")):
        total = None
        with open(path) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    total = int(line.split()[1])
        thread = int(path.rsplit("-", 1)[1]) if "-" in os.path.basename(path) else 0
        found[thread] = found.get(thread, 0) + (total or 0)
    return found


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.server_budget", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--durability", default="sync", choices=("sync", "batch", "none"))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--items", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--max-ops", type=int, default=200_000, help="requests per client per round at most")
    p.add_argument("--callgrind", metavar="DIR", help="run the server under callgrind (see above)")
    args = p.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="kvbench-budget-")
    extra = ["--durability", args.durability]
    if args.callgrind:
        os.makedirs(args.callgrind, exist_ok=True)
        server = _CallgrindServer(args.callgrind, os.path.join(tmp, "db"), extra).start(timeout=300)
    else:
        server = start_kvstore(os.path.join(tmp, "db"), extra)
    try:
        port, pid = server.port, server.proc.pid
        preload(port, args.items)
        requests = request_sets(port, args.items)["PutItem"]
        for _ in range(args.rounds):
            log0 = log_counts(port)
            if args.callgrind:
                _callgrind(pid, "--zero")
                _callgrind(pid, "--instr=on")
            server0, clients0, (busy0, idle0) = cpu_seconds(pid), children_cpu(), machine_times()
            lat, ops, errors = run_clients(
                _raw_worker, lambda k: (port, requests, args.seconds, args.max_ops, k), args.concurrency,
                args.seconds)
            server1, clients1, (busy1, idle1) = cpu_seconds(pid), children_cpu(), machine_times()
            n = len(lat)
            if args.callgrind:
                _callgrind(pid, "--instr=off")
                for path in glob.glob(os.path.join(args.callgrind, "callgrind.out.*")):
                    os.remove(path)
                _callgrind(pid, "--dump")
                by_thread = _thread_instructions(args.callgrind)
                print(f"{args.durability} c={args.concurrency}: {n} requests, instructions per request by "
                      f"thread: " + ", ".join(f"{t}: {i / n / 1000:.1f}k" for t, i in sorted(by_thread.items()))
                      + f", all: {sum(by_thread.values()) / n / 1000:.1f}k", flush=True)
            print(f"{args.durability} c={args.concurrency}: PutItem {round(ops)}/s, server CPU "
                  f"{(server1 - server0) / n * 1e6:.1f} us/req, clients CPU {(clients1 - clients0) / n * 1e6:.1f} "
                  f"us/req, machine idle {(idle1 - idle0) / max(1, busy1 - busy0 + idle1 - idle0) * 100:.0f} %, "
                  f"{records_per_fsync(log0, log_counts(port))} records per fsync, errors {errors}", flush=True)
            time.sleep(0.2)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
