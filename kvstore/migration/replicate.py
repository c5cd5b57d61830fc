"""``kvstore replicate``: an initial copy, then every change of the source's stream, continuously.

Where the changes come from (a *feed* per table):

* an endpoint: the DynamoDB Streams API (ListStreams is not needed: DescribeTable's
  LatestStreamArn, then DescribeStream, GetShardIterator, GetRecords; GetRecords signed by
  botocore but parsed here, see ``endpoints.RawJson``), shard by shard, a child
  shard only once its parent (``ParentShardId``) has been read to its end, so the records of
  one item are applied in their order across splits and rollovers.  The position (per shard:
  the last applied SequenceNumber, and whether the shard is finished) is kept in a position
  file (format below), rewritten atomically after each applied batch;
* a kvstore directory: kvstore's durable in-process consumer (``db.stream_consumer``) named
  after the target; its position lives in the source database (``ack`` after each batch).

How a batch is applied: records are taken in stream order and reduced to the last record of
each item (a later image supersedes an earlier one, so the final state is the same as applying
them all), then written with BatchWriteItem in parallel chunks of 25 distinct keys: INSERT and
MODIFY put ``NewImage``; REMOVE deletes ``Keys``.  On a stream without new images (KEYS_ONLY,
OLD_IMAGE) the item's current version is read from the source (a consistent GetItem), which
is at least as new as the record.  The position moves only after the whole batch is written.

Why nothing is lost or applied out of order across a stop, a crash or a SIGKILL: the stored
position is that of the last batch fully written, so after a restart the records after it are
applied again, in their order; a record applied twice is applied again before every later
record of its item (puts and deletes of images are idempotent), so each item ends at its last
version.  The first run starts every shard at TRIM_HORIZON, before the initial copy is taken,
so every change made during the copy is in the feed (replaying older records converges the
same way: the last record of an item is its latest state).

Lag: now minus the ApproximateCreationDateTime of the last applied record (DynamoDB gives it
in whole seconds), zero when the feed is drained; printed every ``--report`` seconds.

Position file (endpoint sources)::

    {"format": "kvstore-replicate/1", "from": "...", "to": "...",
     "copied": ["orders"],                                # tables whose initial copy is done
     "tables": {"orders": {"stream": "arn:...",
                            "shards": {"shardId-...": {"sequence": "0000...42", "done": false}}}}}
"""

import argparse
import hashlib
import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from kvstore.migration.copy import CopyInterrupted, build_parser, copy_tables, default_state_path, open_pair
from kvstore.migration.endpoints import (
    DirectorySide, EndpointSide, MigrationError, error_code, reportable, with_backoff, write_all)
from kvstore.types import item_from_wire
from kvstore.migration.verify import key_text

FORMAT = "kvstore-replicate/1"
BATCH = 1000
WRITERS = 4


def _log(text):
    print(text, file=sys.stderr, flush=True)


class PositionFile:
    """The replicator's own state for endpoint sources (see the module docstring)."""

    def __init__(self, path, source, target):
        self.path = path
        self.lock = threading.RLock()
        self.data = {"format": FORMAT, "from": source, "to": target, "copied": [], "tables": {}}
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            if data.get("format") != FORMAT or (data.get("from"), data.get("to")) != (source, target):
                raise MigrationError(f"{path} is not the position file of a replication from {source} to {target}")
            self.data = data

    def table(self, name):
        with self.lock:
            return self.data["tables"].setdefault(name, {"stream": None, "shards": {}})

    def save(self):
        with self.lock:
            if not self.path:
                return
            tmp = self.path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(self.data, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)


