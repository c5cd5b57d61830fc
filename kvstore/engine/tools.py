"""``kvstore check PATH`` and ``kvstore repair PATH``.

check reads everything and changes nothing: segments, records, checkpoint,
problems, and the last failures of background jobs (``background-errors.json``;
they are warnings: the database still opens).  Exit code 0 when the database opens as it is (a torn tail, which
the next open drops, is reported but is not a problem), 1 otherwise.

repair takes the same lock an open takes, cuts the log at the first damaged
record (keeping the dropped bytes under ``lost/``) and reports what it
dropped.  Exit code 0 when the database opens afterwards.
"""

import argparse
import datetime
import json
import os
import sys

from . import recovery, scheduler
from .errors import CorruptionError, DatabaseLockedError, StorageError
from .fs import RealFS
from .lock import DirectoryLock


def _size(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def _when(epoch):
    if not isinstance(epoch, (int, float)):
        return "an unknown time"
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _parser(prog, text):
    parser = argparse.ArgumentParser(prog=prog, description=text)
    parser.add_argument("path", help="database directory")
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    return parser


def check(directory, fs=None):
    """A report dict for ``directory`` (see ``check_main``); raises DatabaseLockedError."""
    fs = fs or RealFS()
    with DirectoryLock(fs, directory):
        info = recovery.inspect(fs, directory)
        job_errors = scheduler.load_errors(fs, directory)
        streams, stream_problems = _check_streams(fs, info)
    problems = list(stream_problems)
    if info.unrepairable is not None:
        problems.append(str(info.unrepairable))
    elif info.fatal is not None:
        problems.append(str(info.fatal))
    warnings = []
    if info.tail is not None:
        t = info.tail
        warnings.append(f"torn tail: {t.dropped} bytes of {t.path} from offset {t.offset} ({t.reason}); "
                        f"the next open drops them")
    if info.unread:
        warnings.append(f"{len(info.unread)} segment(s) after the damage are not readable in order: "
                        + ", ".join(os.path.basename(p) for p in info.unread))
    if info.stale:
        warnings.append(f"{len(info.stale)} leftover file(s) the next open removes: "
                        + ", ".join(os.path.basename(p) for p in info.stale))
    for e in job_errors:
        warnings.append(f"background job {e.get('job')!r} failed at {_when(e.get('at'))}: {e.get('error')}")
    segments = []
    for s in info.segments:
        segments.append({"file": s.path, "first_lsn": s.first_lsn, "last_lsn": s.last_lsn,
                         "records": s.records, "bytes": s.size,
                         "damage": s.damage.as_dict() if s.damage is not None else None})
    return {
        "directory": directory,
        "checkpoint": info.checkpoint.as_dict() if info.checkpoint is not None else None,
        "damaged_checkpoints": info.damaged_checkpoints,
        "segments": segments,
        "replay_from_lsn": info.start_lsn,
        "streams": streams,
        "replay_records": info.replay_records,
        "next_lsn": info.next_lsn,
        "problems": problems,
        "background_errors": job_errors,
        "warnings": warnings + info.notes,
        "repairable": info.unrepairable is None,
        "ok": not problems,
    }


def _check_streams(fs, info):
    """Rebuild and verify the streams (kvstore/engine/stream_check.py); ``(summary or None, problems)``."""
    if info.fatal is not None or info.unrepairable is not None:
        return None, []
    from . import stream_check
    rec = recovery.Recovery(fs, info, [])
    try:
        return stream_check.verify(rec.snapshot_chunks(), rec.log_records())
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None, []            # not an engine's log (a bare write-ahead log): nothing to verify


def _print_check(report, out):
    print(f"database   {report['directory']}", file=out)
    cp = report["checkpoint"]
    if cp:
        print(f"checkpoint {os.path.basename(cp['file'])}  replay from LSN {cp['start_lsn']}, "
              f"needs the log through LSN {cp['end_lsn'] - 1}  {cp['chunks']} chunks  {_size(cp['bytes'])}", file=out)
    else:
        print("checkpoint none", file=out)
    for s in report["segments"]:
        span = f"LSN {s['first_lsn']}..{s['last_lsn']}" if s["last_lsn"] is not None else f"LSN {s['first_lsn']} (empty)"
        status = "ok"
        if s["damage"]:
            d = s["damage"]
            status = f"{d['kind']} at offset {d['offset']}: {d['reason']}"
        print(f"segment    {os.path.basename(s['file'])}  {span}  {s['records']} records  "
              f"{_size(s['bytes'])}  {status}", file=out)
    print(f"replay     {report['replay_records']} records from LSN {report['replay_from_lsn']}", file=out)
    streams = report.get("streams")
    if streams:
        print(f"streams    {streams['streams']} ({streams['enabled']} enabled)  {streams['shards']} shards  "
              f"{streams['records']} records  {streams['consumers']} consumers  verified", file=out)
    for w in report["warnings"]:
        print(f"warning    {w}", file=out)
    for p in report["problems"]:
        print(f"PROBLEM    {p}", file=out)
    if report["ok"]:
        print("result     ok: the database opens as it is", file=out)
    elif report["repairable"]:
        print(f"result     CORRUPT: the database does not open; `kvstore repair {report['directory']}` "
              f"cuts the log at the first damage", file=out)
    else:
        print("result     CORRUPT and not repairable", file=out)


def check_main(argv, out=None):
    out = out or sys.stdout
    args = _parser("kvstore check", "verify a database directory without changing it").parse_args(argv)
    try:
        report = check(args.path)
    except (DatabaseLockedError, StorageError, OSError) as exc:
        print(f"kvstore check: {exc}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(report, out, indent=2)
        print(file=out)
    else:
        _print_check(report, out)
    return 0 if report["ok"] else 1


def repair(directory, fs=None):
    """Repair ``directory``; returns the recovery report dict (``dropped`` lists what went)."""
    from .durability import Durability
    d = Durability(directory, policy="sync", fs=fs or RealFS(), repair=True)
    try:
        return d.recover().report
    finally:
        d.close()


def repair_main(argv, out=None):
    out = out or sys.stdout
    args = _parser("kvstore repair", "drop corrupt log records and make a database openable").parse_args(argv)
    if not os.path.isdir(args.path):
        print(f"kvstore repair: {args.path} is not a directory", file=sys.stderr)
        return 1
    try:
        report = repair(args.path)
    except (CorruptionError, DatabaseLockedError, StorageError, OSError) as exc:
        print(f"kvstore repair: {exc}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(report, out, indent=2)
        print(file=out)
        return 0
    if not report["dropped"]:
        print(f"nothing to repair in {args.path}", file=out)
    for d in report["dropped"]:
        print(f"dropped {d['bytes']} bytes of {d['file']} from offset {d['offset']}: {d['reason']}", file=out)
    for note in report["notes"]:
        print(f"note: {note}", file=out)
    print(f"the log now ends at LSN {report['next_lsn'] - 1}; dropped bytes are kept in "
          f"{os.path.join(args.path, recovery.LOST_DIR)}", file=out)
    return 0
