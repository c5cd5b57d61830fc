"""Moving tables between kvstore and DynamoDB-compatible endpoints (the way out, and the way in).

* :mod:`.endpoints`: one interface over a kvstore directory and a DynamoDB endpoint
  (values are kvstore's native model on both, so the rest is written once);
* :mod:`.schema`: the CreateTable request that reproduces a table, and what differs
  between two tables;
* :mod:`.copy`: ``kvstore copy`` (parallel Scan segments -> BatchWriteItem, resumable);
* :mod:`.state`: the copy's resume file;
* :mod:`.verify`: ``kvstore diff`` / ``kvstore copy --verify`` (key and content hash, in segments);
* :mod:`.replicate`: ``kvstore replicate`` (follow the source's stream, apply in order per item).

docs/migration.md is the guide.
"""
