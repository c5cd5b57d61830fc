"""DynamoDB Streams inside the engine: streams, shards, retained records, consumer positions.

One :class:`Streams` registry per engine (``engine.streams``).  A table with an
enabled stream has ``table.stream`` set; :meth:`Engine.commit` then goes
through :meth:`Streams.log_write`, which decides under the registry's lock
which writes make a record (a write that changes nothing makes none), logs
them inside the write's own log record and, once the rows are applied,
appends the records to the stream's open shard (:meth:`Streams.publish`).
Replay (:meth:`Streams.replay_write` and friends) rebuilds exactly the same
records from the same log records; docs/format.md has the format and why it
is correct across fuzzy checkpoints.

Sequence numbers are ``SEQ_BASE + n * PER_COMMIT + i`` for record i of the
write logged at LSN n (a commit counter in memory), so they increase across
restarts and need no storage.  Records are handed out only once their LSN is
durable (:meth:`Streams.ensure_durable`).

Complexity: a write to a stream-enabled table adds O(1) work under one lock
(two list appends); finding a position in a shard is a bisect, O(log r) for
r retained records; trimming removes a prefix, O(trimmed).  Shards roll over
lazily: the first commit or read after ``shard_seconds`` closes the open
shard and opens its child.
"""

import bisect
import zlib
import os
import threading
from datetime import datetime, timezone

from kvstore import _core
from kvstore.engine.errors import DurabilityError
from kvstore.types import same_value

SEQ_BASE = 10 ** 20
PER_COMMIT = 10 ** 4
RETENTION_SECONDS = 24 * 3600
ITERATOR_SECONDS = 15 * 60
DEFAULT_SHARD_SECONDS = 4 * 3600
#: how often the engine's scheduler rolls over and trims streams nobody writes or reads
UPKEEP_SECONDS = 60.0
#: the userIdentity of a record whose write had an identity (``kvstore.engine.ttl.TTL_IDENTITY``)
SERVICE_IDENTITY = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
VIEW_TYPES = ("NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY")
OLD_VIEWS = frozenset(("OLD_IMAGE", "NEW_AND_OLD_IMAGES"))
NEW_VIEWS = frozenset(("NEW_IMAGE", "NEW_AND_OLD_IMAGES"))
INSERT, MODIFY, REMOVE = 0, 1, 2
EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
#: log record kinds owned by streams (see docs/format.md)
REC_ROLL = "R"
REC_ACK = "A"


def sequence_number(n, i=0):
    """The engine's number of record ``i`` of commit ``n`` (fits 64 bits; msgpack stores it)."""
    return n * PER_COMMIT + i


def sequence_text(seq):
    """DynamoDB's SequenceNumber of an engine sequence number: 21 decimal digits."""
    return str(SEQ_BASE + seq)


def parse_sequence(text):
    """The engine sequence number of a SequenceNumber text (negative when below every record)."""
    return int(text) - SEQ_BASE


