"""UntagResource: remove tag keys from a table (absent keys are fine).  The response body is empty."""

from kvstore.errors import ValidationException
from kvstore.operations.tags import table_from_arn


EMPTY_RESPONSE = True


def run(engine, request):
    table = table_from_arn(engine, request.get("ResourceArn"), "UntagResource")
    keys = request.get("TagKeys")
    if keys is None:
        raise ValidationException("1 validation error detected: Value null at 'tagKeys' failed to satisfy "
                                  "constraint: Member must not be null")
    drop = set(keys)
    table.meta["Tags"] = [t for t in table.meta.get("Tags", ()) if t["Key"] not in drop]
    engine.save_meta(table)
    return {}