class EndpointFeed:
    """A table's DynamoDB Streams records, shard by shard, parents before children."""

    REFRESH = 1.0

    def __init__(self, side, table, positions, idle_wait=0.2):
        self.side, self.table, self.positions = side, table, positions
        self.client = side.client_for("dynamodbstreams")
        self.raw = side.raw(self.client)
        description = side.describe(table)
        arn = (description or {}).get("LatestStreamArn")
        if not (description or {}).get("StreamSpecification", {}).get("StreamEnabled") or not arn:
            raise MigrationError(f"{side}: table {table} has no stream: enable one first (UpdateTable "
                                 "StreamSpecification={StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES})")
        state = positions.table(table)
        if state["stream"] not in (None, arn):
            raise MigrationError(f"{table}: the source's stream changed ({state['stream']} -> {arn}); "
                                 "records between them may be lost: replicate again from a fresh copy")
        state["stream"] = arn
        self.arn, self.state = arn, state
        self.shards = {}                 # shard id -> parent id, as last described
        self.iterators = {}
        self._described = 0.0
        self.idle_wait = idle_wait

    def _describe(self):
        shards, start = {}, None
        while True:
            request = {"StreamArn": self.arn}
            if start:
                request["ExclusiveStartShardId"] = start
            page = with_backoff(self.client.describe_stream, **request)["StreamDescription"]
            for shard in page.get("Shards", ()):
                shards[shard["ShardId"]] = shard.get("ParentShardId")
            start = page.get("LastEvaluatedShardId")
            if not start:
                break
        self.shards, self._described = shards, time.monotonic()

    def _position(self, shard):
        with self.positions.lock:
            return self.state["shards"].setdefault(shard, {"sequence": None, "done": False})

    def _readable(self):
        out = []
        for shard, parent in self.shards.items():
            if self._position(shard)["done"]:
                continue
            if parent is not None and parent in self.shards and not self._position(parent)["done"]:
                continue
            out.append(shard)
        return sorted(out)

    def _iterator(self, shard):
        if shard not in self.iterators:
            sequence = self._position(shard)["sequence"]
            request = {"StreamArn": self.arn, "ShardId": shard}
            if sequence:
                request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=sequence)
            else:
                request["ShardIteratorType"] = "TRIM_HORIZON"
            self.iterators[shard] = with_backoff(self.client.get_shard_iterator, **request)["ShardIterator"]
        return self.iterators[shard]

    def read(self, limit=BATCH):
        """Records of the readable shards (in order within each), and the positions they lead to."""
        if not self.shards or time.monotonic() - self._described > self.REFRESH:
            self._describe()
        records, moves = [], {}
        for shard in self._readable():
            try:
                page = with_backoff(self.raw.call, "GetRecords", {"ShardIterator": self._iterator(shard), "Limit": limit})
            except Exception as exc:
                if error_code(exc) == "ExpiredIteratorException":
                    self.iterators.pop(shard, None)
                    continue
                if error_code(exc) == "TrimmedDataAccessException":
                    raise MigrationError(f"{self.table}: stream records were trimmed before they were applied "
                                         f"(the replicator was away longer than the stream's retention): "
                                         f"copy again and restart replication") from exc
                raise
            found = page.get("Records", [])
            for record in found:
                data = record["dynamodb"]
                records.append({"eventName": record["eventName"], "Keys": item_from_wire(data["Keys"]),
                                "NewImage": item_from_wire(data["NewImage"]) if "NewImage" in data else None,
                                "at": data.get("ApproximateCreationDateTime")})
            following = page.get("NextShardIterator")
            if following:
                self.iterators[shard] = following
            else:
                self.iterators.pop(shard, None)
            if found or not following:
                moves[shard] = {"sequence": found[-1]["dynamodb"]["SequenceNumber"] if found
                                else self._position(shard)["sequence"], "done": not following}
            if len(records) >= limit:
                break
        if any(m["done"] for m in moves.values()):
            self._described = 0.0         # a finished shard may open its children: describe again
        return records, moves

    def commit(self, moves, positions):
        if moves:
            with positions.lock:
                for shard, move in moves.items():
                    self._position(shard).update(move)
                positions.save()

    def wait(self):
        time.sleep(self.idle_wait)


class DirectoryFeed:
    """A table's records through kvstore's durable in-process consumer (position in the source)."""

    def __init__(self, side, table, name, idle_wait=0.2):
        description = side.describe(table)
        if not (description or {}).get("StreamSpecification", {}).get("StreamEnabled"):
            raise MigrationError(f"{side}: table {table} has no stream: enable one first (UpdateTable "
                                 "StreamSpecification={StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES})")
        self.table = table
        self.consumer = side.db.stream_consumer(table, name=name, start="TRIM_HORIZON")
        self.idle_wait = idle_wait

    def read(self, limit=BATCH):
        found = self.consumer.read(limit, timeout=self.idle_wait)
        records = [{"eventName": r["eventName"], "Keys": r["dynamodb"]["Keys"],
                    "NewImage": r["dynamodb"].get("NewImage"), "at": r["dynamodb"].get("ApproximateCreationDateTime")}
                   for r in found]
        return records, (found[-1] if found else None)

    def commit(self, last, positions):
        if last is not None:
            self.consumer.ack(last)

    def wait(self):
        pass                              # read() already waited for a commit


def _epoch(at):
    if at is None:
        return None
    if isinstance(at, datetime):
        return at.timestamp()
    return float(at)


class Applier:
    """Writes batches of records to the target (see the module docstring for why this order is safe)."""

    def __init__(self, source, target, table, key_names, writers=WRITERS):
        self.source, self.target, self.table, self.key_names = source, target, table, key_names
        self.pool = ThreadPoolExecutor(max_workers=writers)

    def apply(self, records):
        last = {}
        for record in records:
            last[key_text(record["Keys"], self.key_names)] = record
        requests = []
        for record in last.values():
            if record["eventName"] == "REMOVE":
                requests.append({"DeleteRequest": {"Key": record["Keys"]}})
                continue
            image = record["NewImage"]
            if image is None:
                image = self.source.get(self.table, record["Keys"])
            requests.append({"PutRequest": {"Item": image}} if image is not None
                            else {"DeleteRequest": {"Key": record["Keys"]}})
        chunks = [requests[i:i + 25] for i in range(0, len(requests), 25)]
        for future in [self.pool.submit(write_all, self.target, self.table, chunk) for chunk in chunks]:
            future.result()

    def close(self):
        self.pool.shutdown()


