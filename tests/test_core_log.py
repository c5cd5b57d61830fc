"""The write-ahead log's core entry points: ``write_record`` and ``frame_record`` of
``kvstore._ccore`` give the bytes their twins give (``kvstore._pycore.write_record``,
``msgpack.packb`` of docs/format.md's write record, and ``kvstore.engine.wal.encode_record``,
the spec's framing), and what they frame reads back through the log reader; ``append_record``
(``Durability.append``) leaves a log as its reference does; ``commit_usual`` / ``wait_usual``
commit as ``Database.commit`` / ``wait_durable`` do.
"""


from decimal import Decimal

import msgpack
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import kvstore
from kvstore.clock import ManualClock
from kvstore.engine import wal
from kvstore.engine.durability import Durability
from kvstore.engine.errors import DurabilityError

from tests.cores import ccore, needs_ccore, pycore


class _Table:
    def __init__(self, name):
        self.name = name


writes = st.lists(st.tuples(st.text(min_size=1, max_size=300).map(_Table), st.binary(max_size=1100), st.none(),
                            st.none(), st.none() | st.binary(max_size=70_000)), max_size=4)


@needs_ccore
@settings(deadline=None, max_examples=300)
@given(writes)
def test_write_record_is_the_spec_record(ws):
    expected = msgpack.packb(["W", [[w[0].name, w[1], w[4]] for w in ws]], use_bin_type=True)
    assert pycore.write_record(ws) == expected
    assert ccore.write_record(ws) == expected


def test_write_record_packs_a_non_ascii_table_name_as_utf8():
    ws = [(_Table("tàble"), b"k", None, None, b"v")]
    assert (ccore or pycore).write_record(ws) == msgpack.packb(["W", [["tàble", b"k", b"v"]]], use_bin_type=True)


@needs_ccore
@settings(deadline=None, max_examples=300)
@given(st.integers(0, 2 ** 64 - 1), st.binary(max_size=5000), st.sampled_from([wal.BEGIN, wal.CONT]))
@example(1, b"", wal.BEGIN)
@example(2 ** 64 - 1, b"x" * 512, wal.CONT)          # the longest payload the core checksums itself
@example(7, b"x" * 513, wal.CONT)                    # the shortest it hands to zlib
def test_frame_record_is_the_spec_frame(lsn, payload, rtype):
    framed = ccore.frame_record(lsn, payload, rtype)
    assert framed == wal.encode_record(lsn, payload, rtype) == pycore.frame_record(lsn, payload, rtype)
    assert wal.check_record(framed, memoryview(framed), 0, len(framed), lsn) == (len(payload), lsn)


@needs_ccore
@pytest.mark.parametrize("args", [(-1, b"x", 1), (2 ** 64, b"x", 1), (1, b"x", 256), (1, bytearray(b"x"), 1)])
def test_frame_record_hands_what_it_does_not_frame_to_the_spec(args):
    try:
        expected = wal.encode_record(*args)
    except Exception as e:     # noqa: BLE001 - the same error, whatever the spec raises
        with pytest.raises(type(e)):
            ccore.frame_record(*args)
    else:
        assert ccore.frame_record(*args) == expected


# ------------------------------------------------------------------ the append (Durability.append)

def _running_log(directory, staging_bytes):
    log = Durability(directory, "batch", batch_interval=3600.0, staging_bytes=staging_bytes)   # the flusher asleep
    log.recover()
    log.start()
    return log


def _log_state(log):
    staging = log._staging
    return (log._next_lsn, list(log._buf), log._buf_bytes, log._buf_first, log._unstaged,
            staging._region, staging._offset, staging._full, list(staging._last), bytes(staging._buffer))


