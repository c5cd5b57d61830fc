"""Export and import in DynamoDB's export format (DYNAMODB_JSON), from Python and the command line.

DynamoDB's export to S3 writes ``AWSDynamoDB/<ExportId>/`` with
``manifest-summary.json``, ``manifest-files.json`` (JSON lines naming each data
file with its item count and MD5) and ``data/*.json.gz`` files of lines
``{"Item": {<attr>: {"S": ...}}}``; its import from S3 reads such lines, gzip
or not, validates each item as a write would, imports the good ones and
counts the bad ones (ProcessedItemCount, ImportedItemCount, ErrorCount).
"""

import base64
import gzip
import hashlib
import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

import kvstore
from kvstore import cli, transfer
from kvstore.errors import ResourceNotFoundException, TableNotFoundException
from kvstore.types import Binary

KEYS = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"}],
        "BillingMode": "PAY_PER_REQUEST"}

#: one line per DynamoDB type, written by hand in the export format
EVERY_TYPE_LINE = json.dumps({"Item": {
    "pk": {"S": "every"}, "sk": {"N": "1"},
    "s": {"S": "héllo ☃"}, "n": {"N": "-12.50"}, "big": {"N": "1E+125"}, "b": {"B": "AAEC/w=="},
    "t": {"BOOL": True}, "f": {"BOOL": False}, "z": {"NULL": True},
    "m": {"M": {"inner": {"L": [{"N": "1"}, {"S": "x"}, {"M": {}}]}}}, "l": {"L": []},
    "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": ["AA==", "AQ=="]},
}})
EVERY_TYPE_ITEM = {
    "pk": "every", "sk": Decimal(1), "s": "héllo ☃", "n": Decimal("-12.5"), "big": Decimal("1E+125"),
    "b": Binary(b"\x00\x01\x02\xff"), "t": True, "f": False, "z": None,
    "m": {"inner": [Decimal(1), "x", {}]}, "l": [], "ss": {"a", "b"}, "ns": {Decimal(1), Decimal("2.5")},
    "bs": {Binary(b"\x00"), Binary(b"\x01")},
}


@pytest.fixture
def db():
    with kvstore.open(":memory:") as database:
        yield database


def make_table(db, name="source", **extra):
    return db.create_table(TableName=name, **KEYS, **extra)


def all_items(table):
    items, start = [], None
    while True:
        page = table.scan(**({"ExclusiveStartKey": start} if start else {}))
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if start is None:
            return sorted(items, key=lambda i: (i["pk"], i["sk"]))


def fill(table, n=300):
    with table.batch_writer() as batch:
        for i in range(n):
            batch.put_item(Item={"pk": f"p{i % 13}", "sk": i, "s": f"v{i}", "n": Decimal(i) / 8,
                                 "b": Binary(bytes([i % 256])), "ok": i % 2 == 0, "nothing": None,
                                 "m": {"deep": [i, {"x": "y"}]}, "ss": {"a", f"s{i}"}, "ns": {1, i + 2},
                                 "bs": {Binary(b"a"), Binary(bytes([i % 256, 1]))}})


def write_lines(path, lines, compress=False):
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    if compress:
        data = gzip.compress(data)
    with open(path, "wb") as f:
        f.write(data)
    return str(path)


# -- round trip --------------------------------------------------------------------------------------


