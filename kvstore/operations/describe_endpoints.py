"""DescribeEndpoints: where to send requests (this server), cached for a day."""

from kvstore import limits


def run(engine, request):
    address = getattr(engine, "endpoint_address", None) or f"dynamodb.{limits.REGION}.amazonaws.com"
    return {"Endpoints": [{"Address": address, "CachePeriodInMinutes": 1440}]}
