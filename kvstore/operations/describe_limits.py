"""DescribeLimits: the account and per-table capacity quotas DynamoDB reports by default."""

READ_ONLY = True


def run(engine, request):
    return {"AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000,
            "TableMaxReadCapacityUnits": 40000, "TableMaxWriteCapacityUnits": 40000}
