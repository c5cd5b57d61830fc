"""GetItem over the wire in one step: the body's bytes to the answer's bytes.

A GetItem is the wire face's most frequent request, and the usual one is
``{"TableName": ..., "Key": {...}}`` and nothing else.  For that shape the
handler's general path (``wire.decode_request``'s member checks, the
operation registry and ``run_operation``, ``get_item.run``'s checks,
``wire.dump_response``'s member walk) decides nothing the table's key schema
does not: here the body is parsed, the key checked against the schema and its
row key built from the JSON text in one core call (``wire_row_key``: plain S
and N values; other keys are converted first, then ``request_row_key``), the
row looked up and its JSON written, with no step in between.

Anything else answers None and the handler takes the general path, which
raises DynamoDB's errors in DynamoDB's order: another member or JSON kind, a
key that is not valid, a table that does not exist (or an ARN), a database
with injected faults, and under enforced capacity a read the meter does not
admit at once (``read_item_admitted`` charges the ones it admits and leaves
the others untouched, for the general path to throttle or charge).  Metrics (on by default
in ``kvstore serve``) record the request here as ``metrics.Recorder.observe``
would (``get_item_answered``).  A read changes nothing, so a request begun here and
redone there is only slower.  ``tests/wire/test_get_item_path.py`` compares
both paths' answers with hypothesis.

The step is one core call (``kvstore._core.get_item_answer``; its pure twin in
``kvstore._pycore`` reads as the reference): in the compiled core the usual
request runs without a Python frame, and the item's JSON is written straight
behind ``{"Item":`` (session 9, bench/results/server.md).
"""

from kvstore import _core

__all__ = ["answer"]

#: ``answer(engine, body)``: the JSON body the GetItem ``body`` (bytes) answers, or None for the
#: general path (``kvstore._pycore.get_item_answer`` says when)
answer = _core.get_item_answer
