"""PutItem over the wire in one step: the body's bytes to the item written and the answer's body.

The usual PutItem is ``{"TableName": ..., "Item": {...}}`` and nothing else, and
its answer ``{}``.  For that shape the handler's general path
(``wire.decode_request``'s member checks, ``run_operation`` and, with metrics on,
``Recorder.observe``'s copy of the request asking for ConsumedCapacity,
``put_item.run``'s member checks and its response, ``wire.dump_response``)
decides nothing the item and the table do not: here the body is parsed, the item
converted and checked as ``put_item.run`` checks it, and written as it writes it
(the same lock, ``commit_usual`` and ``wait_usual``: streams, TTL, point-in-time
recovery and the indexes are the commit's, and under
``kvstore.engine.database.defer_durable_waits`` the wait is deferred the same way).

Anything else answers None before anything is written, and the handler takes the
general path, which raises DynamoDB's errors in DynamoDB's order: another member
(ReturnValues, a condition, ReturnConsumedCapacity ...), a JSON kind or value it
refuses, an item that is not valid, a table that does not exist; and so does
every request on a database with injected faults (``kvstore.faults``), enforced
capacity or contention mode, and with metrics on a table with indexes (its units
per index are the general path's).  Metrics record the request as ``observe``
would (``Recorder.put_item_answered``).  Once the commit has begun nothing is
handed back: a commit or wait that fails (a log that cannot be written) answers
its error, as the general path does at the same point.  ``tests/wire/
test_put_item_path.py`` and ``tests/test_core_wire.py`` compare both paths.

The step is one core call (``kvstore._core.put_item_answer``; its pure twin in
``kvstore._pycore`` reads as the reference), session 15 (bench/results/server.md).
"""

from kvstore import _core

__all__ = ["answer"]

#: ``answer(engine, body)``: ``b"{}"`` once the PutItem ``body`` (bytes) is written, None for the general
#: path (nothing written), or the DynamoDBError its commit failed with (``kvstore._pycore.put_item_answer``)
answer = _core.put_item_answer
