"""The write-ahead log's core entry points: ``write_record`` and ``frame_record`` of
``kvstore._ccore`` give the bytes their twins give (``kvstore._pycore.write_record``,
``msgpack.packb`` of docs/format.md's write record, and ``kvstore.engine.wal.encode_record``,
the spec's framing), and what they frame reads back through the log reader.
"""


import msgpack
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kvstore.engine import wal

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
