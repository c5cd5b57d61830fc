"""``kvstore copy``: tables from one side to another, in parallel Scan segments, resumable.

For each table: the target table is created with the source's shape (``schema.create_request``,
then the TTL attribute once it is ACTIVE), or, when it exists, checked against the source
(every difference is reported and nothing is written).  Then every (table, segment) pair is
a unit of work on a thread pool: Scan a page of the segment, write it with BatchWriteItem
25 items at a time (``UnprocessedItems`` and throttling retried with full-jitter backoff),
record the page's LastEvaluatedKey in the state file (``state.py``), go on.  Cost: one read
and one write of every item; memory: one page per worker.

An interrupted copy (Ctrl-C, SIGTERM, a crash, a lost connection) is resumed by running the
same command again: finished segments are skipped and the others restart after their last
acknowledged page.  The state file is removed when the copy completes.
"""

import argparse
import hashlib
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from kvstore.migration import schema
from kvstore.migration.endpoints import MigrationError, open_side, reportable, write_all
from kvstore.migration.progress import Progress
from kvstore.migration.state import CopyState
from kvstore.types import item_size

BATCH = 25
ACTIVE_TIMEOUT = 600.0


class CopyInterrupted(Exception):
    """The copy was stopped (signal or hook); its state file says where to resume."""


def _log(text):
    print(text, file=sys.stderr, flush=True)


def wait_active(side, table, timeout=ACTIVE_TIMEOUT, sleep=time.sleep):
    deadline = time.monotonic() + timeout
    while True:
        description = side.describe(table)
        if description is not None and description.get("TableStatus") == "ACTIVE" and all(
                i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in description.get("GlobalSecondaryIndexes") or ()):
            return description
        if time.monotonic() > deadline:
            raise MigrationError(f"{side}: table {table} is not ACTIVE after {timeout:.0f} s")
        sleep(0.5)


def prepare_table(source, target, table, log=_log):
    """Create the target table like the source's, or check the existing one; returns the source description."""
    description = source.describe(table)
    if description is None:
        raise MigrationError(f"{source}: no table named {table}")
    source_ttl = source.ttl(table)
    existing = target.describe(table)
    if existing is None:
        target.call("create_table", **schema.create_request(description))
        log(f"{table}: created on the target")
        wait_active(target, table)
        attribute = schema.ttl_attribute(source_ttl)
        if attribute:
            target.call("update_time_to_live", TableName=table,
                        TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute})
            log(f"{table}: time to live enabled on {attribute!r}")
        return description
    problems = schema.differences(description, wait_active(target, table), source_ttl, target.ttl(table))
    if problems:
        raise MigrationError(f"{table} exists on the target and differs from the source:\n  - "
                             + "\n  - ".join(problems))
    log(f"{table}: exists on the target, compatible")
    return description


def default_state_path(source, target, tables):
    def canonical(spec):
        return spec if spec == "aws" or "://" in spec else os.path.abspath(spec)
    text = "\0".join([canonical(source), canonical(target), *sorted(tables or ())])
    return f".kvstore-copy-{hashlib.sha1(text.encode()).hexdigest()[:12]}.json"


