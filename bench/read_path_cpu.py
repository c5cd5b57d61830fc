"""Instructions per embedded GetItem, Query and Scan, counted with callgrind (issue 17 item 1).

Each operation runs ``--calls`` times in a child process under ``valgrind
--tool=callgrind``, and once with none; the difference divided by the calls is
what one call executes, through the boto3-shaped Table API, independent of the
machine's load.  The table: 5 partition-key values x 60 items of the bench's
``items`` shape, in memory.

    python -m bench.read_path_cpu
    python -m bench.read_path_cpu --ops get,query_10 --calls 500
"""

import argparse
import subprocess
import sys
from decimal import Decimal

OPS = ("get", "query_10", "query_10_filter", "scan_100", "gsi_query_10", "batch_get_10")


def _table(gsi=False):
    """The bench table; with ``gsi``, the harness's GSI ``by_group`` (grp) too (only the GSI query
    has it, so the other operations run on the table they always did)."""
    import kvstore

    db = kvstore.open(":memory:")
    extra = {}
    definitions = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]
    if gsi:
        definitions.append({"AttributeName": "grp", "AttributeType": "S"})
        extra["GlobalSecondaryIndexes"] = [{"IndexName": "by_group",
                                            "KeySchema": [{"AttributeName": "grp", "KeyType": "HASH"}],
                                            "Projection": {"ProjectionType": "ALL"}}]
    db.create_table(TableName="items", BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                    AttributeDefinitions=definitions, **extra)
    table = db.Table("items")
    for p in range(5):
        for s in range(60):
            table.put_item(Item={"pk": f"p{p:08d}", "sk": f"s{s:04d}", "grp": f"g{p}", "ts": f"{s}",
                                 "cnt": Decimal(s), "payload": "x" * 100})
    return table


def _operation(name, table):
    if name == "get":
        return lambda: table.get_item(Key={"pk": "p00000003", "sk": "s0042"})
    if name == "query_10":
        return lambda: table.query(KeyConditionExpression="pk = :p AND sk >= :s",
                                   ExpressionAttributeValues={":p": "p00000003", ":s": "s0042"}, Limit=10)
    if name == "query_10_filter":
        return lambda: table.query(KeyConditionExpression="pk = :p AND sk >= :s", FilterExpression="cnt > :c",
                                   ExpressionAttributeValues={":p": "p00000003", ":s": "s0042", ":c": Decimal(1)},
                                   Limit=10)
    if name == "scan_100":
        return lambda: table.scan(Limit=100)
    if name == "gsi_query_10":
        return lambda: table.query(IndexName="by_group", KeyConditionExpression="grp = :g",
                                   ExpressionAttributeValues={":g": "g3"}, Limit=10)
    if name == "batch_get_10":
        db = table._db
        keys = [{"pk": "p00000003", "sk": f"s{s:04d}"} for s in range(20, 30)]
        return lambda: db.batch_get_item(RequestItems={"items": {"Keys": keys}})
    raise ValueError(name)


def _child(name, calls):
    f = _operation(name, _table(gsi=name.startswith("gsi")))
    for _ in range(50):
        f()
    for _ in range(calls):
        f()


def _instructions(name, calls):
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m",
                          "bench.read_path_cpu", "--child", name, str(calls)],
                         capture_output=True, text=True, check=True).stderr
    for line in out.splitlines():
        if "Collected" in line:
            return int(line.split()[-1])
    raise RuntimeError(out[-2000:])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.read_path_cpu", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--ops", default=",".join(OPS))
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], int(args.child[1]))
        return 0
    print("| operation | instructions per call |")
    print("|---|---:|")
    for name in args.ops.split(","):
        per_call = (_instructions(name, args.calls) - _instructions(name, 0)) / args.calls
        print(f"| {name} | {per_call / 1000:.1f}k |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
