"""``kvstore restore DIR --table NAME --target NEW --to-time ISO8601|EPOCH``: point-in-time restore from the shell.

The same RestoreTableToPointInTime as the API (validation, messages and all),
run on a database directory that no server holds open (a running server takes
the call over the wire: ``aws dynamodb restore-table-to-point-in-time``).
``--latest`` restores the table as it is now; ``--info`` prints the table's
window and the bytes kept for its history instead of restoring.
"""

import argparse
import sys
from datetime import datetime, timezone


def parse_time(text):
    """Epoch seconds from ``2026-03-01T12:00:00Z`` (ISO 8601; no zone means UTC) or ``1772366400.5``."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time or epoch seconds: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _iso(moment):
    """A response's timestamp (a datetime, as boto3 returns it) in ISO 8601 UTC."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="kvstore restore", description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="the database directory")
    parser.add_argument("--table", required=True, help="the source table (PITR must be on)")
    parser.add_argument("--target", help="the new table's name")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--to-time", type=parse_time, help="ISO 8601 (UTC unless a zone is given) or epoch seconds")
    when.add_argument("--latest", action="store_true", help="the latest restorable time (now)")
    when.add_argument("--info", action="store_true", help="print the restorable window and the history's size")
    args = parser.parse_args(argv)
    import kvstore
    from kvstore.errors import DynamoDBError
    try:
        with kvstore.open(args.path) as db:
            client = db.meta.client
            if args.info:
                pitr = client.describe_continuous_backups(TableName=args.table)[
                    "ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
                print(f"table {args.table}: point-in-time recovery {pitr['PointInTimeRecoveryStatus']}")
                if pitr["PointInTimeRecoveryStatus"] == "ENABLED":
                    print(f"recovery period: {pitr['RecoveryPeriodInDays']} days")
                    print(f"earliest restorable: {_iso(pitr['EarliestRestorableDateTime'])}")
                    print(f"latest restorable:   {_iso(pitr['LatestRestorableDateTime'])}")
                print(f"history kept for point-in-time recovery: {db.engine.pitr.disk_usage()} bytes")
                return 0
            if args.target is None or (args.to_time is None and not args.latest):
                parser.error("a restore needs --target and one of --to-time or --latest")
            request = {"SourceTableName": args.table, "TargetTableName": args.target}
            if args.latest:
                request["UseLatestRestorableTime"] = True
            else:
                request["RestoreDateTime"] = args.to_time
            description = client.restore_table_to_point_in_time(**request)["TableDescription"]
            print(f"restored {args.table} as of {_iso(description['RestoreSummary']['RestoreDateTime'])} "
                  f"into {args.target}: {description['ItemCount']} items")
            return 0
    except DynamoDBError as e:
        print(f"{e.code}: {e.message}", file=sys.stderr)
        return 1
