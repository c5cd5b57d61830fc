"""What the backup actions' tests share: ARNs, tables with indexes, filling and reading them back."""

from kvstore import _core
from kvstore.engine.backup import store

from .helpers import create_table, index, scan_all

ARN_RE = r"^arn:aws:dynamodb:us-east-1:123456789012:table/{}/backup/\d{{14}}-[0-9a-f]{{8}}$"
MISSING_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/nope/backup/01700000000000-deadbeef"


def fill(table, n, **extra):
    with table.batch_writer() as batch:
        for i in range(n):
            batch.put_item(Item={"pk": f"p{i % 7}", "sk": i, **extra})


def items_of(table):
    items, _ = scan_all(table)
    return sorted(items, key=lambda i: (i["pk"], i["sk"]))


def indexed_table(db, **extra):
    return create_table(db, hash_key=("pk", "S"), range_key=("sk", "N"),
                        gsis=[index("by_g", ("g", "S")), index("by_h", ("h", "N"), projection="KEYS_ONLY")],
                        lsis=[index("by_l", ("pk", "S"), ("l", "S"))], **extra)


def backup_arn(client, table, name="b-1"):
    return client.create_backup(TableName=table.name, BackupName=name)["BackupDetails"]["BackupArn"]


def backup_items(db, backup):
    """The items a backup file holds (read from the engine's store, not through a restore)."""
    for chunk in store(db.engine).iter_rows(backup):
        for _key, packed in chunk:
            yield _core.unpack_item(packed)


class FakeClock:
    def __init__(self, now=1_700_000_000.0):
        self.now = now

    def __call__(self):
        return self.now