def test_export_then_import_gives_an_equal_table(db, tmp_path):
    """Every item comes back equal, in a table created from the export with the same schema and indexes."""
    source = db.create_table(TableName="source", KeySchema=KEYS["KeySchema"], BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=KEYS["AttributeDefinitions"] + [
                                 {"AttributeName": "s", "AttributeType": "S"}],
                             GlobalSecondaryIndexes=[{"IndexName": "by_s", "KeySchema": [
                                 {"AttributeName": "s", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    fill(source)
    exported = transfer.export_table(db, "source", tmp_path)
    assert exported["ExportStatus"] == "COMPLETED"
    assert exported["ItemCount"] == 300
    imported = transfer.import_table(db, "copy", tmp_path, create_from_export=True)
    assert (imported["ProcessedItemCount"], imported["ImportedItemCount"], imported["ErrorCount"]) == (300, 300, 0)
    assert imported["ImportStatus"] == "COMPLETED"
    assert imported["InputFormat"] == "DYNAMODB_JSON"
    assert imported["InputCompressionType"] == "GZIP"
    assert imported["Errors"] == []
    copy = db.Table("copy")
    assert all_items(copy) == all_items(source)
    assert copy.key_schema == source.key_schema
    assert [g["IndexName"] for g in copy.global_secondary_indexes] == ["by_s"]
    assert copy.global_secondary_indexes[0]["ItemCount"] == 300


def test_uncompressed_export_round_trips(db, tmp_path):
    source = make_table(db)
    fill(source, 50)
    transfer.export_table(db, "source", tmp_path, compress=False)
    (export_dir,) = [os.path.join(tmp_path, "AWSDynamoDB", d) for d in os.listdir(tmp_path / "AWSDynamoDB")]
    assert all(name.endswith(".json") for name in os.listdir(os.path.join(export_dir, "data")))
    result = transfer.import_table(db, "copy", export_dir, create=KEYS)
    assert result["InputCompressionType"] == "NONE"
    assert all_items(db.Table("copy")) == all_items(source)


def test_import_into_an_existing_table_adds_and_replaces(db, tmp_path):
    source = make_table(db)
    fill(source, 20)
    transfer.export_table(db, "source", tmp_path)
    target = make_table(db, "target")
    target.put_item(Item={"pk": "p0", "sk": 0, "old": True})           # replaced by the import
    target.put_item(Item={"pk": "zz", "sk": 1})                       # kept
    transfer.import_table(db, "target", tmp_path)
    items = all_items(target)
    assert len(items) == 21
    assert {"pk": "zz", "sk": 1} in items
    assert "old" not in next(i for i in items if i["pk"] == "p0" and i["sk"] == 0)


# -- the export format ------------------------------------------------------------------------------


def test_export_layout_and_manifests(db, tmp_path):
    """AWSDynamoDB/<id>/ holds _started, both manifests with their checksums, and one data file per partition."""
    source = make_table(db)
    fill(source, 100)
    result = transfer.export_table(db, "source", tmp_path)
    export_dir = result["ExportDirectory"]
    export_id = os.path.basename(export_dir)
    assert os.path.dirname(export_dir) == os.path.join(tmp_path, "AWSDynamoDB")
    names = set(os.listdir(export_dir))
    assert {"_started", "data", "manifest-summary.json", "manifest-summary.checksum", "manifest-files.json",
            "manifest-files.checksum"} <= names

    summary_bytes = Path(export_dir, "manifest-summary.json").read_bytes()
    assert Path(export_dir, "manifest-summary.checksum").read_text() == hashlib.md5(summary_bytes).hexdigest()
    summary = json.loads(summary_bytes)
    assert summary["version"] == "2020-06-30"
    assert summary["exportArn"] == result["ExportArn"] == f"{source.table_arn}/export/{export_id}"
    assert summary["tableArn"] == source.table_arn
    assert summary["tableId"] == source.table_id
    assert summary["itemCount"] == 100
    assert summary["outputFormat"] == "DYNAMODB_JSON"
    assert summary["manifestFilesS3Key"] == f"AWSDynamoDB/{export_id}/manifest-files.json"
    for member in ("startTime", "endTime", "exportTime"):
        assert summary[member].endswith("Z") and "T" in summary[member]

    files_bytes = Path(export_dir, "manifest-files.json").read_bytes()
    assert Path(export_dir, "manifest-files.checksum").read_text() == hashlib.md5(files_bytes).hexdigest()
    entries = [json.loads(line) for line in files_bytes.decode().splitlines()]
    assert len(entries) == len(db.engine.tables["source"].partitions)
    assert sum(e["itemCount"] for e in entries) == 100
    lines = 0
    for entry in entries:
        assert entry["dataFileS3Key"].startswith(f"AWSDynamoDB/{export_id}/data/")
        assert entry["dataFileS3Key"].endswith(".json.gz")
        data = Path(tmp_path, entry["dataFileS3Key"]).read_bytes()
        assert base64.b64decode(entry["md5Checksum"]) == hashlib.md5(data).digest()
        assert entry["etag"] == hashlib.md5(data).hexdigest()
        text = gzip.decompress(data).decode("utf-8")
        assert len(text.splitlines()) == entry["itemCount"]
        for line in text.splitlines():
            doc = json.loads(line)
            assert list(doc) == ["Item"]
            assert doc["Item"]["pk"].keys() == {"S"} and doc["Item"]["sk"].keys() == {"N"}
            lines += 1
    assert lines == 100


def test_export_of_a_missing_table_is_table_not_found(db, tmp_path):
    with pytest.raises(TableNotFoundException, match="Table not found: nope"):
        transfer.export_table(db, "nope", tmp_path)


# -- importing DynamoDB's format ---------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_hand_written_file_with_every_attribute_type_imports(db, tmp_path, compress):
    """A data file written by hand in DynamoDB's format, gzip or plain, with every type (S N B BOOL NULL M L SS NS BS)."""
    path = write_lines(tmp_path / ("items.json.gz" if compress else "items.json"), [EVERY_TYPE_LINE], compress)
    result = transfer.import_table(db, "typed", path, create=KEYS)
    assert result["ImportedItemCount"] == 1
    assert result["InputCompressionType"] == ("GZIP" if compress else "NONE")
    assert db.Table("typed").get_item(Key={"pk": "every", "sk": 1})["Item"] == EVERY_TYPE_ITEM


def test_bad_lines_are_counted_and_reported_and_good_ones_imported(db, tmp_path):
    """Each failing line is an error with its file, line number, DynamoDB error code and message."""
    lines = [
        json.dumps({"Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}}),        # 1 good
        "{not json",                                                         # 2
        json.dumps({"pk": {"S": "a"}, "sk": {"N": "2"}}),                  # 3 no Item wrapper
        json.dumps({"Item": {"pk": {"S": "a"}, "sk": {"N": 3}}}),          # 4 number as a JSON number
        json.dumps({"Item": {"pk": {"S": "a"}}}),                           # 5 key attribute missing
        json.dumps({"Item": {"pk": {"N": "1"}, "sk": {"N": "5"}}}),        # 6 key of the wrong type
        json.dumps({"Item": {"pk": {"S": "a"}, "sk": {"N": "6"}, "x": {"SS": []}}}),    # 7 empty set
        json.dumps({"Item": {"pk": {"S": "a"}, "sk": {"N": "7"}, "x": {"Q": "?"}}}),    # 8 unknown type
        json.dumps({"Item": {"pk": {"S": "a"}, "sk": {"N": "8"}, "big": {"S": "x" * 410000}}}),  # 9 too big
        "",                                                                  # blank: skipped, not counted
        json.dumps({"Item": {"pk": {"S": "b"}, "sk": {"N": "10"}, "v": {"BOOL": True}}}),         # 11 good
    ]
    path = write_lines(tmp_path / "mixed.json", lines)
    result = transfer.import_table(db, "target", path, create=KEYS)
    assert result["ProcessedItemCount"] == 10
    assert result["ImportedItemCount"] == 2
    assert result["ErrorCount"] == 8
    by_line = {e["Line"]: e for e in result["Errors"]}
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert all(e["File"] == path for e in result["Errors"])
    assert by_line[2]["Code"] == "SerializationException"
    assert by_line[4] == {"File": path, "Line": 4, "Code": "SerializationException",
                          "Message": "NUMBER_VALUE cannot be converted to String"}
    assert by_line[5]["Code"] == "ValidationException"
    assert by_line[5]["Message"] == "The provided key element does not match the schema"
    assert by_line[6]["Message"] == "The provided key element does not match the schema"
    assert by_line[9]["Message"] == "Item size has exceeded the maximum allowed size"
    assert [(i["pk"], i["sk"]) for i in all_items(db.Table("target"))] == [("a", 1), ("b", 10)]
    assert result["ProcessedSizeBytes"] > 410000


def test_duplicate_keys_in_a_file_last_one_wins(db, tmp_path):
    lines = [json.dumps({"Item": {"pk": {"S": "k"}, "sk": {"N": "1"}, "v": {"N": str(i)}}}) for i in range(3)]
    path = write_lines(tmp_path / "dups.json", lines)
    result = transfer.import_table(db, "target", path, create=KEYS)
    assert (result["ImportedItemCount"], result["ErrorCount"]) == (3, 0)
    assert db.Table("target").get_item(Key={"pk": "k", "sk": 1})["Item"]["v"] == 2


def test_folder_of_data_files_imports_every_file(db, tmp_path):
    folder = tmp_path / "in"
    os.makedirs(folder / "sub")
    write_lines(folder / "a.json", [json.dumps({"Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}})])
    write_lines(folder / "sub" / "b.json.gz", [json.dumps({"Item": {"pk": {"S": "b"}, "sk": {"N": "2"}}})], True)
    result = transfer.import_table(db, "target", folder, create=KEYS)
    assert result["ImportedItemCount"] == 2


def test_a_damaged_export_imports_nothing(db, tmp_path):
    """A data file that no longer matches its MD5 in manifest-files.json stops the import before any write."""
    source = make_table(db)
    fill(source, 40)
    export_dir = transfer.export_table(db, "source", tmp_path)["ExportDirectory"]
    data_dir = os.path.join(export_dir, "data")
    victim = max(os.listdir(data_dir), key=lambda n: os.path.getsize(os.path.join(data_dir, n)))
    with open(os.path.join(data_dir, victim), "ab") as f:
        f.write(b"\x00")
    target = make_table(db, "target")
    with pytest.raises(transfer.ImportSourceError, match="MD5"):
        transfer.import_table(db, "target", export_dir)
    assert all_items(target) == []


def test_import_into_a_missing_table_without_a_schema_is_refused(db, tmp_path):
    path = write_lines(tmp_path / "x.json", [json.dumps({"Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}})])
    with pytest.raises(ResourceNotFoundException):
        transfer.import_table(db, "missing", path)
    with pytest.raises(transfer.ImportSourceError, match="kvstore-table-creation-parameters.json"):
        transfer.import_table(db, "missing", path, create_from_export=True)


def test_export_is_a_point_in_time_copy(db, tmp_path):
    """The export holds the table as it was when it started, like DynamoDB's ExportTime."""
    source = make_table(db)
    fill(source, 30)
    before = all_items(source)
    transfer.export_table(db, "source", tmp_path)
    source.put_item(Item={"pk": "later", "sk": 1})
    transfer.import_table(db, "copy", tmp_path, create=KEYS)
    assert all_items(db.Table("copy")) == before


# -- command line --------------------------------------------------------------------------------------


def test_command_line_export_and_import(tmp_path, capsys):
    """``kvstore export`` / ``kvstore import`` on directory databases; exit 0 when every item imported."""
    src_path, dst_path, out = str(tmp_path / "src"), str(tmp_path / "dst"), str(tmp_path / "out")
    with kvstore.open(src_path) as db:
        fill(make_table(db), 40)
        expected = all_items(db.Table("source"))
    assert cli.main(["export", "--db", src_path, "--table", "source", "--no-progress", out]) == 0
    assert "exported 40 items" in capsys.readouterr().out
    assert cli.main(["import", "--db", dst_path, "--table", "restored", "--create-from-export",
                     "--no-progress", out]) == 0
    assert "imported 40" in capsys.readouterr().out
    with kvstore.open(dst_path) as db:
        assert all_items(db.Table("restored")) == expected


def test_command_line_import_with_key_options_reports_bad_lines(tmp_path, capsys):
    path = write_lines(tmp_path / "in.json", [
        json.dumps({"Item": {"id": {"N": "1"}}}),
        json.dumps({"Item": {"id": {"S": "not a number"}}}),
    ])
    db_path = str(tmp_path / "db")
    status = cli.main(["import", "--db", db_path, "--table", "numbers", "--hash-key", "id:N", "--no-progress", path])
    assert status == 1
    captured = capsys.readouterr()
    assert "processed 2 items, imported 1, errors 1" in captured.out
    assert f"{path}:2: ValidationException" in captured.err
    with kvstore.open(db_path) as db:
        assert db.Table("numbers").key_schema == [{"AttributeName": "id", "KeyType": "HASH"}]


def test_command_line_export_of_a_missing_database_fails_cleanly(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["export", "--db", str(tmp_path / "none"), "--table", "t", str(tmp_path / "out")])
    assert exit_info.value.code == 1
    assert "no database at" in capsys.readouterr().err


def test_progress_without_tqdm_is_a_counter_on_stderr(db, tmp_path, monkeypatch, capsys):
    import sys
    monkeypatch.setitem(sys.modules, "tqdm", None)         # import tqdm now fails
    fill(make_table(db), 10)
    transfer.export_table(db, "source", tmp_path, progress=True)
    assert "exporting source: 10/10 items" in capsys.readouterr().err
