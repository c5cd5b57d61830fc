"""What the log's staging area costs a write: ``python -m bench.staging [ROUNDS]``.

PutItem (200-byte items) on a directory database under ``durability="batch"``,
with the staging area (docs/format.md, "The staging area") and with it replaced
by a do-nothing stand-in, in interleaved rounds of 20,000 puts each; prints each
round's p50 and throughput and the medians of the same-round ratios.
"""

import statistics
import sys
import tempfile
import time

import kvstore
from kvstore.engine import durability

PUTS = 20_000


class _NoStaging:
    def __init__(self, *args, **kwargs):
        pass

    def put(self, record, lsn):
        return True

    def switch(self, written_lsn):
        pass

    def close(self, written):
        pass


def run(puts, staged):
    """(p50 in µs, puts per second) of ``puts`` PutItem calls, with or without the staging area."""
    real = durability.staging.Staging
    if not staged:
        durability.staging.Staging = _NoStaging
    try:
        with tempfile.TemporaryDirectory() as path, kvstore.open(path, durability="batch") as db:
            table = db.create_table(TableName="things", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                    BillingMode="PAY_PER_REQUEST")
            item, latencies = {"pk": "", "v": "x" * 180}, []
            for i in range(puts):
                item["pk"] = f"k{i}"
                started = time.perf_counter_ns()
                table.put_item(Item=item)
                latencies.append(time.perf_counter_ns() - started)
    finally:
        durability.staging.Staging = real
    latencies.sort()
    return latencies[len(latencies) // 2] / 1000, puts / (sum(latencies) / 1e9)


def main(rounds=7):
    ratios = []
    for r in range(rounds):
        off, on = run(PUTS, False), run(PUTS, True)
        ratios.append((on[0] / off[0], on[1] / off[1]))
        print(f"| {r} | {off[0]:.2f} | {on[0]:.2f} | {ratios[-1][0]:.3f} | {off[1]:,.0f} | {on[1]:,.0f} | "
              f"{ratios[-1][1]:.3f} |", flush=True)
    print(f"| median | | | {statistics.median(p for p, _ in ratios):.3f} | | | "
          f"{statistics.median(t for _, t in ratios):.3f} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