@needs_ccore
@settings(deadline=None, max_examples=60)
@given(st.lists(st.binary(max_size=3000), min_size=1, max_size=12), st.sampled_from([4096, 8192, 65536]))
@example([b"x" * 3000] * 3, 4096)           # the second does not fit its region: not staged, remembered
def test_append_record_leaves_the_log_as_the_reference_does(tmp_path_factory, payloads, staging_bytes):
    """Two logs, one appended to by the compiled ``append_record`` and one by the reference: the same
    LSNs, buffer, staging bytes and fields; and what was appended reads back after a close."""
    logs = [_running_log(tmp_path_factory.mktemp("log"), staging_bytes) for _ in range(2)]
    try:
        for payload in payloads:
            assert ccore.append_record(logs[0], payload) == pycore.append_record(logs[1], payload)
            assert _log_state(logs[0]) == _log_state(logs[1])
    finally:
        for log in logs:
            log.close()
    again = Durability(logs[0].directory, "batch")
    try:
        assert list(again.recover().log_payloads()) == payloads
    finally:
        again.close()


@needs_ccore
@pytest.mark.parametrize("break_log", [
    pytest.param(lambda log: setattr(log, "_failure", OSError(28, "No space left on device")), id="failed"),
    pytest.param(lambda log: log.close(), id="closed"),
])
def test_append_record_refuses_as_the_reference_does(tmp_path, break_log):
    messages = []
    for core, name in ((ccore, "c"), (pycore, "py")):
        log = _running_log(tmp_path / name, 65536)
        break_log(log)
        with pytest.raises(DurabilityError) as refused:
            core.append_record(log, b"payload")
        messages.append(str(refused.value).replace(str(tmp_path / name), "DIR"))
        assert log._buf == [] and log._next_lsn == 1
        log._failure = None
        log.close()
    assert messages[0] == messages[1]


@needs_ccore
@pytest.mark.parametrize("payload", [bytearray(b"not bytes"), memoryview(b"nor this")])
def test_append_record_hands_a_payload_that_is_not_bytes_to_the_reference(tmp_path, payload):
    logs = [_running_log(tmp_path / name, 65536) for name in ("c", "py")]
    try:
        assert ccore.append_record(logs[0], payload) == pycore.append_record(logs[1], payload) == 1
        assert _log_state(logs[0]) == _log_state(logs[1])
    finally:
        for log in logs:
            log.close()


# ------------------------------------------------------------------ commit and wait (Database.commit / wait_durable)

