"""DescribeEndpoints: the regional endpoint DynamoDB names, cached for a day."""

READ_ONLY = True


def run(engine, request):
    return {"Endpoints": [{"Address": f"dynamodb.{engine.region}.amazonaws.com", "CachePeriodInMinutes": 1440}]}
