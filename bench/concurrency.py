"""Concurrency by processes, for targets reached over a socket (a server or
an endpoint): N forked clients, each with its own connection, start together
at a barrier; latencies come back as histograms.  ``perf_counter_ns`` is the
system-wide monotonic clock on Linux, so start and end times compare across
processes."""

import multiprocessing
import time

from .histogram import Histogram


def _client(runner, workload, data, round_no, ops, worker, workers, insert_next, barrier, conn):
    from .lifetime import die_with_parent
    from .runner import timed_loop

    die_with_parent()
    try:
        session = runner.target.session()
        gen = workload.ops(data, runner.seed, round_no, worker, workers, insert_next)
        calls = runner._prepare(session, gen.next_ops(ops))
        latencies = []
        barrier.wait()
        t0 = time.perf_counter_ns()
        wall, errors, msg = timed_loop(calls, latencies)
        hist = Histogram()
        hist.record_many(latencies)
        session.close()
        conn.send((t0, t0 + wall, hist.to_dict(), errors, msg, gen.inserts))
    except BaseException as exc:  # report, never hang the parent
        barrier.abort()
        conn.send(("error", "%s: %s" % (type(exc).__name__, exc)))
    finally:
        conn.close()


def run_processes(runner, workload, data, round_no, ops, concurrency, insert_next):
    if not runner.target.remote:
        raise ValueError("process concurrency needs a target reached over a socket (%s is in-process)"
                         % runner.target.name)
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(concurrency)
    pipes = []
    procs = []
    for worker in range(concurrency):
        parent, child = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_client, args=(runner, workload, data, round_no, ops, worker, concurrency,
                                              insert_next, barrier, child), daemon=True)
        p.start()
        child.close()
        pipes.append(parent)
        procs.append(p)
    results = [pipe.recv() for pipe in pipes]
    for p in procs:
        p.join()
    failed = [r[1] for r in results if r[0] == "error"]
    if failed:
        raise RuntimeError("client process failed: %s" % failed[0])
    hist = Histogram()
    errors = 0
    first_error = None
    for _, _, h, e, msg, _ in results:
        hist.merge(Histogram.from_dict(h))
        errors += e
        first_error = first_error or msg
    wall = max(r[1] for r in results) - min(r[0] for r in results)
    return {"hist": hist.to_dict(), "ops": hist.count, "wall_ns": wall, "errors": errors, "error": first_error,
            "inserts": max(r[5] for r in results) * concurrency}