@needs_ccore
@pytest.mark.parametrize("setting", ["plain", "listener", "stream", "point in time", "in memory"])
def test_commit_usual_commits_as_the_method_does(tmp_path, setting):
    """``commit_usual`` and ``wait_usual`` (the compiled operations' commit) against
    ``Database.commit`` / ``wait_durable``: the same log records, the same rows, the same listener
    calls and stream records, whether it takes the usual case or hands the call to the method."""

    def run(core, directory):
        db = kvstore.open(":memory:" if setting == "in memory" else str(directory), clock=ManualClock(1.8e9))
        db.create_table(TableName="log", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST",
                        **({"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}}
                           if setting == "stream" else {}))
        if setting == "point in time":
            db.meta.client.update_continuous_backups(
                TableName="log", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        heard = []
        if setting == "listener":
            db.engine.listeners.append(lambda writes, identity: heard.append([w[1] for w in writes]))
        table = db.engine.tables["log"]
        lsns = []
        for n in range(3):
            row_key = pycore.storage_key(f"k{n}")
            item = {"pk": f"k{n}", "n": Decimal(n)}
            with table.lock_for(row_key):
                lsn = core.commit_usual(db.engine, [(table, row_key, None, item, pycore.pack_item(item))])
            core.wait_usual(db.engine, lsn)
            lsns.append(lsn)
        rows = dict(table.rows)
        records = None
        if setting == "stream":
            records = [r["dynamodb"]["NewImage"] for r in _stream_records(db)]
        db.close()
        payloads = None
        if setting != "in memory":
            log = Durability(str(directory), "batch")
            payloads = [msgpack.unpackb(p, raw=False) for p in log.recover().log_payloads()]
            log.close()
        return lsns, rows, heard, records, [p for p in payloads or () if p[0] == "W"]

    assert run(ccore, tmp_path / "c") == run(pycore, tmp_path / "py")


def _stream_records(db):
    client = db.client("dynamodbstreams")
    arn = db.meta.client.describe_table(TableName="log")["Table"]["LatestStreamArn"]
    shard = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = client.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return client.get_records(ShardIterator=iterator["ShardIterator"])["Records"]


# ------------------------------------------------------------------ the commit's record, framed in one buffer
# ``commit_usual`` writes the record of a commit's writes after room for its frame's header and fills
# the header under the log's lock, when ``Durability.append`` is the core's own ``append_record``.

def _commit_each(core, directory, batches):
    db = kvstore.open(str(directory), clock=ManualClock(1.8e9))
    for name in ("tab", "table-" + "x" * 200):
        db.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    lsns = []
    for batch in batches:
        writes = []
        for table_name, key, size in batch:
            table = db.engine.tables[table_name]
            row_key = pycore.storage_key(key)
            item = None if size is None else {"pk": key, "v": "y" * size}
            old = table.rows.get(row_key)
            writes.append((table, row_key, None if old is None else pycore.unpack_item(old), item,
                           None if item is None else pycore.pack_item(item)))
        if len({(w[0].name, w[1]) for w in writes}) != len(writes):
            continue
        locks = sorted({(w[0].name, w[0].partition_of(w[1])) for w in writes})
        for name, partition in locks:
            db.engine.tables[name].locks[partition].acquire()
        try:
            lsn = core.commit_usual(db.engine, writes)
        finally:
            for name, partition in locks:
                db.engine.tables[name].locks[partition].release()
        core.wait_usual(db.engine, lsn)
        lsns.append(lsn)
    rows = {name: dict(table.rows) for name, table in db.engine.tables.items()}
    db.close()
    log = Durability(str(directory), "batch")
    payloads = [p for p in log.recover().log_payloads()]
    log.close()
    return lsns, rows, [p for p in payloads if msgpack.unpackb(p, raw=False)[0] == "W"]


@needs_ccore
@settings(deadline=None, max_examples=40)
@given(st.lists(st.lists(st.tuples(st.sampled_from(["tab", "table-" + "x" * 200]), st.sampled_from(["a", "b", "é", "c"]),
                                   st.none() | st.sampled_from([0, 10, 400, 600, 2000])),
                         min_size=1, max_size=20), min_size=1, max_size=5))
@example([[("tab", "a", 0)], [("tab", "a", None)], [("tab", "b", 600), ("table-" + "x" * 200, "b", 2000)]])
@example([[("tab", str(n), 10) for n in range(20)]])        # an array header of 16 bits
def test_commit_usual_frames_the_record_the_reference_writes(tmp_path_factory, batches):
    assert (_commit_each(ccore, tmp_path_factory.mktemp("c"), batches)
            == _commit_each(pycore, tmp_path_factory.mktemp("py"), batches))


@needs_ccore
@pytest.mark.parametrize("how", ["subclass", "instance"])
def test_commit_usual_calls_an_append_that_is_not_the_cores(tmp_path, how):
    """A log whose ``append`` is another (a subclass's method, an instance attribute) gets the record
    through it, as ``Database.commit`` would call it."""
    db = kvstore.open(str(tmp_path), clock=ManualClock(1.8e9))
    db.create_table(TableName="tab", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST")
    durability = db.engine.durability
    seen = []
    if how == "subclass":
        class Watched(Durability):
            def append(self, payload):
                seen.append(payload)
                return Durability.append(self, payload)
        durability.__class__ = Watched
    else:
        def append(payload):
            seen.append(payload)
            return Durability.append(durability, payload)
        durability.append = append
    table = db.engine.tables["tab"]
    row_key = pycore.storage_key("k")
    item = {"pk": "k"}
    with table.lock_for(row_key):
        lsn = ccore.commit_usual(db.engine, [(table, row_key, None, item, pycore.pack_item(item))])
    assert seen == [pycore.write_record([(table, row_key, None, item, pycore.pack_item(item))])]
    assert lsn == durability._next_lsn - 1
    if how == "subclass":
        durability.__class__ = Durability
    else:
        del durability.append
    db.close()
