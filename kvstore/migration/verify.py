"""``kvstore diff`` and ``kvstore copy --verify``: source and target compared item by item.

Both tables are scanned at once, each in parallel segments (consistent reads).  Every item is
reduced to its key (canonical DynamoDB JSON text) and a 128-bit BLAKE2b hash of its canonical
content (attribute names sorted, set members sorted, numbers in canonical form, so two
stores that order sets or spell numbers differently still agree).  One table of
``key -> (source hash, target hash)`` is kept, and an entry is dropped as soon as both sides
have delivered equal hashes, so memory holds only the items seen on one side so far, plus
those that differ (at worst one entry per item: about 200 bytes each).  Time: one read of
every item on each side.

Reported per table: items missing from the target, extra items only in the target, and items
whose content differs; the exit status is 1 when anything differs.  Comparing tables that
are still being written reports the writes in flight as differences: verify after writes
stop, or after replicate has caught up (docs/migration.md).
"""

import hashlib
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from kvstore.migration.endpoints import MigrationError
from kvstore.types import Binary, item_to_wire

SHOW = 10


def _canonical(value, out):
    t = type(value)
    if t is str:
        out.append("S" + json.dumps(value))
    elif t is Decimal:
        out.append("N" + format(value, "f"))
    elif t is bool:
        out.append("T" if value else "F")
    elif value is None:
        out.append("0")
    elif t is Binary:
        out.append("B" + value.value.hex())
    elif t is dict:
        out.append("{")
        for k in sorted(value):
            out.append(json.dumps(k))
            _canonical(value[k], out)
        out.append("}")
    elif t is list:
        out.append("[")
        for v in value:
            _canonical(v, out)
        out.append("]")
    elif t is set or t is frozenset:
        members = []
        for v in value:
            part = []
            _canonical(v, part)
            members.append("".join(part))
        out.append("<" + ",".join(sorted(members)) + ">")
    else:
        raise TypeError(f"not a native attribute value: {value!r}")


def content_hash(item):
    """128-bit hash of an item's canonical form (equal for equal items, whatever their order)."""
    out = []
    _canonical(item, out)
    return hashlib.blake2b("".join(out).encode(), digest_size=16).digest()


def key_text(item, key_names):
    return json.dumps(item_to_wire({k: item[k] for k in key_names}), sort_keys=True, separators=(",", ":"))


class TableDiff:
    """Running comparison of one table; ``add`` is called from scanning threads."""

    def __init__(self, name):
        self.name = name
        self.pending = {}
        self.counts = [0, 0]
        self._lock = threading.Lock()

    def add(self, side, pairs):
        other = 1 - side
        with self._lock:
            self.counts[side] += len(pairs)
            for key, digest in pairs:
                entry = self.pending.get(key)
                if entry is None:
                    entry = self.pending[key] = [None, None]
                entry[side] = digest
                if entry[other] is not None and entry[other] == digest:
                    del self.pending[key]

    def result(self):
        missing, extra, different = [], [], []
        for key, (s, t) in sorted(self.pending.items()):
            (extra if s is None else missing if t is None else different).append(key)
        return {"table": self.name, "source_items": self.counts[0], "target_items": self.counts[1],
                "missing": missing, "extra": extra, "different": different}


def diff_tables(source, target, tables=None, segments=8, page_size=None):
    """Compare ``tables`` (all of the source's when None); a list of per-table results."""
    names = list(tables) if tables else source.list_tables()
    results = []
    for name in names:
        description = source.describe(name)
        if description is None:
            raise MigrationError(f"{source}: no table named {name}")
        if target.describe(name) is None:
            raise MigrationError(f"{target}: no table named {name}")
        keys = [k["AttributeName"] for k in description["KeySchema"]]
        diff = TableDiff(name)

        def scan(side_index, side, seg):
            start = None
            while True:
                items, start = side.scan(name, seg, segments, start, limit=page_size)
                diff.add(side_index, [(key_text(i, keys), content_hash(i)) for i in items])
                if start is None:
                    return

        with ThreadPoolExecutor(max_workers=segments * 2) as pool:
            futures = [pool.submit(scan, index, side, seg)
                       for seg in range(segments) for index, side in enumerate((source, target))]
            for future in futures:
                future.result()
        results.append(diff.result())
    return results


def print_report(results, stream=sys.stderr, show=SHOW):
    """Print the comparison; returns the exit status (0 identical, 1 different)."""
    status = 0
    for r in results:
        differ = r["missing"] or r["extra"] or r["different"]
        status |= bool(differ)
        print(f"{r['table']}: {r['source_items']:,} items in the source, {r['target_items']:,} in the target: "
              + (f"{len(r['missing']):,} missing, {len(r['extra']):,} extra, {len(r['different']):,} different"
                 if differ else "identical"), file=stream)
        for label in ("missing", "extra", "different"):
            for key in r[label][:show]:
                print(f"  {label} {key}", file=stream)
            if len(r[label]) > show:
                print(f"  ... and {len(r[label]) - show:,} more {label}", file=stream)
    return status


def main(argv=None):
    from kvstore.migration.copy import build_parser, open_pair
    parser = build_parser("kvstore diff", "compare tables item by item (key and content hash); exit 1 if they differ")
    parser.add_argument("--show", type=int, default=SHOW, help=f"keys listed per kind of difference (default {SHOW})")
    args = parser.parse_args(argv)
    try:
        source, target = open_pair(args, create_target=False)
    except MigrationError as e:
        print(f"kvstore diff: {e}", file=sys.stderr)
        return 2
    try:
        return print_report(diff_tables(source, target, args.tables, args.segments, args.page_size), show=args.show)
    except MigrationError as e:
        print(f"kvstore diff: {e}", file=sys.stderr)
        return 2
    finally:
        source.close()
        target.close()
