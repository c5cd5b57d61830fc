"""``kvstore bench`` / ``python -m bench``: the benchmark harness.

    kvstore bench                       every available target, every workload
    kvstore bench --smoke               tiny sizes, seconds (the test suite runs it)
    kvstore bench --full                comparison + concurrency + scaling, saved in bench/results/
    kvstore bench --targets kvstore,sqlite-wal-normal --workloads 'ycsb_*'
    kvstore bench --endpoint http://localhost:8000   also any DynamoDB-compatible endpoint
    kvstore bench --list                what can run here
"""

import argparse
import os
import sys
import time

from . import targets as target_registry
from . import workloads as workload_registry
from .lifetime import terminate_as_interrupt
from .report import markdown, write_json
from .scaling import DEFAULT_SIZES, DEFAULT_TARGETS, measure_startup, parse_size, run_scaling
from .suite import Config, Suite

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def _split(text):
    return [x.strip() for x in text.split(",") if x.strip()] if text else []


def build_parser():
    p = argparse.ArgumentParser(prog="kvstore bench", description="kvstore benchmark harness",
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--list", action="store_true", help="list workloads and targets, then exit")
    p.add_argument("--smoke", action="store_true", help="tiny sizes and rounds: checks the harness, not the store")
    p.add_argument("--full", action="store_true",
                   help="comparison + concurrency sweep + scaling + start-up/recovery; saves into bench/results/")
    p.add_argument("--targets", default="all", help="comma-separated names or patterns (default: all)")
    p.add_argument("--workloads", default="all", help="comma-separated names or patterns (default: all)")
    p.add_argument("--baseline", default="sqlite-wal-normal", help="ratios are against this target")
    p.add_argument("--endpoint", action="append", default=[], metavar="URL",
                   help="also benchmark this DynamoDB-compatible endpoint (raw HTTP and boto3); repeatable")
    p.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    p.add_argument("--keep-tables", action="store_true", help="leave the kvbench_* tables on endpoints")
    p.add_argument("--items", type=parse_size, default=100_000, help="records in the items data set")
    p.add_argument("--records", type=parse_size, default=100_000, help="records in YCSB's usertable")
    p.add_argument("--warmup", type=float, default=0.2, help="warm-up seconds per workload and target")
    p.add_argument("--rounds", type=int, default=5, help="measured rounds per workload and target")
    p.add_argument("--round-seconds", type=float, default=0.12, help="target length of one round")
    p.add_argument("--max-round-ops", type=int, default=10_000, help="cap on operations in one round")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--sweep", default=None, metavar="WORKLOADS",
                   help="throughput against concurrency for these workloads (e.g. get,put)")
    p.add_argument("--concurrency", default="1,2,4,8", help="client counts for --sweep")
    p.add_argument("--clients-as", choices=("auto", "threads", "processes"), default="auto",
                   help="sweep clients: threads, processes (socket targets only), or auto: processes for "
                        "targets reached over a socket, threads for in-process ones")
    p.add_argument("--scaling", nargs="?", const=",".join(str(s) for s in DEFAULT_SIZES), default=None,
                   metavar="SIZES", help="scaling run at these sizes (default 10k,100k,1M; add 10M if RAM allows)")
    p.add_argument("--scaling-targets", default=DEFAULT_TARGETS)
    p.add_argument("--no-compare", action="store_true", help="skip the comparison (e.g. only --scaling)")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--markdown", metavar="FILE", help="write the Markdown report")
    p.add_argument("--plots", metavar="DIR", help="write PNG plots (needs matplotlib)")
    p.add_argument("--save", action="store_true", help="write JSON, Markdown and plots into bench/results/")
    p.add_argument("--in-process", action="store_true", help="run targets in this process (debugging)")
    p.add_argument("--server-in-memory", action="store_true", help="kvstore serve --in-memory instead of a temp dir")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def list_all(endpoints):
    print("Workloads:")
    for w in workload_registry.WORKLOADS.values():
        print("  %-20s %s" % (w.name, w.description))
    print("\nTargets:")
    specs = target_registry.builtin()
    specs.update(target_registry.endpoint_specs(endpoints))
    for s in specs.values():
        reason = s.available() if not s.needs or s.needs == "server" else None
        state = "available" if not reason else "unavailable: " + reason
        print("  %-20s %-28s %s%s" % (s.name, s.summary, state, " (not in 'all')" if s.optional else ""))