def copy_tables(source, target, tables=None, segments=8, state_path=None, progress=True,
                log=_log, after_page=None, stop=None, page_size=None):
    """Copy ``tables`` (all of the source's when None) from ``source`` to ``target`` (Sides).

    ``page_size`` is the Scan Limit (default: the source's 1 MB pages).
    ``after_page(table, segment, last_key)`` runs after each page is recorded (tests use it to
    interrupt deterministically: raising from it stops the copy as a signal would).
    Returns ``{table: {"items": n, "bytes": b}}`` counted over the whole copy, resumed parts included.
    """
    state = CopyState.load(state_path, source.spec, target.spec, segments)
    segments = state.segments
    if state.resumed:
        log(f"resuming from {state_path}")
    names = list(tables) if tables else source.list_tables()
    for name in names:
        if not state.table(name)["prepared"]:
            prepare_table(source, target, name, log)
            state.mark_prepared(name)
    units, total, first_items, first_bytes = [], 0, 0, 0
    for name in names:
        count = (source.describe(name) or {}).get("ItemCount") or 0
        total += count
        for seg in range(segments):
            done, _, items, size = state.segment(name, seg)
            first_items += items
            first_bytes += size
            if not done:
                units.append((name, seg))
    halt = threading.Event()             # set when one worker fails, or when ``stop`` (the caller's) is set
    bar = Progress(max(total, first_items), "copy", enabled=progress, initial=first_items, initial_bytes=first_bytes)

    def run(table, seg):
        done, key, _, _ = state.segment(table, seg)
        while not done and not halt.is_set() and not (stop is not None and stop.is_set()):
            items, last = source.scan(table, seg, segments, key, limit=page_size)
            size = 0
            for i in range(0, len(items), BATCH):
                chunk = items[i:i + BATCH]
                write_all(target, table, [{"PutRequest": {"Item": item}} for item in chunk])
                size += sum(item_size(item) for item in chunk)
            state.record_page(table, seg, last, len(items), size)
            bar.update(len(items), size)
            if after_page is not None:
                after_page(table, seg, last)
            done, key = last is None, last

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(segments, len(units)))) as pool:
            futures = [pool.submit(run, table, seg) for table, seg in units]
            try:
                finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
            except BaseException:
                halt.set()
                raise
            halt.set()
            for future in finished:
                if future.exception() is not None:
                    raise future.exception()
        if any(not state.segment(table, seg)[0] for table, seg in units):
            raise CopyInterrupted("stopped")
    except (KeyboardInterrupt, CopyInterrupted) as e:
        raise CopyInterrupted(f"copy stopped; run the same command to resume (state in {state_path})") from e
    finally:
        bar.close()
    result = {}
    for name in names:
        entry = state.table(name)["segments"]
        result[name] = {"items": sum(s["items"] for s in entry.values()), "bytes": sum(s["bytes"] for s in entry.values())}
    state.remove()
    return result


def build_parser(prog="kvstore copy", description=None):
    parser = argparse.ArgumentParser(prog=prog, description=description or __doc__.split("\n")[0])
    parser.add_argument("--from", dest="source", required=True,
                        help="kvstore directory, endpoint URL (http[s]://...) or 'aws'")
    parser.add_argument("--to", dest="target", required=True,
                        help="kvstore directory (created if missing), endpoint URL or 'aws'")
    parser.add_argument("--table", action="append", dest="tables", help="a table to copy (repeatable; default: all)")
    parser.add_argument("--segments", type=int, default=8, help="parallel Scan segments and writers (default 8)")
    parser.add_argument("--page-size", type=int, help="items per Scan page (default: 1 MB pages)")
    parser.add_argument("--region", help="AWS region for endpoints (default: boto3's configuration)")
    parser.add_argument("--profile", help="AWS profile for endpoints (default: boto3's configuration)")
    return parser


def open_pair(args, create_target=True):
    pool = args.segments * 2 + 2
    source = open_side(args.source, region=args.region, profile=args.profile, pool=pool)
    try:
        target = open_side(args.target, create=create_target, region=args.region, profile=args.profile, pool=pool)
    except BaseException:
        source.close()
        raise
    return source, target


def _terminate(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    parser = build_parser()
    parser.add_argument("--state", help="resume file (default: .kvstore-copy-<hash>.json in this directory)")
    parser.add_argument("--restart", action="store_true", help="ignore (and replace) an existing resume file")
    parser.add_argument("--verify", action="store_true", help="compare source and target when the copy is done")
    parser.add_argument("--no-progress", action="store_true", help="no progress display")
    args = parser.parse_args(argv)
    if args.segments < 1:
        parser.error("--segments must be at least 1")
    state_path = args.state or default_state_path(args.source, args.target, args.tables)
    if args.restart and os.path.exists(state_path):
        os.remove(state_path)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        source, target = open_pair(args)
    except MigrationError as e:
        _log(f"kvstore copy: {e}")
        return 1
    try:
        started = time.monotonic()
        result = copy_tables(source, target, args.tables, args.segments, state_path, not args.no_progress,
                             page_size=args.page_size)
        elapsed = time.monotonic() - started
        for name, counts in result.items():
            _log(f"{name}: {counts['items']:,} items, {counts['bytes'] / 1e6:.1f} MB")
        _log(f"copied in {elapsed:.1f} s")
        if args.verify:
            from kvstore.migration.verify import diff_tables, print_report
            return print_report(diff_tables(source, target, list(result), args.segments, args.page_size))
        return 0
    except CopyInterrupted as e:
        _log(f"kvstore copy: {e}")
        return 130
    except (MigrationError, ValueError) as e:
        _log(f"kvstore copy: {e}")
        return 1
    except Exception as e:
        if not reportable(e):
            raise
        _log(f"kvstore copy: {e}")
        return 1
    finally:
        source.close()
        target.close()
