"""``kvstore check`` and ``kvstore repair``."""

import io
import json
import os

from kvstore.engine import tools, wal
from kvstore.engine.durability import Durability


def make_db(path, payloads=(b"one", b"two", b"three"), checkpoint=False):
    d = Durability(path, "sync")
    d.recover()
    d.start()
    for p in payloads:
        d.wait_durable(d.append(p))
    if checkpoint:
        d.checkpoint(lambda: iter([{"catalog": 1}]))
    d.close()
    return path / wal.segment_name(1)


def run(main, path, *extra):
    out = io.StringIO()
    code = main([str(path), *extra], out=out)
    return code, out.getvalue()


def test_check_clean_database(tmp_path):
    make_db(tmp_path, checkpoint=True)
    code, text = run(tools.check_main, tmp_path)
    assert code == 0
    assert "checkpoint checkpoint-00000000000000000004.ckpt" in text
    assert "segment    wal-00000000000000000001.log  LSN 1..3  3 records" in text
    assert "result     ok" in text


def test_check_reports_a_torn_tail_as_a_warning(tmp_path):
    seg = make_db(tmp_path)
    with open(seg, "ab") as f:
        f.write(wal.encode_record(4, b"x" * 200)[:100])          # a write cut short
    code, text = run(tools.check_main, tmp_path)
    assert code == 0
    assert "torn tail: 100 bytes" in text and "truncated payload" in text
    assert seg.stat().st_size > 100          # check changes nothing


def test_check_reports_the_zeros_after_an_unflagged_segment_as_a_torn_tail(tmp_path):
    seg = make_db(tmp_path)
    data = bytearray(seg.read_bytes())
    data[:wal.HEADER_SIZE] = wal.encode_segment_header(1, flags=0)     # a segment written before preallocation
    seg.write_bytes(bytes(data) + b"\0" * 100)
    code, text = run(tools.check_main, tmp_path)
    assert code == 0
    assert "torn tail: 100 bytes" in text and "zero-filled tail" in text


def test_check_and_repair_corruption_in_the_middle(tmp_path):
    seg = make_db(tmp_path)
    data = bytearray(seg.read_bytes())
    data[wal.HEADER_SIZE + wal.RECORD_HEADER_SIZE] ^= 0xFF      # payload of record 1
    seg.write_bytes(bytes(data))
    code, text = run(tools.check_main, tmp_path, "--json")
    report = json.loads(text)
    assert code == 1 and not report["ok"] and report["repairable"]
    assert "offset 24: checksum mismatch" in report["problems"][0]

    code, text = run(tools.repair_main, tmp_path)
    assert code == 0
    assert f"dropped {len(data) - wal.HEADER_SIZE} bytes of {seg} from offset 24" in text
    assert os.listdir(tmp_path / "lost") == [seg.name + ".24"]
    code, text = run(tools.check_main, tmp_path)
    assert code == 0 and "result     ok" in text

    code, text = run(tools.repair_main, tmp_path)
    assert code == 0 and "nothing to repair" in text


def test_check_on_an_open_database_says_it_is_locked(tmp_path, capsys):
    d = Durability(tmp_path, "sync")
    d.recover()
    try:
        code, _ = run(tools.check_main, tmp_path)
    finally:
        d.close()
    assert code == 1 and "is locked" in capsys.readouterr().err


def test_cli_routes_check_and_repair(tmp_path, capsys):
    from kvstore.cli import main
    make_db(tmp_path)
    assert main(["check", str(tmp_path)]) == 0
    assert main(["repair", str(tmp_path)]) == 0
    assert "nothing to repair" in capsys.readouterr().out