class Replicator:
    """Follows one table's feed and applies it until ``stop`` is set."""

    def __init__(self, source, target, table, positions, consumer_name, on_applied=None, idle_wait=0.2):
        self.table = table
        description = source.describe(table)
        keys = [k["AttributeName"] for k in description["KeySchema"]]
        if isinstance(source, DirectorySide):
            self.feed = DirectoryFeed(source, table, consumer_name, idle_wait)
        else:
            self.feed = EndpointFeed(source, table, positions, idle_wait)
        self.positions = positions
        self.applier = Applier(source, target, table, keys)
        self.on_applied = on_applied
        self.applied = 0
        self.lag = 0.0

    def step(self, now=time.time):
        """Read, apply and commit one batch; returns how many records it applied."""
        records, moves = self.feed.read()
        if records:
            self.applier.apply(records)
        self.feed.commit(moves, self.positions)
        if records:
            self.applied += len(records)
            at = _epoch(records[-1]["at"])
            self.lag = max(0.0, now() - at) if at is not None else 0.0
            if self.on_applied is not None:
                self.on_applied(self.table, records)
        else:
            self.lag = 0.0
            self.feed.wait()
        return len(records)

    def run(self, stop):
        try:
            while not stop.is_set():
                self.step()
        finally:
            self.applier.close()


def replicate(source, target, tables=None, position_path=None, copy=True, segments=8, stop=None,
              on_applied=None, report=5.0, log=_log, idle_wait=0.2, progress=False):
    """Copy (unless done or ``copy=False``), then apply the source's stream until ``stop`` is set."""
    stop = stop or threading.Event()
    positions = PositionFile(position_path, source.spec, target.spec)
    names = list(tables) if tables else source.list_tables()
    name = "kvstore-replicate-" + hashlib.sha1(target.spec.encode()).hexdigest()[:12]
    # feeds first: their starting point (TRIM_HORIZON) is then before anything the copy reads
    replicators = [Replicator(source, target, t, positions, name, on_applied, idle_wait) for t in names]
    pending = [t for t in names if t not in positions.data["copied"]]
    if copy and pending:
        state = (position_path + ".copy") if position_path else None
        copy_tables(source, target, pending, segments, state, progress=progress, log=log, stop=stop)
    positions.data["copied"] = sorted(set(positions.data["copied"]) | set(names))
    positions.save()
    errors = []

    def run(replicator):
        try:
            replicator.run(stop)
        except BaseException as exc:      # noqa: BLE001 - reported by the caller
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=run, args=(r,), name=f"replicate-{r.table}", daemon=True)
               for r in replicators]
    for thread in threads:
        thread.start()
    started, applied_before = time.monotonic(), 0
    while any(t.is_alive() for t in threads):
        stop.wait(report or 0.5)          # report=0: no lines, and no busy loop
        if report and not stop.is_set():
            applied = sum(r.applied for r in replicators)
            rate = (applied - applied_before) / report
            applied_before = applied
            log(f"replicate: {applied:,} records applied ({rate:,.0f}/s), lag "
                + ", ".join(f"{r.table} {r.lag:.1f} s" for r in replicators))
        if stop.is_set():
            break
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return {r.table: r.applied for r in replicators}


def main(argv=None):
    parser = build_parser("kvstore replicate",
                          "copy tables, then apply every change of the source's stream to the target until stopped")
    parser.add_argument("--position", help="position file for endpoint sources "
                                           "(default: .kvstore-replicate-<hash>.json in this directory)")
    parser.add_argument("--no-copy", action="store_true", help="the target is already seeded: only follow the stream")
    parser.add_argument("--report", type=float, default=5.0, help="seconds between lag reports (default 5)")
    args = parser.parse_args(argv)
    position = args.position or default_state_path(args.source, args.target, args.tables).replace(
        ".kvstore-copy-", ".kvstore-replicate-")
    stop = threading.Event()

    def request_stop(signum, frame):
        _log("kvstore replicate: stopping after the batch in flight")
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        source, target = open_pair(args)
    except MigrationError as e:
        _log(f"kvstore replicate: {e}")
        return 1
    try:
        _log(f"kvstore replicate: {source} -> {target}; position in "
             + ("the source database" if isinstance(source, DirectorySide) else position))
        try:
            applied = replicate(source, target, args.tables, position, not args.no_copy, args.segments, stop,
                                report=args.report, progress=False)
        except CopyInterrupted:
            _log("kvstore replicate: stopped during the initial copy; run the same command to resume")
            return 0
        _log("kvstore replicate: stopped; " + ", ".join(f"{t}: {n:,} records applied" for t, n in applied.items()))
        return 0
    except MigrationError as e:
        _log(f"kvstore replicate: {e}")
        return 1
    except Exception as e:
        if not reportable(e):
            raise
        _log(f"kvstore replicate: {e}")
        return 1
    finally:
        source.close()
        target.close()


__all__ = ["replicate", "Replicator", "EndpointFeed", "DirectoryFeed", "EndpointSide", "main"]
