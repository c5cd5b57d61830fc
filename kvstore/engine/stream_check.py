"""``kvstore check`` for streams: rebuild them from the checkpoint and the log, and verify them.

The same replay as recovery (``Streams.load_chunk``, ``replay_write``,
``apply_event``, ``replay_roll``, ``replay_ack``) runs over a directory's
files without opening the database, and then every invariant a reader
relies on is checked: each logged stream record belongs to a stream of its
table; within a shard sequence numbers strictly increase and stay inside the
shard's range; shards of a stream start in increasing order and each child
names the shard before it as its parent; a closed shard ends at or after
its start; a consumer's acknowledged position is not beyond the newest
record of its table.  O(records) time and memory of the retained records.
"""

import msgpack

from kvstore.engine.streams import REC_ACK, REC_ROLL, Streams


class _Replayer:
    """The engine attributes ``Streams`` reads during replay."""

    def __init__(self):
        self.durability = True            # sequence numbers come from LSNs, as in a directory database
        self.scheduler = None

    @staticmethod
    def clock():
        return 0.0


def verify(snapshot_chunks, log_records):
    """``(summary, problems)`` of the streams held by a checkpoint's chunks and the log records after it."""
    streams = Streams(_Replayer())
    problems = []
    metas = {}
    for chunk in snapshot_chunks:
        if chunk[0] == "catalog":
            metas.update((m["TableName"], m) for m in chunk[1])
        elif chunk[0] in ("streams", "sr", "consumers", "trimmed"):
            streams.load_chunk(chunk)
    for lsn, payload in log_records:
        record = msgpack.unpackb(payload, raw=False)
        kind = record[0]
        if kind == "W" and len(record) > 2:
            recorded = sum(1 for e in record[1] if len(e) > 3)
            before = _count(streams)
            streams.replay_write(record, lsn)
            missing = recorded - (_count(streams) - before)
            if missing and not _already_there(streams, record, lsn):
                problems.append(f"LSN {lsn}: {missing} stream record(s) of a write belong to no retained stream")
        elif kind in ("C", "U"):
            metas[record[1]["TableName"]] = record[1]
            if len(record) > 2:
                streams.apply_event(record[2], lsn, record[1])
        elif kind == "D":
            meta = metas.pop(record[1], None)
            if len(record) > 2:
                streams.apply_event(record[2], lsn, meta)
        elif kind == REC_ROLL:
            if record[1] not in streams.by_arn:
                problems.append(f"LSN {lsn}: a shard rollover of unknown stream {record[1]}")
            streams.replay_roll(record, lsn)
        elif kind == REC_ACK:
            streams.replay_ack(record)
    problems += _invariants(streams)
    summary = {"streams": len(streams.by_arn),
               "enabled": sum(1 for s in streams.by_arn.values() if s.end is None),
               "shards": sum(len(s.shards) for s in streams.by_arn.values()),
               "records": _count(streams), "consumers": len(streams.consumers)}
    return summary, problems


def _count(streams):
    return sum(len(shard.records) for s in streams.by_arn.values() for shard in s.shards)


def _already_there(streams, record, lsn):
    """A write replayed over a checkpoint that already holds its records (a fuzzy checkpoint) is fine."""
    n = 0
    for entry in record[1]:
        if len(entry) < 4:
            continue
        seq = lsn * 10 ** 4 + n
        n += 1
        stream = streams._stream_at(entry[0], seq)
        if stream is None or stream.shard_for(seq) is None:
            return False
    return True


def _invariants(streams):
    problems = []
    newest = {}
    for stream in streams.by_arn.values():
        previous = None
        for shard in stream.shards:
            where = f"stream {stream.arn} shard {shard.id}"
            if previous is not None:
                if shard.start <= previous.start:
                    problems.append(f"{where}: starts at or before the shard before it")
                if shard.parent != previous.id and shard.parent is not None:
                    problems.append(f"{where}: its parent {shard.parent} is not the shard before it")
            if shard.seqs != sorted(set(shard.seqs)):
                problems.append(f"{where}: sequence numbers do not strictly increase")
            if shard.seqs and (shard.seqs[0] < shard.start or (shard.end is not None and shard.seqs[-1] > shard.end)):
                problems.append(f"{where}: a record lies outside the shard's range")
            if shard.end is not None and shard.end < shard.start:
                problems.append(f"{where}: ends before it starts")
            if [r[0] for r in shard.records] != shard.seqs:
                problems.append(f"{where}: records and their sequence numbers disagree")
            if shard.seqs:
                newest[stream.table] = max(newest.get(stream.table, -1), shard.seqs[-1])
            previous = shard
    for (table, consumer), seq in streams.consumers.items():
        if seq > newest.get(table, seq) and table in newest:
            problems.append(f"consumer {consumer!r} of {table}: acknowledged {seq}, past the newest record")
    return problems
