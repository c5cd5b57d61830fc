"""What the backup actions' tests share: ARNs, tables with indexes, filling and reading them back."""

from kvstore import _core
from kvstore.engine.backup import store

from .helpers import create_table, index, raises, scan_all, validation

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


def check_backup_arn_member(call):
    """BackupArn (DescribeBackup, DeleteBackup): required, 37 to 1024 characters, and a backup that exists."""
    with validation("1 validation error detected: Value null at 'backupArn' failed to satisfy constraint: "
                    "Member must not be null"):
        call()
    for arn, constraint in (("arn:short", "Member must have length greater than or equal to 37"),
                            ("arn:" + "x" * 1021, "Member must have length less than or equal to 1024")):
        with validation(f"1 validation error detected: Value '{arn}' at 'backupArn' failed to satisfy "
                        f"constraint: {constraint}"):
            call(BackupArn=arn)
    with raises("BackupNotFoundException", f"Backup not found: {MISSING_ARN}"):
        call(BackupArn=MISSING_ARN)


def backups_a_second_apart(db, clock, table, n):
    """``n`` backups of ``table``, each a second after the previous (creation times order them); their ARNs."""
    arns = []
    for i in range(n):
        clock.now += 1
        arns.append(db.meta.client.create_backup(TableName=table.name, BackupName=f"b-{i}")["BackupDetails"]
                    ["BackupArn"])
    return arns
