"""Export and import tables in DynamoDB's own export format (DYNAMODB_JSON).

An export is laid out as DynamoDB's "export to S3" lays it out under the
bucket prefix, with ``OUT_DIR`` standing for the prefix::

    OUT_DIR/AWSDynamoDB/<ExportId>/_started
    OUT_DIR/AWSDynamoDB/<ExportId>/manifest-summary.json      (+ .checksum: MD5 hex of the file)
    OUT_DIR/AWSDynamoDB/<ExportId>/manifest-files.json        (+ .checksum) JSON lines, one per data file
    OUT_DIR/AWSDynamoDB/<ExportId>/data/<name>.json.gz        one per partition, lines {"Item": {...}}
    OUT_DIR/AWSDynamoDB/<ExportId>/kvstore-table-creation-parameters.json

The last file is kvstore's addition (DynamoDB's manifests do not carry the key
schema): ImportTable's ``TableCreationParameters`` plus the local secondary
indexes, so ``--create-from-export`` can recreate the table.  An export is a
consistent point-in-time copy (the same copy a backup takes).

Import reads DynamoDB's format whatever wrote it: an export directory (or
the prefix above it, or its manifest file), a folder of data files, or one
data file; each gzip-compressed or not (detected from the bytes).  Every item
goes through BatchWriteItem, so it is validated exactly as a PutItem would
be; lines that fail are counted and reported, as DynamoDB's import does,
and the rest are imported.  The result has the members of DynamoDB's
ImportTableDescription (ProcessedItemCount, ImportedItemCount, ErrorCount,
ProcessedSizeBytes, ...) plus ``Errors``: the first failures with file, line,
code and message.

Python::

    kvstore.transfer.export_table(db, "Music", "/tmp/out")
    kvstore.transfer.import_table(db, "Music2", "/tmp/out", create_from_export=True)

Command line: ``kvstore export --db PATH --table NAME OUT_DIR`` and
``kvstore import --db PATH --table NAME [--create-from-export | --hash-key A:S
[--range-key B:N]] IN_DIR_OR_FILE``.
"""

import argparse
import base64
import glob
import gzip
import hashlib
import json
import os
import sys
import time
import uuid
from datetime import datetime, timezone

from kvstore import _core
from kvstore.engine.backup import snapshot
from kvstore.errors import DynamoDBError, ResourceNotFoundException, TableNotFoundException
from kvstore.types import item_from_wire, item_to_wire

MANIFEST_SUMMARY = "manifest-summary.json"
MANIFEST_FILES = "manifest-files.json"
CREATION_PARAMETERS = "kvstore-table-creation-parameters.json"
FORMAT_VERSION = "2020-06-30"
BATCH = 25
#: how many failures an import report lists (all are counted)
MAX_REPORTED_ERRORS = 100
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


# -- export -----------------------------------------------------------------------


