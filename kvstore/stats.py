"""``kvstore stats PATH|URL``: print a database's metrics (the figures of ``GET /metrics``).

    kvstore stats http://127.0.0.1:8000          # a running server: scrapes its /metrics
    kvstore stats ./kvstore-data                 # a directory no process has open: read offline
    kvstore stats ./kvstore-data --prometheus    # the text exposition format instead of the summary

A URL gives every figure the server has recorded since it started.  A
directory is read without being changed (like ``kvstore check``: the
directory lock is taken, the checkpoint and log are read into memory, nothing
is written or repaired); it shows what the files hold: items and bytes per
table and index, the log's segments and size since the last checkpoint, the
newest checkpoint's age and size, retained stream records and durable
consumers' lag.  A server's data directory with other accounts and regions
(``DIR/accounts/<account>/<region>/``, ``kvstore.server.accounts``) is read
whole, every sample labelled with its ``account`` and ``region`` as the
server's ``/metrics`` labels them.  Request figures (counts, latency, errors, consumed capacity,
throttles, TTL deletions, fsyncs) live in the memory of the process that
served the requests and are not in the directory: ask that process by URL.
"""

import argparse
import os
import sys
import urllib.error
import urllib.request

from kvstore.metrics import Snapshot, labelled_snapshot, parse_prometheus, snapshot


def offline_snapshot(directory):
    """The :class:`~kvstore.metrics.Snapshot` of a closed database directory, read without changing it.

    With other accounts' and regions' databases under ``directory/accounts/``,
    all of them, labelled by account and region (the directory itself is the
    default pair's).  Raises ``DatabaseLockedError`` while a process has a
    directory open and ``CorruptionError`` when one would not open (``kvstore
    check`` says why).
    """
    from kvstore import limits
    from kvstore.server.accounts import ACCOUNTS_DIRECTORY, directory_of

    if not os.path.isdir(directory):
        raise FileNotFoundError(f"no database directory at {directory}")
    root = os.path.join(directory, ACCOUNTS_DIRECTORY)
    others = [(account, region) for account in sorted(_subdirectories(root))
              for region in sorted(_subdirectories(os.path.join(root, account)))]
    if not others:
        return _database_snapshot(directory)
    parts = [(limits.ACCOUNT_ID, limits.REGION, _database_snapshot(directory))]
    parts += [(account, region, _database_snapshot(directory_of(directory, account, region)))
              for account, region in others]
    return labelled_snapshot(parts)


def _subdirectories(path):
    try:
        return [name for name in os.listdir(path) if os.path.isdir(os.path.join(path, name))]
    except FileNotFoundError:
        return []


def _database_snapshot(directory):
    """The Snapshot of one closed database directory (see offline_snapshot)."""
    from kvstore.engine import recovery
    from kvstore.engine.database import MEMORY, Engine
    from kvstore.engine.fs import RealFS
    from kvstore.engine.lock import DirectoryLock

    fs = RealFS()
    with DirectoryLock(fs, directory):
        info = recovery.inspect(fs, directory)
        if info.unrepairable is not None:
            raise info.unrepairable
        if info.fatal is not None:
            raise info.fatal
        engine = Engine(MEMORY, ttl_sweep_seconds=None)
        try:
            engine.durability = _ReadOnlyLog(fs, directory, info)
            engine._recover()                   # replays into memory; the fake log writes nothing
            return snapshot(engine)
        finally:
            engine.durability = None
            engine.close()


class _ReadOnlyLog:
    """Stands in for ``Durability`` while an in-memory engine replays a directory (see offline_snapshot)."""

    def __init__(self, fs, directory, info):
        self.fs = fs
        self.directory = directory
        self.info = info

    def recover(self):
        from kvstore.engine import recovery
        return recovery.Recovery(self.fs, self.info, None)

    def figures(self):
        """What the files say about the log (the counters since open exist only in a running process)."""
        start = self.info.start_lsn
        since = sum(s.size for s in self.info.segments if s.last_lsn is not None and s.last_lsn >= start)
        return {"segments": len(self.info.segments), "log_bytes": since}


