"""TagResource: add or overwrite tags on a table, named by its ARN.  The response body is empty."""

from kvstore import limits
from kvstore.errors import ValidationException
from kvstore.operations.tags import check_tag_list, table_from_arn


EMPTY_RESPONSE = True


def run(engine, request):
    table = table_from_arn(engine, request.get("ResourceArn"), "TagResource")
    tags = request.get("Tags")
    if tags is None:
        raise ValidationException("1 validation error detected: Value null at 'tags' failed to satisfy "
                                  "constraint: Member must not be null")
    check_tag_list(tags)
    current = {t["Key"]: t["Value"] for t in table.meta.get("Tags", ())}
    current.update({t["Key"]: t["Value"] for t in tags})
    if len(current) > limits.MAX_TAGS:
        raise ValidationException("One or more parameter values were invalid: The number of tags exceeds the "
                                  f"limit of {limits.MAX_TAGS}")
    table.meta["Tags"] = [{"Key": k, "Value": v} for k, v in current.items()]
    engine.save_meta(table)
    return {}
