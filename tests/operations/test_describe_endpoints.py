"""DescribeEndpoints: one regional endpoint, cached for 1440 minutes."""


def test_describe_endpoints_answers_the_regional_endpoint(client):
    response = client.describe_endpoints()
    response.pop("ResponseMetadata")
    assert response == {"Endpoints": [{"Address": "dynamodb.us-east-1.amazonaws.com", "CachePeriodInMinutes": 1440}]}