def config_from(args):
    specs = target_registry.select(_split(args.targets), args.endpoint)
    chosen = workload_registry.select(_split(args.workloads))
    options = {"region": args.region, "keep_tables": args.keep_tables,
               "aws_access_key_id": os.environ.get("AWS_ACCESS_KEY_ID"),
               "aws_secret_access_key": os.environ.get("AWS_SECRET_ACCESS_KEY"),
               "aws_session_token": os.environ.get("AWS_SESSION_TOKEN")}
    cfg = Config(workloads=chosen, targets=specs, items=args.items, records=args.records, warmup=args.warmup,
                 rounds=args.rounds, round_seconds=args.round_seconds, max_round_ops=args.max_round_ops,
                 seed=args.seed, baseline=args.baseline, in_process=args.in_process,
                 server_in_memory=args.server_in_memory, options=options, progress=not args.quiet)
    if args.sweep:
        cfg.sweep_workloads = workload_registry.select(_split(args.sweep))
        cfg.sweep_levels = [int(x) for x in _split(args.concurrency)]
        cfg.sweep_mode = args.clients_as
    return cfg


def apply_presets(args):
    if args.smoke:
        args.items = min(args.items, 2_000)
        args.records = min(args.records, 2_000)
        args.warmup, args.rounds, args.round_seconds, args.max_round_ops = 0.01, 2, 0.01, 100
        if args.sweep is None:
            args.sweep, args.concurrency = "get", "1,2"
        if args.scaling:
            args.scaling = "1000"
    if args.full:
        if args.sweep is None:
            args.sweep = "get,put,ycsb_b_zipfian"
        if args.scaling is None:
            args.scaling = ",".join(str(s) for s in DEFAULT_SIZES)
        args.save = True


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        list_all(args.endpoint)
        return 0
    apply_presets(args)
    if args.no_compare and not args.scaling:
        parser.error("--no-compare skips the comparison: give --scaling (or --full) for something to run")
    terminate_as_interrupt()
    log = (lambda msg: None) if args.quiet else (lambda msg: (sys.stderr.write(msg + "\n"), sys.stderr.flush()))
    cfg = config_from(args)
    if args.baseline not in [s.name for s in cfg.targets]:
        log("note: baseline %s is not among the targets; ratios will be empty" % args.baseline)
    t0 = time.perf_counter()
    results = None
    if not args.no_compare:
        log("kvstore bench: %d workloads x %d targets" % (len(cfg.workloads), len(cfg.targets)))
        with Suite(cfg, log=log) as suite:
            results = suite.run()
    if args.scaling:
        sizes = [parse_size(s) for s in _split(args.scaling)]
        scaling_specs = target_registry.select(_split(args.scaling_targets), ())
        if results is None:
            from .machine import describe

            results = {"version": 1, "kind": "scaling", "machine": describe(), "config": cfg.public(),
                       "baseline": cfg.baseline, "targets": {}, "cells": [], "workloads": {}, "skipped": {},
                       "failed": {}, "not_supported": [], "concurrency": []}
        log("scaling: %s records; targets %s" % (", ".join(map(str, sizes)), args.scaling_targets))
        scaling = run_scaling(scaling_specs, sizes, cfg, log=log)
        scaling["startup"] = measure_startup(scaling_specs, cfg.options, cfg.in_process, repeats=1 if args.smoke else 3,
                                             log=log)
        scaling["startup_repeats"] = 1 if args.smoke else 3
        results["scaling"] = scaling
        for name, info in scaling.pop("targets").items():
            results["targets"].setdefault(name, info)
    results["elapsed_seconds"] = time.perf_counter() - t0
    if results.get("cells"):
        from .report import summary_ratios

        _, _, summary = summary_ratios(results)
        results["headline"] = [dict(target=s, versus=c, **{k: v for k, v in x.items()})
                               for (s, c), x in summary.items()]
    text = markdown(results)
    if args.save:
        os.makedirs(RESULTS_DIR, exist_ok=True)
        args.json = args.json or os.path.join(RESULTS_DIR, "results.json")
        args.markdown = args.markdown or os.path.join(RESULTS_DIR, "results.md")
        args.plots = args.plots or RESULTS_DIR
    if args.plots:
        try:
            from .plots import write_plots

            made = write_plots(results, args.plots)
            results["plots"] = [os.path.basename(p) for p in made]
            text = markdown(results) + "".join("\n![%s](%s)\n" % (os.path.basename(p), os.path.basename(p))
                                              for p in made)
        except ImportError:
            log("plots skipped: matplotlib is not installed (pip install kvstore[bench])")
    if args.json:
        write_json(results, args.json)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    print(text)
    failed = results.get("failed") or {}
    return 1 if failed and not results.get("cells") and not results.get("scaling") else 0


if __name__ == "__main__":
    sys.exit(main())