def export_table(db, table_name, out_dir, *, compress=True, progress=False):
    """Write ``table_name`` to ``out_dir`` in DynamoDB's export layout; return an ExportDescription.

    ``db`` is what ``kvstore.open`` returns (or an Engine).  The description
    has DynamoDB's members plus ``ExportDirectory``, the folder written.
    """
    engine = getattr(db, "engine", db)
    table = engine.tables.get(table_name)
    if table is None:
        raise TableNotFoundException(f"Table not found: {table_name}")
    start = engine.clock()
    meta, rows, size_bytes = snapshot(engine, table)
    export_time = engine.clock()
    export_id = f"{int(export_time * 1000):014d}-{uuid.uuid4().hex[:8]}"
    prefix = f"AWSDynamoDB/{export_id}"
    directory = os.path.join(out_dir, "AWSDynamoDB", export_id)
    os.makedirs(os.path.join(directory, "data"), exist_ok=True)
    open(os.path.join(directory, "_started"), "wb").close()

    by_partition = [[] for _ in table.partitions]
    for row_key in rows:
        by_partition[table.partition_of(row_key)].append(row_key)
    suffix = ".json.gz" if compress else ".json"
    files = []
    bar = _Progress(progress, len(rows), f"exporting {table_name}")
    try:
        for keys in by_partition:
            keys.sort()
            name = base64.b32encode(os.urandom(16)).decode("ascii").rstrip("=").lower() + suffix
            with open(os.path.join(directory, "data", name), "wb") as f:
                digest = _write_data_file(_HashingWriter(f), rows, keys, compress, bar)
            files.append({"itemCount": len(keys), "md5Checksum": base64.b64encode(digest.digest()).decode("ascii"),
                          "etag": digest.hexdigest(), "dataFileS3Key": f"{prefix}/data/{name}"})
    finally:
        bar.close()
    _write_with_checksum(os.path.join(directory, MANIFEST_FILES),
                         "".join(json.dumps(f, separators=(",", ":")) + "\n" for f in files).encode("utf-8"))
    with open(os.path.join(directory, CREATION_PARAMETERS), "w", encoding="utf-8") as f:
        json.dump(creation_parameters(meta), f, indent=2)
        f.write("\n")
    end = engine.clock()
    export_arn = f"{meta['TableArn']}/export/{export_id}"
    summary = {
        "version": FORMAT_VERSION, "exportArn": export_arn, "startTime": _iso(start), "endTime": _iso(end),
        "tableArn": meta["TableArn"], "tableId": meta["TableId"], "exportTime": _iso(export_time),
        "s3Bucket": None, "s3Prefix": None, "s3SseAlgorithm": "AES256", "s3SseKmsKeyId": None,
        "manifestFilesS3Key": f"{prefix}/{MANIFEST_FILES}", "billedSizeBytes": size_bytes,
        "itemCount": len(rows), "outputFormat": "DYNAMODB_JSON", "exportType": "FULL_EXPORT",
    }
    _write_with_checksum(os.path.join(directory, MANIFEST_SUMMARY),
                         (json.dumps(summary, indent=2) + "\n").encode("utf-8"))
    return {"ExportArn": export_arn, "ExportStatus": "COMPLETED", "StartTime": start, "EndTime": end,
            "ExportManifest": f"{prefix}/{MANIFEST_SUMMARY}", "TableArn": meta["TableArn"],
            "TableId": meta["TableId"], "ExportTime": export_time, "ExportFormat": "DYNAMODB_JSON",
            "ExportType": "FULL_EXPORT", "BilledSizeBytes": size_bytes, "ItemCount": len(rows),
            "ExportDirectory": directory}


class _HashingWriter:
    """A file that keeps the MD5 of what is written to it (S3's ETag / Content-MD5 of the data file)."""

    def __init__(self, f):
        self.f = f
        self.md5 = hashlib.md5()

    def write(self, data):
        self.md5.update(data)
        return self.f.write(data)

    def flush(self):
        self.f.flush()


def _write_data_file(out, rows, keys, compress, bar):
    sink = gzip.GzipFile(fileobj=out, mode="wb", mtime=0) if compress else out
    for key in keys:
        sink.write(_item_line(_core.unpack_item(rows[key])))
        bar.update(1)
    if compress:
        sink.close()
    return out.md5