def label_of(at):
    """ISO-8601 with milliseconds and no zone, in UTC (DynamoDB's stream label)."""
    ms = int(round(at * 1000))
    return datetime.fromtimestamp(ms // 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}"


class Shard:
    """A shard: ``seqs``/``records`` sorted by sequence number; ``end`` None while open.

    A record is ``(sequence, lsn, at, kind, new_packed, image, identity)``;
    ``image`` as logged (docs/format.md).  ``last`` is the newest sequence
    number ever appended (``start - 1`` before the first), ``trimmed`` the
    newest one removed by retention (``start - 1`` before any).
    """

    __slots__ = ("id", "parent", "start", "end", "last", "trimmed", "created", "seqs", "records")

    def __init__(self, shard_id, parent, start, created, end=None, last=None, trimmed=None):
        self.id = shard_id
        self.parent = parent
        self.start = start
        self.end = end
        self.last = start - 1 if last is None else last
        self.trimmed = start - 1 if trimmed is None else trimmed
        self.created = created
        self.seqs = []
        self.records = []

    def close(self):
        if self.end is None:
            self.end = max(self.last, self.start)

    def append(self, record):
        self.seqs.append(record[0])
        self.records.append(record)
        self.last = record[0]

    def state(self):
        return [self.id, self.parent, self.start, self.end, self.last, self.trimmed, self.created]

    @classmethod
    def from_state(cls, state):
        shard_id, parent, start, end, last, trimmed, created = state
        return cls(shard_id, parent, start, created, end, last, trimmed)


class Stream:
    """One stream of one table (a new one per enable); ``end`` set once disabled."""

    def __init__(self, arn, table, label, view, key_schema, created, start):
        self.arn = arn
        self.table = table
        self.label = label
        self.view = view
        self.key_schema = [dict(k) for k in key_schema]
        self.key_names = tuple(k["AttributeName"] for k in key_schema)
        self.keeps_old = view in OLD_VIEWS
        #: eventIDs are 32 hex digits: the stream's crc32, then the sequence number (unique, stable)
        self.event_prefix = f"{zlib.crc32(arn.encode()):08x}"
        self.created = created
        self.start = start
        self.end = None
        self.disabled_at = None
        self.shards = []

    @property
    def status(self):
        return "ENABLED" if self.end is None else "DISABLED"

    def shard(self, shard_id):
        for shard in self.shards:
            if shard.id == shard_id:
                return shard
        return None

    def shard_for(self, seq):
        """The shard holding sequence number ``seq`` (the last one starting at or before it)."""
        found = None
        for shard in self.shards:
            if shard.start <= seq:
                found = shard
        return found

    def keys_of(self, item):
        return {k: item[k] for k in self.key_names if k in item}

    def state(self):
        return {"arn": self.arn, "table": self.table, "label": self.label, "view": self.view,
                "key_schema": self.key_schema, "created": self.created, "disabled_at": self.disabled_at,
                "start": self.start, "end": self.end, "shards": [s.state() for s in self.shards]}

    @classmethod
    def from_state(cls, state):
        stream = cls(state["arn"], state["table"], state["label"], state["view"], state["key_schema"],
                     state["created"], state["start"])
        stream.end = state["end"]
        stream.disabled_at = state["disabled_at"]
        stream.shards = [Shard.from_state(s) for s in state["shards"]]
        return stream


class Streams:
    """Every retained stream of one engine, and the durable consumers' positions."""

    def __init__(self, engine, shard_seconds=DEFAULT_SHARD_SECONDS, retention_seconds=RETENTION_SECONDS):
        self.engine = engine
        self.shard_seconds = shard_seconds
        self.retention_seconds = retention_seconds
        self.lock = threading.RLock()
        #: notified (under ``lock``) when records are appended or a stream is disabled
        self.changed = threading.Condition(self.lock)
        self.waiting = 0
        #: set when a commit woke a waiting reader: ``Engine.wait_durable`` then yields the GIL once
        self.woke = False
        self.by_arn = {}
        #: number of enabled streams: commit skips the stream path while it is 0
        self.enabled = 0
        #: (table name, consumer name) -> acknowledged sequence number
        self.consumers = {}
        #: table name -> the newest sequence number retention removed from any of its streams
        self.trimmed = {}
        #: table name -> records appended since the engine opened (kvstore.metrics)
        self.published = {}
        self._counter = 0            # commit numbers of an in-memory engine
        self._job = None
        #: changes whenever a stream is added or dropped (readers cache their table's streams)
        self.version = 0
        self._last_trim = None

    # -- numbering --------------------------------------------------------------

    def _number(self, lsn):
        """The commit number of a record logged at ``lsn`` (an in-memory engine counts commits)."""
        if self.engine.durability is not None:
            return lsn
        self._counter += 1
        return self._counter

    def durable_lsn(self):
        durability = self.engine.durability
        return durability.durable_lsn if durability is not None else float("inf")

    def ensure_durable(self, lsn):
        """Make the log durable through ``lsn`` (a reader is about to hand out a record logged there)."""
        durability = self.engine.durability
        if durability is not None and lsn > durability.durable_lsn:
            durability.sync_to(lsn)

    # -- enabling and disabling --------------------------------------------------

    def enable_event(self, table_name, table_arn, now):
        """``(event, arn, label)`` for a new stream of a table; the caller logs the event with the meta."""
        at = now
        while True:
            label = label_of(at)
            arn = f"{table_arn}/stream/{label}"
            if arn not in self.by_arn:
                break
            at += 0.001
        return ["enable", arn, self._shard_id(at, None), now], arn, label

    def disable_event(self, stream, now):
        return ["disable", stream.arn, now]

    def _shard_id(self, at, previous):
        ms = int(at * 1000)
        if previous is not None:
            ms = max(ms, int(previous.id.split("-")[1]) + 1)
        return f"shardId-{ms:020d}-{os.urandom(4).hex()}"

    def apply_event(self, event, n, meta, table=None):
        """Apply an enable/disable event logged with commit number ``n`` (live or replay; idempotent)."""
        if event[0] == "enable":
            _kind, arn, shard_id, at = event
            if arn in self.by_arn:
                return self.by_arn[arn]
            start = sequence_number(n)
            stream = Stream(arn, meta["TableName"], arn.rsplit("/", 1)[1], meta["StreamSpecification"]["StreamViewType"],
                            meta["KeySchema"], at, start)
            stream.shards.append(Shard(shard_id, None, start, at))
            self.by_arn[arn] = stream
            self.version += 1
            self.enabled += 1
            self._schedule()
            if table is not None:
                table.stream = stream
            return stream
        _kind, arn, at = event
        stream = self.by_arn.get(arn)
        if stream is None or stream.end is not None:
            return stream
        for shard in stream.shards:
            shard.close()
        stream.end = sequence_number(n)
        stream.disabled_at = at
        self.enabled -= 1
        if table is not None and table.stream is stream:
            table.stream = None
        if self.waiting:
            self.changed.notify_all()
        return stream

    def _schedule(self):
        """Roll over and trim idle streams too: a periodic job on the engine's scheduler (once one exists)."""
        scheduler = getattr(self.engine, "scheduler", None)
        if self._job is None and scheduler is not None and not scheduler.stopping.is_set():
            self._job = scheduler.every("streams-upkeep", UPKEEP_SECONDS, self.catch_up)

    # -- the write path (caller holds the partition locks and ``self.lock``) --------

    def log_write(self, writes, identity):
        """Log ``writes`` with the stream records they make; returns ``(lsn, pending)``.

        ``pending`` is what :meth:`publish` appends once the rows are applied
        (None when no write made a record).
        """
        engine = self.engine
        durable = engine.durability is not None
        entries = [] if durable else None
        pending = []
        for table, row_key, old_item, new_item, new_packed in writes:
            stream = table.stream
            change = None
            if stream is not None and stream.end is None:
                change = _change(stream, table.rows.get(row_key), old_item, new_item, new_packed)
            if change is None:
                if durable:
                    entries.append([table.name, row_key, new_packed])
                continue
            if durable:
                entries.append([table.name, row_key, new_packed, change[1]])
            pending.append((stream, change[0], new_packed, change[1]))
        if not pending:
            return (engine._log(["W", entries]) if durable else 0), None
        now = engine.clock()
        if len(pending) == 1:
            self._roll_if_due(pending[0][0], now)
        else:
            for stream in {p[0] for p in pending}:
                self._roll_if_due(stream, now)
        lsn = 0
        if durable:
            lsn = engine._log(["W", entries, now] if identity is None else ["W", entries, now, identity])
        return lsn, (lsn, now, identity, pending)

    def publish(self, logged):
        lsn, now, identity, pending = logged
        base = self._number(lsn) * PER_COMMIT
        published = self.published
        for i, (stream, kind, new_packed, image) in enumerate(pending):
            published[stream.table] = published.get(stream.table, 0) + 1
            shard = stream.shards[-1]
            seq = base + i
            shard.seqs.append(seq)
            shard.records.append((seq, lsn, now, kind, new_packed, image, identity))
            shard.last = seq
        if self.waiting:
            self.changed.notify_all()
            self.woke = True

    # -- rollover and trimming ------------------------------------------------------

    def _roll_if_due(self, stream, now):
        shard = stream.shards[-1]
        if stream.end is None and now >= shard.created + self.shard_seconds:
            new_id = self._shard_id(now, shard)
            lsn = self.engine._log([REC_ROLL, stream.arn, new_id, now])
            self.apply_roll(stream, new_id, now, self._number(lsn))

    def apply_roll(self, stream, shard_id, at, n):
        if stream.shard(shard_id) is not None or stream.end is not None:
            return
        parent = stream.shards[-1]
        parent.close()
        stream.shards.append(Shard(shard_id, parent.id, sequence_number(n), at))

    def catch_up(self, now=None):
        """Roll over due shards and trim what retention drops (readers call this first)."""
        now = self.engine.clock() if now is None else now
        with self.lock:
            for stream in list(self.by_arn.values()):
                if stream.end is None:
                    self._roll_if_due(stream, now)
            if self._last_trim is None or not 0 <= now - self._last_trim < 1.0:
                self._last_trim = now
                self.trim(now)

    def trim(self, now):
        """Drop records older than the retention period, and shards and streams left empty by it."""
        horizon = now - self.retention_seconds
        with self.lock:
            for arn, stream in list(self.by_arn.items()):
                if stream.end is not None and stream.disabled_at is not None and stream.disabled_at <= horizon:
                    del self.by_arn[arn]
                    self.version += 1
                    continue
                kept = []
                for shard in stream.shards:
                    records = shard.records
                    cut = 0
                    while cut < len(records) and records[cut][2] <= horizon:
                        cut += 1
                    if cut:
                        shard.trimmed = records[cut - 1][0]
                        self.trimmed[stream.table] = max(self.trimmed.get(stream.table, -1), shard.trimmed)
                        del records[:cut]
                        del shard.seqs[:cut]
                    if shard.end is not None and not records and shard.created <= horizon:
                        continue                    # a closed shard whose every record is gone
                    kept.append(shard)
                if len(kept) != len(stream.shards):
                    stream.shards = kept if kept or stream.end is not None else stream.shards[-1:]

    # -- reading ------------------------------------------------------------------

    def streams_of(self, table_name=None):
        """Retained streams (optionally of one table), sorted by ARN."""
        with self.lock:
            found = [s for s in self.by_arn.values() if table_name is None or s.table == table_name]
        return sorted(found, key=lambda s: s.arn)

    @staticmethod
    def read(shard, after, limit):
        """Up to ``limit`` records of ``shard`` with sequence number > ``after`` (caller holds the lock)."""
        i = bisect.bisect_right(shard.seqs, after)
        return shard.records[i:i + limit]

    def visible(self, records):
        """``records`` cut to those whose write is durable, making the log durable through them first."""
        if not records:
            return records
        newest = max(r[1] for r in records)
        try:
            self.ensure_durable(newest)
        except (OSError, DurabilityError):       # the log cannot be written now: hand out what is durable
            durable = self.durable_lsn()
            cut = 0
            while cut < len(records) and records[cut][1] <= durable:
                cut += 1
            return records[:cut]
        return records

    # -- durable consumers ----------------------------------------------------------

    def acknowledge(self, table_name, consumer, seq):
        """Store a consumer's position (logged); returns the LSN to wait for."""
        with self.lock:
            key = (table_name, consumer)
            if self.consumers.get(key, -1) >= seq:
                return 0
            lsn = self.engine._log([REC_ACK, table_name, consumer, seq])
            self.consumers[key] = seq
            return lsn

    # -- replay and checkpoints -------------------------------------------------------

    def replay_write(self, record, lsn):
        """Rebuild the stream records of a logged write (``["W", entries, at, identity?]``)."""
        at = record[2]
        identity = record[3] if len(record) > 3 else None
        n = self._number(lsn)
        i = 0
        for entry in record[1]:
            if len(entry) < 4:
                continue
            seq = sequence_number(n, i)
            i += 1
            stream = self._stream_at(entry[0], seq)
            if stream is None:
                continue
            shard = stream.shard_for(seq)
            if shard is None or seq <= shard.last:
                continue                              # already in the checkpoint (or trimmed)
            new_packed, image = entry[2], entry[3]
            kind = INSERT if image is None else (REMOVE if new_packed is None else MODIFY)
            shard.append((seq, lsn, at, kind, new_packed, image, identity))

    def _stream_at(self, table_name, seq):
        for stream in self.by_arn.values():
            if stream.table == table_name and stream.start <= seq and (stream.end is None or seq < stream.end):
                return stream
        return None

    def replay_roll(self, record, lsn):
        _kind, arn, shard_id, at = record
        stream = self.by_arn.get(arn)
        n = self._number(lsn)
        if stream is not None:
            self.apply_roll(stream, shard_id, at, n)

    def replay_ack(self, record):
        _kind, table_name, consumer, seq = record
        key = (table_name, consumer)
        if self.consumers.get(key, -1) < seq:
            self.consumers[key] = seq

    def checkpoint_chunks(self, per_chunk=512):
        with self.lock:
            states = [s.state() for s in self.by_arn.values()]
            streams = list(self.by_arn.values())
            consumers = [[t, c, seq] for (t, c), seq in self.consumers.items()]
            trimmed = list(self.trimmed.items())
        yield ["streams", states]
        for stream in streams:
            for shard in stream.shards:
                start = 0
                while True:
                    with self.lock:
                        part = [list(r) for r in shard.records[start:start + per_chunk]]
                    if not part:
                        break
                    yield ["sr", stream.arn, shard.id, part]
                    start += len(part)
                    if len(part) < per_chunk:
                        break
        yield ["consumers", consumers]
        yield ["trimmed", [[t, seq] for t, seq in trimmed]]

    def load_chunk(self, chunk):
        kind = chunk[0]
        if kind == "streams":
            for state in chunk[1]:
                stream = Stream.from_state(state)
                self.by_arn[stream.arn] = stream
                self.version += 1
                if stream.end is None:
                    self.enabled += 1
                    self._schedule()
        elif kind == "sr":
            stream = self.by_arn.get(chunk[1])
            shard = stream.shard(chunk[2]) if stream is not None else None
            if shard is not None:
                for r in chunk[3]:
                    if not shard.seqs or r[0] > shard.seqs[-1]:
                        shard.seqs.append(r[0])
                        shard.records.append(tuple(r))
                        shard.last = max(shard.last, r[0])      # records copied after the shard's state
        elif kind == "consumers":
            for table_name, consumer, seq in chunk[1]:
                self.replay_ack([REC_ACK, table_name, consumer, seq])
        elif kind == "trimmed":
            for table_name, seq in chunk[1]:
                self.trimmed[table_name] = max(self.trimmed.get(table_name, -1), seq)

    def attach(self, tables):
        """After recovery: point each table at its enabled stream."""
        for stream in self.by_arn.values():
            table = tables.get(stream.table)
            if stream.end is None and table is not None and table.meta.get("LatestStreamArn") == stream.arn:
                table.stream = stream

    # -- records as DynamoDB shows them ----------------------------------------------

    def render(self, stream, record):
        """The GetRecords shape of a retained record (native attribute values)."""
        seq, _lsn, at, kind, new_packed, image, identity = record
        new_item = _core.unpack_item(new_packed) if new_packed is not None else None
        old_item = _core.unpack_item(image) if type(image) is bytes else None
        keys = stream.keys_of(new_item if new_item is not None else old_item)
        body = {"ApproximateCreationDateTime": float(int(at)), "Keys": keys}
        size = _core.item_size(keys)
        if stream.view in NEW_VIEWS and new_item is not None:
            body["NewImage"] = new_item
            size += _core.item_size(new_item)
        if stream.keeps_old and old_item is not None:
            body["OldImage"] = old_item
            size += _core.item_size(old_item)
        text = sequence_text(seq)
        body["SequenceNumber"] = text
        body["SizeBytes"] = size
        body["StreamViewType"] = stream.view
        out = {"eventID": f"{stream.event_prefix}{seq:024x}",
               "eventName": EVENT_NAMES[kind], "eventVersion": "1.1", "eventSource": "aws:dynamodb",
               "awsRegion": self.engine.region, "dynamodb": body}
        if identity is not None:
            out["userIdentity"] = dict(SERVICE_IDENTITY)
        return out


def _change(stream, old_packed, old_item, new_item, new_packed):
    """``(kind, image)`` of the record a write makes, or None when it changes nothing."""
    if new_packed is None:
        if old_packed is None:
            return None
        kind = REMOVE
    elif old_packed is None:
        return INSERT, None
    else:
        if old_packed == new_packed:
            return None
        # the same item packed differently (attributes or set elements in another order) has the same
        # bytes in another order: a different length or byte sum is a change without unpacking anything
        if len(old_packed) == len(new_packed) and sum(old_packed) == sum(new_packed):
            old = old_item if old_item is not None else _core.unpack_item(old_packed)
            new = new_item if new_item is not None else _core.unpack_item(new_packed)
            if same_value(old, new):
                return None
        kind = MODIFY
    if stream.keeps_old:
        return kind, old_packed
    if kind == MODIFY:
        return kind, True
    old = old_item if old_item is not None else _core.unpack_item(old_packed)
    return kind, _core.pack_item(stream.keys_of(old))
