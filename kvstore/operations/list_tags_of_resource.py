"""ListTagsOfResource: a table's tags, in the order they were first set."""

from kvstore.operations.tags import table_from_arn


READ_ONLY = True


def run(engine, request):
    table = table_from_arn(engine, request.get("ResourceArn"), "ListTagsOfResource")
    return {"Tags": [dict(t) for t in table.meta.get("Tags", ())]}