def load(source, token=None, timeout=10.0):
    """The Snapshot of ``source``: an ``http(s)://`` URL (its /metrics) or a database directory."""
    if source.startswith(("http://", "https://")):
        url = source if source.rstrip("/").endswith("/metrics") else source.rstrip("/") + "/metrics"
        request = urllib.request.Request(url)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return parse_prometheus(response.read().decode("utf-8"))
    return offline_snapshot(source)


def render(snap: Snapshot):
    """A summary for people: one block per metric with samples; histograms as count, mean, p50, p99."""
    lines = []
    for family in snap.families:
        if not family.samples:
            continue
        lines.append(f"{family.name} ({family.kind}): {family.help}")
        if family.kind == "histogram":
            for labels, series in _histograms(family):
                count = series["count"]
                mean = series["sum"] / count if count else 0.0
                lines.append(f"  {_labels(labels):<48} count {count:g}  mean {_short(mean)}  "
                             f"p50 <= {_short(_quantile(series['buckets'], count, 0.5))}  "
                             f"p99 <= {_short(_quantile(series['buckets'], count, 0.99))}")
        else:
            for _name, labels, value in family.samples:
                lines.append(f"  {_labels(labels):<48} {value:g}")
    return "\n".join(lines) + "\n"


def _histograms(family):
    out = {}
    for name, labels, value in family.samples:
        d = dict(labels)
        le = d.pop("le", None)
        key = tuple(d.items())
        series = out.setdefault(key, {"buckets": [], "count": 0, "sum": 0.0})
        if name.endswith("_bucket"):
            series["buckets"].append((float(le.replace("Inf", "inf")), value))
        elif name.endswith("_count"):
            series["count"] = value
        elif name.endswith("_sum"):
            series["sum"] = value
    return list(out.items())


def _quantile(buckets, count, q):
    """The upper bound of the bucket holding quantile ``q`` (what a fixed-bucket histogram can say)."""
    for bound, cumulative in buckets:
        if count and cumulative >= q * count:
            return bound
    return float("inf")


def _short(value):
    if isinstance(value, float) and value not in (float("inf"),) and value < 1:
        return f"{value * 1e6:.0f}us" if value < 1e-3 else f"{value * 1e3:.1f}ms"
    return f"{value:g}s" if isinstance(value, float) else str(value)


def _labels(labels):
    return " ".join(f"{k}={v!r}" if v == "" else f"{k}={v}" for k, v in labels) or "-"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="kvstore stats", description=__doc__.split("\n\n")[0].strip("`"),
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("source", metavar="PATH|URL", help="database directory, or a server's URL")
    parser.add_argument("--prometheus", action="store_true", help="print the Prometheus text format")
    parser.add_argument("--token-file", metavar="FILE",
                        help="bearer token for a server started with --metrics-token-file")
    args = parser.parse_args(argv)
    token = None
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as f:
            token = f.read().strip()
    from kvstore.engine.errors import CorruptionError, DatabaseLockedError
    try:
        snap = load(args.source, token)
    except DatabaseLockedError:
        print(f"kvstore stats: {args.source} is open in another process (a running server?): ask it by URL, "
              f"kvstore stats http://HOST:PORT", file=sys.stderr)
        return 1
    except CorruptionError as e:
        print(f"kvstore stats: {args.source} would not open ({e}); see kvstore check", file=sys.stderr)
        return 1
    except (OSError, urllib.error.URLError, ValueError) as e:
        print(f"kvstore stats: cannot read {args.source}: {e}", file=sys.stderr)
        return 1
    if not args.source.startswith(("http://", "https://")):
        print("# offline: what the directory holds; request figures live in the serving process "
              "(kvstore stats URL)")
    sys.stdout.write(snap.to_prometheus() if args.prometheus else render(snap))
    return 0


if __name__ == "__main__":
    sys.exit(main())
