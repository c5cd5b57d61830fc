"""In-process stream consumers: ``table.stream()`` and ``db.stream_consumer(table, name=...)``.

DynamoDB's consumers poll GetRecords shard by shard; a process that embeds
kvstore can instead be woken by the commit itself.  Both readers here follow
every stream of one table (the current one, and earlier ones still retained)
as one feed in sequence-number order, across shard rollovers, re-enables and
restarts, and yield records in GetRecords' shape with native values.

Guarantees (docs/streams.md):

* a record is yielded only once its write is durable under the database's
  policy (the reader makes the log durable through it first if need be), so
  a crash never takes back a record a consumer has seen;
* records of one item come in commit order; nothing is skipped; a write that
  changed nothing has no record;
* :class:`StreamConsumer` stores its acknowledged position in the database
  (a logged record), so a restarted process resumes right after the last
  acknowledged record: delivery is at least once (records yielded but not
  acknowledged before a crash are yielded again).
"""

import time

from kvstore.engine.streams import parse_sequence, sequence_text
from kvstore.errors import ResourceNotFoundException, TrimmedDataAccessException, ValidationException

_BATCH = 256
TRIMMED = "The data you are trying to access has been trimmed."


class StreamReader:
    """Records of a table's streams as they commit (an iterator; see the module docstring).

    ``start``: ``"TRIM_HORIZON"`` (every retained record), ``"LATEST"`` (only
    records committed from now on) or a SequenceNumber (that record and the
    ones after it).  ``timeout``: seconds iteration waits for a new record
    before it ends (None: wait until the database closes; 0: never wait).
    """

    def __init__(self, database, table_name, start="TRIM_HORIZON", timeout=None):
        self._engine = database.engine
        self.table_name = table_name
        self.timeout = timeout
        self._buffer = []               # fetched, not yet delivered: (sequence, record), newest first
        self._cached = None
        self._delivered = None
        streams = self._engine.streams
        with streams.lock:
            if start == "TRIM_HORIZON":
                self.position = -1
            elif start == "LATEST":
                self.position = self._newest_number()
            elif isinstance(start, str) and start.isdigit() and 21 <= len(start) <= 40:
                self.position = parse_sequence(start) - 1
                self._strict = True
            else:
                raise ValidationException(f"Invalid start for a stream reader: {start!r} (TRIM_HORIZON, LATEST "
                                          f"or a SequenceNumber)")

    def _newest_number(self):
        """A sequence number at or above every record committed so far, below every later one."""
        durability = self._engine.durability
        if durability is not None:
            return durability.next_lsn * 10 ** 4 - 1
        return self._engine.streams._counter * 10 ** 4 + 10 ** 4 - 1

    def _streams(self):
        """The table's retained streams, oldest first (cached until the set of streams changes)."""
        streams = self._engine.streams
        if self._cached is None or self._cached[0] != streams.version:
            found = sorted((s for s in streams.by_arn.values() if s.table == self.table_name), key=lambda s: s.start)
            self._cached = (streams.version, found)
        return self._cached[1]

    # -- reading --------------------------------------------------------------

    def _take(self, limit):
        """Up to ``limit`` (stream, record) after the position (caller holds the streams lock)."""
        out = []
        cursor = self._cursor
        if self._strict and cursor < self._engine.streams.trimmed.get(self.table_name, -1):
            raise TrimmedDataAccessException(TRIMMED)
        for stream in self._streams():
            if stream.end is not None and stream.end <= cursor:
                continue
            for shard in stream.shards:
                if shard.last <= cursor:
                    continue
                for record in self._engine.streams.read(shard, cursor, limit - len(out)):
                    out.append((stream, record))
                if len(out) >= limit:
                    return out
        return out

    #: True when skipping trimmed records would break a promise (a consumer, an explicit start)
    _strict = False

    def _fetch(self, limit, timeout):
        """Up to ``limit`` new records after the fetch cursor, waiting up to ``timeout`` for the first."""
        engine = self._engine
        streams = engine.streams
        deadline = None if timeout is None else time.monotonic() + timeout
        streams.catch_up()
        with streams.lock:
            while True:
                found = self._take(limit)
                if found or engine.closed:
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                streams.waiting += 1
                try:
                    streams.changed.wait(remaining)
                finally:
                    streams.waiting -= 1
        if not found:
            return []
        visible = streams.visible([r for _s, r in found])
        found = found[:len(visible)]
        if found:
            self._cursor = found[-1][1][0]
        return [(record[0], streams.render(stream, record)) for stream, record in found]

    def read(self, limit=_BATCH, timeout=0):
        """Up to ``limit`` records, waiting up to ``timeout`` seconds (None: forever) for the first one."""
        if not self._buffer:
            self._buffer = self._fetch(max(limit, _BATCH), timeout)
            self._buffer.reverse()
        out = []
        while self._buffer and len(out) < limit:
            seq, record = self._buffer.pop()
            self._position = seq
            self._delivered = record
            out.append(record)
        return out

    def __iter__(self):
        return self

    def __next__(self):
        found = self.read(1, self.timeout)
        if not found:
            raise StopIteration
        return found[0]

    @property
    def position(self):
        return self._position

    @position.setter
    def position(self, value):
        """Sequence number (engine form) of the last record delivered; fetching resumes after it."""
        self._position = value
        self._cursor = value
        self._buffer = []

    @property
    def sequence_number(self):
        """SequenceNumber of the last record read (None before any)."""
        return None if self.position < 0 else sequence_text(self.position)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


class StreamConsumer(StreamReader):
    """A named, durable reader of one table's streams (``db.stream_consumer(table, name=...)``).

    It starts after the position it last acknowledged (``start`` applies only
    the first time a name is used) and :meth:`ack` stores a new position in
    the database.  Iterating hands out records one by one; records buffered
    but not yet yielded are not acknowledged by ``ack()``.  If retention has
    trimmed records after the stored position, reading raises
    TrimmedDataAccessException rather than skip them.
    """

    def __init__(self, database, table_name, name, start="TRIM_HORIZON", timeout=None):
        if not isinstance(name, str) or not name:
            raise ValidationException("A stream consumer needs a non-empty name")
        if table_name not in database.engine.tables and not any(
                s.table == table_name for s in database.engine.streams.by_arn.values()):
            raise ResourceNotFoundException(f"Requested resource not found: Table: {table_name} not found")
        super().__init__(database, table_name, start, timeout)
        self.name = name
        stored = database.engine.streams.consumers.get((table_name, name))
        if stored is not None:
            self.position = stored
            self._strict = True
        self.acknowledged = stored

    def ack(self, record=None):
        """Acknowledge everything up to ``record`` (default: the last record yielded); durable on return."""
        if record is None:
            record = self._delivered
            if record is None:
                return
        seq = parse_sequence(record["dynamodb"]["SequenceNumber"])
        engine = self._engine
        engine.wait_durable(engine.streams.acknowledge(self.table_name, self.name, seq))
        self.acknowledged = seq
        self._strict = True
