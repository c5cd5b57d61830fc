"""The resume file of one copy: which Scan segments are finished, and where each one stopped.

Format (JSON, rewritten atomically: a temporary file, fsync, rename, after every page the
target has acknowledged)::

    {
      "format": "kvstore-copy/1",
      "from": "./data", "to": "http://127.0.0.1:8000",
      "segments": 8,
      "tables": {
        "orders": {
          "prepared": true,                       # the target table exists and is compatible
          "segments": {
            "0": {"done": false,                  # true once the segment's last page is written
                  "last_key": {"pk": {"S": "k17"}},  # LastEvaluatedKey of the last written page
                  "items": 5120, "bytes": 1048576}  # copied so far (DynamoDB item sizes)
          }
        }
      }
    }

``last_key`` is in DynamoDB JSON (binary values in base64), ``null`` before the first page.
A resumed copy starts each unfinished segment at ``ExclusiveStartKey = last_key``: pages the
target acknowledged are not read again, and a page that was being written when the copy
stopped is written again whole (PutRequest overwrites, so that is harmless).  The segment
count is part of the state: a resumed copy uses the recorded one.
"""

import json
import os
import threading

from kvstore.types import item_from_wire, item_to_wire

FORMAT = "kvstore-copy/1"


class CopyState:
    def __init__(self, path, source, target, segments):
        self.path = path
        self._lock = threading.Lock()
        self.data = {"format": FORMAT, "from": source, "to": target, "segments": segments, "tables": {}}

    @classmethod
    def load(cls, path, source, target, segments):
        """The recorded state when ``path`` holds one for the same source and target, else a fresh one.

        Raises ValueError when ``path`` holds the state of a different copy.
        """
        state = cls(path, source, target, segments)
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            if data.get("format") != FORMAT:
                raise ValueError(f"{path}: not a kvstore copy state file")
            if (data.get("from"), data.get("to")) != (source, target):
                raise ValueError(f"{path} records a copy from {data.get('from')} to {data.get('to')}")
            state.data = data
        return state

    @property
    def segments(self):
        return self.data["segments"]

    @property
    def resumed(self):
        return any(seg.get("items") or seg.get("done") for t in self.data["tables"].values()
                   for seg in t.get("segments", {}).values())

    def table(self, name):
        return self.data["tables"].setdefault(name, {"prepared": False, "segments": {}})

    def segment(self, table, segment):
        seg = self.table(table)["segments"].setdefault(
            str(segment), {"done": False, "last_key": None, "items": 0, "bytes": 0})
        return seg["done"], (item_from_wire(seg["last_key"]) if seg["last_key"] else None), seg["items"], seg["bytes"]

    def mark_prepared(self, table):
        with self._lock:
            self.table(table)["prepared"] = True
            self._save()

    def record_page(self, table, segment, last_key, items, size):
        with self._lock:
            seg = self.table(table)["segments"][str(segment)]
            seg["last_key"] = item_to_wire(last_key) if last_key is not None else None
            seg["done"] = last_key is None
            seg["items"] += items
            seg["bytes"] += size
            self._save()

    def _save(self):
        if not self.path:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def remove(self):
        if self.path and os.path.exists(self.path):
            os.remove(self.path)
