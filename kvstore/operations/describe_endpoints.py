"""DescribeEndpoints: the regional endpoint DynamoDB names, cached for a day."""

from kvstore import limits

READ_ONLY = True
ADDRESS = f"dynamodb.{limits.REGION}.amazonaws.com"


def run(engine, request):
    return {"Endpoints": [{"Address": ADDRESS, "CachePeriodInMinutes": 1440}]}
