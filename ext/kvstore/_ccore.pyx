# cython: language_level=3
"""The compiled twin of :mod:`kvstore._pycore`, gathered from its modules by concern:

- ``kvstore._cvalues``: what they share (number text, Decimal and Binary
  construction, the output buffer; declared in ``ext/kvstore/_cvalues.pxd``);
- ``kvstore._ckeys``: storage keys (crc32, numbers as keys, row and index keys);
- ``kvstore._citems``: item packing (the msgpack codec) and DynamoDB's item size (of an item or
  of its packed bytes);
- ``kvstore._cwire``: DynamoDB JSON both ways, items' JSON text, the JSON guard;
- ``kvstore._cread``: the read path (a request's key in one step, the Query/Scan page walk);
- ``kvstore._cwrite``: the write path (SortedList partitions, index projections, index maintenance);
- ``kvstore._clog``: the write-ahead log's record of a write, and its frame;
- ``kvstore._ctransact``: TransactWriteItems of the usual shape (its checks and new images);
- ``kvstore._cserver``: the HTTP front's usual request taken apart and usual answer written, a
  remembered SigV4 form found.

Every public function returns exactly what its ``_pycore`` twin returns for the
same argument: the fast paths cover native values, and anything else -- and
every error -- is handed to the reference.  ``tests/test_core.py`` and
``tests/test_core_wire.py`` check the agreement with hypothesis.
"""

from kvstore._ckeys import (composite_index_key, delimited_sort_component, encode_number, hash_component,
                            index_key, key_bytes, partition_prefix, sort_bound, storage_key)
from kvstore._citems import item_size, pack_item, packed_item_size, unpack_item
from kvstore._cwire import (from_wire, get_item_answer, item_from_wire, item_json, item_to_wire, items_json,
                            json_needs_stdlib, put_item_answer, to_wire)
from kvstore._cread import (embedded_read, query_bounds, read_page, read_shape, request_row_key, take_forward,
                            take_reverse, wire_row_key)
from kvstore._clog import append_record, commit_usual, frame_record, wait_usual, write_record
from kvstore._cwrite import (apply_row, apply_update, apply_writes, condition_holds, item_from_python, number_add,
                              project_packed, same_value, shape_ok, sorted_add, sorted_remove, transact_size,
                              transact_size_bound,
                              update_indexes, usual_actions, write_shape)
from kvstore._ctransact import (index_keys_usual, transact_actions, transact_commit, transact_embedded,
                                transact_images, transact_request, usual_transaction)
from kvstore._cupdate import embedded_update, run_update_plan
from kvstore._cserver import parse_request, remembered_form, render_answer, usual_get_item, usual_item_request

__all__ = [
    "EXT_N", "EXT_B", "EXT_SS", "EXT_NS", "EXT_BS",
    "encode_number", "key_bytes", "hash_component", "storage_key", "partition_prefix",
    "delimited_sort_component", "index_key", "composite_index_key", "sort_bound", "pack_item", "unpack_item",
    "item_size", "packed_item_size", "from_wire", "to_wire", "item_from_wire", "item_to_wire", "item_json", "items_json",
    "json_needs_stdlib", "request_row_key", "wire_row_key", "take_forward", "take_reverse", "read_page", "read_shape",
    "query_bounds",
    "sorted_add", "sorted_remove", "project_packed", "update_indexes", "same_value", "item_from_python",
    "shape_ok", "condition_holds", "apply_update", "number_add", "write_shape", "usual_actions", "transact_size", "transact_size_bound",
    "apply_row", "apply_writes", "write_record", "frame_record", "append_record", "commit_usual", "wait_usual",
    "transact_actions", "transact_request", "usual_transaction",
    "transact_images", "transact_commit", "index_keys_usual", "parse_request", "render_answer", "remembered_form",
    "embedded_read", "run_update_plan", "embedded_update", "transact_embedded", "get_item_answer", "usual_get_item",
    "put_item_answer", "usual_item_request",
]

EXT_N, EXT_B, EXT_SS, EXT_NS, EXT_BS = 1, 2, 3, 4, 5