def _item_line(item):
    doc = {"Item": item_to_wire(item)}
    try:
        return (json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:          # a lone surrogate: JSON's \\u escape carries it losslessly
        return (json.dumps(doc, separators=(",", ":")) + "\n").encode("ascii")


def creation_parameters(meta):
    """ImportTable's TableCreationParameters for a table (plus its LSIs, which that shape lacks)."""
    out = {"TableName": meta["TableName"],
           "AttributeDefinitions": [dict(d) for d in meta["AttributeDefinitions"]],
           "KeySchema": [dict(k) for k in meta["KeySchema"]],
           "BillingMode": meta.get("BillingMode", "PROVISIONED")}
    if out["BillingMode"] == "PROVISIONED" and meta.get("ProvisionedThroughput"):
        out["ProvisionedThroughput"] = dict(meta["ProvisionedThroughput"])
    for member in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
        if meta.get(member):
            out[member] = [{k: v for k, v in i.items() if k in ("IndexName", "KeySchema", "Projection",
                                                                 "ProvisionedThroughput")}
                           for i in meta[member]]
    for member in ("SSESpecification", "OnDemandThroughput"):
        if meta.get(member):
            out[member] = meta[member]
    return out


def _write_with_checksum(path, data):
    with open(path, "wb") as f:
        f.write(data)
    with open(path[:-len(".json")] + ".checksum", "w", encoding="ascii") as f:
        f.write(hashlib.md5(data).hexdigest())


def _iso(seconds):
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{int(seconds * 1000) % 1000:03d}Z"


# -- import -----------------------------------------------------------------------


class ImportSourceError(ValueError):
    """The import source is not something DynamoDB's import format can be read from."""


def import_table(db, table_name, source, *, create=None, create_from_export=False, progress=False):
    """Import the items of ``source`` into ``table_name``; return an ImportTableDescription.

    ``create`` (CreateTable keyword arguments: KeySchema, AttributeDefinitions,
    BillingMode, indexes...) or ``create_from_export=True`` (the parameters
    an export by kvstore recorded) create the table first; without them the
    table must exist.  Items failing validation are counted in ``ErrorCount``
    and listed (the first MAX_REPORTED_ERRORS) in ``Errors``.
    """
    from kvstore.operations import execute
    engine = getattr(db, "engine", db)
    files, export_dir = _data_files(source)
    if create_from_export:
        if export_dir is None or not os.path.exists(os.path.join(export_dir, CREATION_PARAMETERS)):
            raise ImportSourceError(f"{source} has no {CREATION_PARAMETERS} (only exports written by kvstore "
                                    "have one): give the key schema instead")
        with open(os.path.join(export_dir, CREATION_PARAMETERS), encoding="utf-8") as f:
            create = json.load(f)
    if create is not None:
        execute(engine, "CreateTable", dict(create, TableName=table_name))
    table = engine.tables.get(table_name)
    if table is None:
        raise ResourceNotFoundException(f"Requested resource not found: Table: {table_name} not found")
    report = _Report(table, files, engine.clock)
    bar = _Progress(progress, None, f"importing {table_name}")
    try:
        for path in files:
            batch = []
            for line_no, item in _items(path, report):
                batch.append((path, line_no, item))
                if len(batch) == BATCH:
                    _write_batch(engine, table_name, batch, report)
                    bar.update(len(batch))
                    batch = []
            if batch:
                _write_batch(engine, table_name, batch, report)
                bar.update(len(batch))
    finally:
        bar.close()
    return report.description()


def _write_batch(engine, table_name, batch, report):
    """BatchWriteItem of up to 25 items; when it fails, each item alone so only the bad ones fail."""
    from kvstore.operations import execute

    def put(items):
        execute(engine, "BatchWriteItem",
                {"RequestItems": {table_name: [{"PutRequest": {"Item": item}} for _, _, item in items]}})

    try:
        put(batch)
        report.imported += len(batch)
        return
    except ResourceNotFoundException:
        raise
    except DynamoDBError as e:
        if len(batch) == 1:
            report.error(batch[0][0], batch[0][1], e.code, e.message)
            return
    for entry in batch:
        try:
            put([entry])
            report.imported += 1
        except ResourceNotFoundException:
            raise
        except DynamoDBError as e:
            report.error(entry[0], entry[1], e.code, e.message)


def _items(path, report):
    """``(line number, native item)`` for each good line of a data file; bad lines go to ``report``."""
    with open(path, "rb") as raw:
        magic = raw.read(4)
        raw.seek(0)
        if magic.startswith(_ZSTD_MAGIC):
            raise ImportSourceError(f"{path}: ZSTD compression is not supported; use GZIP or none")
        if magic.startswith(_GZIP_MAGIC):
            report.gzip = True
            stream = gzip.GzipFile(fileobj=raw, mode="rb")
        else:
            report.plain = True
            stream = raw
        for line_no, line in enumerate(stream, 1):
            if not line.strip():
                continue
            report.processed += 1
            report.size += len(line)
            try:
                doc = json.loads(line)
            except ValueError as e:
                report.error(path, line_no, "SerializationException", f"The line is not valid JSON: {e}")
                continue
            if type(doc) is not dict or type(doc.get("Item")) is not dict or len(doc) != 1:
                report.error(path, line_no, "ValidationException",
                             'Each line must be one JSON object of the form {"Item": {...}}')
                continue
            try:
                yield line_no, item_from_wire(doc["Item"])
            except DynamoDBError as e:
                report.error(path, line_no, e.code, e.message)


class _Report:
    def __init__(self, table, files, clock):
        self.table = table
        self.files = files
        self.clock = clock
        self.start = clock()
        self.processed = self.imported = self.size = self.errors = 0
        self.listed = []
        self.gzip = self.plain = False

    def error(self, path, line, code, message):
        self.errors += 1
        if len(self.listed) < MAX_REPORTED_ERRORS:
            self.listed.append({"File": path, "Line": line, "Code": code, "Message": message})

    def description(self):
        meta = self.table.meta
        return {
            "ImportArn": f"{meta['TableArn']}/import/{int(self.start * 1000):014d}-{uuid.uuid4().hex[:8]}",
            "ImportStatus": "COMPLETED", "TableArn": meta["TableArn"], "TableId": meta["TableId"],
            "InputFormat": "DYNAMODB_JSON", "InputCompressionType": "GZIP" if self.gzip else "NONE",
            "StartTime": self.start, "EndTime": self.clock(), "ProcessedSizeBytes": self.size,
            "ProcessedItemCount": self.processed, "ImportedItemCount": self.imported,
            "ErrorCount": self.errors, "Errors": self.listed,
        }


def _data_files(source):
    """``(data files, export directory or None)`` for an import source (see the module docstring)."""
    source = os.fspath(source)
    if os.path.isfile(source):
        name = os.path.basename(source)
        if name == MANIFEST_SUMMARY or name == MANIFEST_FILES:
            return _from_manifest(os.path.dirname(source)), os.path.dirname(source)
        return [source], None
    if not os.path.isdir(source):
        raise ImportSourceError(f"{source}: no such file or directory")
    if os.path.exists(os.path.join(source, MANIFEST_FILES)):
        return _from_manifest(source), source
    exports = sorted(os.path.dirname(p) for p in glob.glob(os.path.join(source, "AWSDynamoDB", "*", MANIFEST_FILES)))
    if len(exports) > 1:
        raise ImportSourceError(f"{source} holds {len(exports)} exports; name one of: " + ", ".join(exports))
    if exports:
        return _from_manifest(exports[0]), exports[0]
    files = []
    for folder, _dirs, names in os.walk(source):
        for name in names:
            if name.endswith((".json", ".json.gz", ".gz", ".jsonl")) and not name.startswith(("manifest-", "kvstore-")):
                files.append(os.path.join(folder, name))
    if not files:
        raise ImportSourceError(f"{source} holds no data files (*.json, *.json.gz)")
    return sorted(files), None


def _from_manifest(export_dir):
    """Data files named by an export's manifest-files.json, each checked against its MD5."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(export_dir)))
    files = []
    with open(os.path.join(export_dir, MANIFEST_FILES), encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            entry = json.loads(line)
            key = entry["dataFileS3Key"]
            path = os.path.join(root, key)
            if not os.path.exists(path):
                path = os.path.join(export_dir, "data", os.path.basename(key))
            if not os.path.exists(path):
                raise ImportSourceError(f"the data file {key} named in {MANIFEST_FILES} is missing")
            expected = entry.get("md5Checksum")
            if expected:
                with open(path, "rb") as data:
                    digest = hashlib.md5()
                    for block in iter(lambda: data.read(1 << 20), b""):
                        digest.update(block)
                if base64.b64encode(digest.digest()).decode("ascii") != expected:
                    raise ImportSourceError(f"{path} does not match its MD5 checksum in {MANIFEST_FILES}: "
                                            "the export is damaged")
            files.append(path)
    return files


# -- progress -----------------------------------------------------------------------


class _Progress:
    """tqdm when it is installed, a one-line counter on stderr otherwise; nothing when disabled."""

    def __init__(self, enabled, total, description):
        self.bar = None
        self.enabled = enabled
        self.total = total
        self.description = description
        self.count = 0
        self.shown = 0.0
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total, desc=description, unit="item", file=sys.stderr)

    def update(self, n):
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(n)
            return
        self.count += n
        now = time.monotonic()
        if now - self.shown >= 0.2:
            self.shown = now
            self._show()

    def _show(self):
        of = f"/{self.total}" if self.total is not None else ""
        sys.stderr.write(f"\r{self.description}: {self.count}{of} items")
        sys.stderr.flush()

    def close(self):
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
            return
        self._show()
        sys.stderr.write("\n")


# -- command line ---------------------------------------------------------------------


def export_main(argv):
    parser = argparse.ArgumentParser(prog="kvstore export",
                                     description="Export a table in DynamoDB's export format (DYNAMODB_JSON).")
    parser.add_argument("--db", required=True, help="database directory")
    parser.add_argument("--table", required=True, help="table to export")
    parser.add_argument("--no-compress", action="store_true", help="write .json data files instead of .json.gz")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("out_dir", help="folder that stands for the S3 prefix (AWSDynamoDB/<id>/ goes inside)")
    args = parser.parse_args(argv)
    with _open_db(parser, args.db) as db:
        try:
            result = export_table(db, args.table, args.out_dir, compress=not args.no_compress,
                                  progress=not args.no_progress)
        except DynamoDBError as e:
            parser.exit(1, f"kvstore export: {e.code}: {e.message}\n")
    print(f"exported {result['ItemCount']} items of {args.table} to {result['ExportDirectory']}")
    return 0


def import_main(argv):
    parser = argparse.ArgumentParser(
        prog="kvstore import",
        description="Import items in DynamoDB's export format (DYNAMODB_JSON, gzip or not) into a table.")
    parser.add_argument("--db", required=True, help="database directory")
    parser.add_argument("--table", required=True, help="table to import into")
    create = parser.add_mutually_exclusive_group()
    create.add_argument("--create-from-export", action="store_true",
                        help="create the table with the key schema and indexes an export by kvstore recorded")
    create.add_argument("--hash-key", metavar="NAME:TYPE", help="create the table with this partition key (TYPE S, N or B)")
    parser.add_argument("--range-key", metavar="NAME:TYPE", help="sort key of the table to create")
    parser.add_argument("--billing-mode", choices=("PAY_PER_REQUEST", "PROVISIONED"), default="PAY_PER_REQUEST")
    parser.add_argument("--read-capacity", type=int, default=5)
    parser.add_argument("--write-capacity", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the import description as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("source", help="export folder, manifest file, folder of data files or one data file")
    args = parser.parse_args(argv)
    if args.range_key and not args.hash_key:
        parser.error("--range-key needs --hash-key")
    spec = None
    if args.hash_key:
        spec = _create_spec(parser, args)
    with _open_db(parser, args.db, must_exist=False) as db:
        try:
            result = import_table(db, args.table, args.source, create=spec,
                                  create_from_export=args.create_from_export, progress=not args.no_progress)
        except DynamoDBError as e:
            parser.exit(1, f"kvstore import: {e.code}: {e.message}\n")
        except (ImportSourceError, OSError) as e:
            parser.exit(1, f"kvstore import: {e}\n")
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print(f"processed {result['ProcessedItemCount']} items, imported {result['ImportedItemCount']}, "
              f"errors {result['ErrorCount']}")
        for error in result["Errors"]:
            print(f"  {error['File']}:{error['Line']}: {error['Code']}: {error['Message']}", file=sys.stderr)
        if result["ErrorCount"] > len(result["Errors"]):
            print(f"  ... and {result['ErrorCount'] - len(result['Errors'])} more", file=sys.stderr)
    return 1 if result["ErrorCount"] else 0


def _create_spec(parser, args):
    keys, definitions = [], []
    for text, key_type in ((args.hash_key, "HASH"), (args.range_key, "RANGE")):
        if not text:
            continue
        name, _, attr_type = text.rpartition(":")
        if not name or attr_type not in ("S", "N", "B"):
            parser.error(f"expected NAME:TYPE with TYPE S, N or B, not {text!r}")
        keys.append({"AttributeName": name, "KeyType": key_type})
        definitions.append({"AttributeName": name, "AttributeType": attr_type})
    spec = {"KeySchema": keys, "AttributeDefinitions": definitions, "BillingMode": args.billing_mode}
    if args.billing_mode == "PROVISIONED":
        spec["ProvisionedThroughput"] = {"ReadCapacityUnits": args.read_capacity,
                                         "WriteCapacityUnits": args.write_capacity}
    return spec


def _open_db(parser, path, must_exist=True):
    import kvstore
    if must_exist and not os.path.isdir(path):
        parser.exit(1, f"{parser.prog}: no database at {path}\n")
    try:
        return kvstore.open(path)
    except Exception as e:  # locked by another process, corrupt, unreadable: say so and stop
        parser.exit(1, f"{parser.prog}: cannot open {path}: {e}\n")
