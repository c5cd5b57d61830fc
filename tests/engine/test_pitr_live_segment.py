"""A point-in-time restore reads the segment being written only as far as its batches are written.

Log space is allocated ahead and written in place (docs/format.md, PREALLOCATED), so a reader racing
a write can see a later page of it before an earlier one: zeros, then records.  Read to the end of
the file, that looks like corruption in the middle; the restore stops at the writer's written end.
"""

import os

import kvstore
from kvstore.engine import wal


def test_a_restore_ignores_a_half_copied_write_past_the_written_end(tmp_path):
    path = str(tmp_path / "db")
    with kvstore.open(path, durability="sync") as db:
        db.create_table(TableName="things", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
        db.meta.client.update_continuous_backups(
            TableName="things", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        for i in range(5):
            db.Table("things").put_item(Item={"pk": f"k{i}"})
        live, _first, written = db.engine.durability.written_end()
        assert os.path.getsize(live) > written                         # allocated space after the records
        next_lsn = db.engine.durability.durable_lsn + 1
        with open(live, "r+b") as f:                                    # a write's later page, its first not yet
            f.seek(written + 64)
            f.write(wal.encode_record(next_lsn + 1, b"half copied"))
        scan = wal.scan_segment(open(live, "rb").read(), live)
        assert scan.damage is not None and scan.damage.kind == "corrupt"   # what a whole-file read would say
        db.meta.client.restore_table_to_point_in_time(SourceTableName="things", TargetTableName="copy",
                                                      UseLatestRestorableTime=True)
        assert sorted(i["pk"] for i in db.Table("copy").scan()["Items"]) == [f"k{i}" for i in range(5)]
