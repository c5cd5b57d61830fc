"""The AWS regions DynamoDB answers in: the regions a request may be signed for.

DynamoDB refuses a credential scope naming a region it does not serve with
InvalidSignatureException "Credential should be scoped to a valid region, not
'eu-east-2'. " (a name of a region's shape that does not exist is refused like
a malformed one).  kvstore serves every region from one server (each account
and region its own database, ``kvstore/server/accounts.py``), so a valid
region is any region of an AWS partition with a DynamoDB endpoint.

The list is botocore's endpoint data (``botocore/data/endpoints.json``:
partitions ``aws``, ``aws-cn``, ``aws-us-gov``, ``aws-iso*`` and ``aws-eusc``,
the ``dynamodb`` service's regional endpoints; FIPS endpoints and botocore's
``local`` sign with a region of this list).  kvstore does not depend on
botocore at run time, so it is copied here; tests/wire/test_auth.py compares
it with the installed botocore's, so a region AWS adds shows up as a failing
test rather than as a refused client.
"""

__all__ = ["REGIONS", "is_region"]

REGIONS = frozenset("""
    af-south-1 ap-east-1 ap-east-2 ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-south-1 ap-south-2
    ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-southeast-5 ap-southeast-6 ap-southeast-7
    ca-central-1 ca-west-1 eu-central-1 eu-central-2 eu-north-1 eu-south-1 eu-south-2 eu-west-1 eu-west-2
    eu-west-3 il-central-1 me-central-1 me-south-1 mx-central-1 sa-east-1 us-east-1 us-east-2 us-west-1
    us-west-2
    cn-north-1 cn-northwest-1
    us-gov-east-1 us-gov-west-1
    us-iso-east-1 us-iso-west-1 us-isob-east-1 us-isob-west-1 eu-isoe-west-1 us-isof-east-1 us-isof-south-1
    eusc-de-east-1
""".split())


def is_region(name):
    """Whether DynamoDB serves the region ``name`` (``us-east-1``: yes; ``eu-east-2``, ``local``: no)."""
    return name in REGIONS
