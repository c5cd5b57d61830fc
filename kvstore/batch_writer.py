"""``Table.batch_writer()``: boto3's buffering writer over BatchWriteItem.

Puts and deletes are buffered and sent 25 at a time (``flush_amount``);
unprocessed items are resent; ``overwrite_by_pkeys`` drops an earlier buffered
request for the same key, so a batch never carries duplicate keys.  Leaving
the ``with`` block flushes what is left.

Under enforced capacity (``kvstore.capacity``) a batch may come back partly
unprocessed or be throttled whole.  The writer then backs off exponentially
(50 ms doubling to 5 s, on the engine's clock, so a manual clock advances
instead of sleeping) and resends, as AWS advises for UnprocessedItems; a
batch that made progress resets the delay.
"""

import copy

from kvstore.errors import ProvisionedThroughputExceededException, ThrottlingException
from kvstore.faults import wait

FIRST_DELAY = 0.05
MAX_DELAY = 5.0


class BatchWriter:
    def __init__(self, database, table_name, overwrite_by_pkeys=None, flush_amount=25):
        self._db = database
        self._table_name = table_name
        self._overwrite_by_pkeys = overwrite_by_pkeys
        self._flush_amount = flush_amount
        self._buffer = []
        self._delay = FIRST_DELAY

    def put_item(self, Item):  # noqa: N803 (boto3's keyword)
        self._add({"PutRequest": {"Item": Item}})

    def delete_item(self, Key):  # noqa: N803
        self._add({"DeleteRequest": {"Key": Key}})

    def _add(self, request):
        if self._overwrite_by_pkeys:
            self._drop_same_key(request)
        self._buffer.append(request)
        if len(self._buffer) >= self._flush_amount:
            self._flush()

    def _drop_same_key(self, request):
        new_key = self._pkeys(request)
        for i, buffered in enumerate(self._buffer):
            if self._pkeys(buffered) == new_key:
                del self._buffer[i]
                return

    def _pkeys(self, request):
        if "PutRequest" in request:
            source = request["PutRequest"]["Item"]
        else:
            source = request["DeleteRequest"]["Key"]
        return [source.get(k) for k in self._overwrite_by_pkeys]

    def _flush(self):
        batch, self._buffer = self._buffer[:self._flush_amount], self._buffer[self._flush_amount:]
        try:
            response = self._db.batch_write_item(RequestItems={self._table_name: copy.copy(batch)})
        except (ProvisionedThroughputExceededException, ThrottlingException):
            self._buffer[:0] = batch                     # nothing was written: all of it again, later
            self._back_off()
            return
        unprocessed = response["UnprocessedItems"].get(self._table_name)
        if unprocessed:
            self._buffer.extend(unprocessed)
            self._back_off()
        else:
            self._delay = FIRST_DELAY

    def _back_off(self):
        wait(self._db.engine, self._delay)
        self._delay = min(MAX_DELAY, self._delay * 2)

    def flush(self):
        while self._buffer:
            self._flush()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, tb):
        self.flush()
