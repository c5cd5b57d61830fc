"""What the tagging actions (TagResource, UntagResource, ListTagsOfResource) and CreateTable share:
the table a resource ARN names and the check of a tag list, with DynamoDB's errors.
"""

import re

from kvstore.errors import ResourceNotFoundException, ValidationException
from kvstore.operations.backups import check_account

_TAG_CHARS = re.compile(r"[\w\s+\-=._:/@]*\Z", re.UNICODE)


def table_from_arn(engine, arn, action):
    """The table an ARN names, with DynamoDB's errors for every other kind of ARN (``action``, the
    caller's, names the permission another account's ARN is denied)."""
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        raise ValidationException(f"Invalid TableArn: ARNs must start with 'arn:': {arn}")
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "dynamodb" or not parts[5].startswith("table/"):
        raise ValidationException(f"Invalid TableArn: Invalid ResourceArn provided as input {arn}")
    resource = parts[5][len("table/"):]
    if "/" in resource:
        raise ValidationException(f"Invalid TableArn: Invalid ResourceArn provided as input {arn}")
    check_account(engine, arn, action)
    table = engine.tables.get(resource)
    if table is None:
        raise ResourceNotFoundException(f"Requested resource not found: ResourcArn: {arn} not found")
    return table


def check_tag_list(tags):
    if not tags:
        raise ValidationException("Atleast one Tag needs to be provided as Input.")
    for tag in tags:
        key, value = tag.get("Key"), tag.get("Value")
        if key is None or value is None:
            raise ValidationException("1 validation error detected: Value null at 'tags.member.key' failed to "
                                      "satisfy constraint: Member must not be null")
        if not 1 <= len(key) <= 128 or not _TAG_CHARS.match(key):
            raise ValidationException(f"One or more parameter values were invalid: Invalid tag key: {key!r}")
        if len(value) > 256 or not _TAG_CHARS.match(value):
            raise ValidationException(f"One or more parameter values were invalid: Invalid tag value: {value!r}")
