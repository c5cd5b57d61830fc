"""Injected faults: make chosen calls fail (or slow down) the way DynamoDB can, deterministically.

    from kvstore.testing import FaultRule

    db.faults.add(FaultRule("InternalServerError", operations="PutItem", every=3))
    with db.faults.inject(FaultRule("TransactionConflict", tables="orders", once=True)):
        ...                                   # the rule is gone when the block ends

A :class:`FaultRule` picks calls by operation, table, key or predicate, then
fires on every Nth matching call, with a seeded probability, or on each match,
at most ``times`` times (``once=True`` is ``times=1``).  Firing raises the
DynamoDB error named by ``error`` with DynamoDB's message, and/or adds
``latency`` seconds (through the engine's clock when it can be advanced, such
as ``kvstore.clock.ManualClock``; real sleep otherwise, except on a server's
event loop, where the call runs at once and its answer is held that long).

Rules are evaluated at the dispatch point (``kvstore.operations.execute``)
before the operation runs, so a failed call leaves the database exactly as it
was, on every face.  ``TransactionConflict`` becomes what DynamoDB sends for
each kind of call: a TransactionCanceledException whose matching actions carry
the ``TransactionConflict`` reason for TransactWriteItems / TransactGetItems,
and TransactionConflictException for single-item writes.
"""

import json
import random
import threading
import time

from kvstore import errors
from kvstore.types import Binary, number

MESSAGES = {
    "InternalServerError": "Internal server error",
    "ServiceUnavailable": "The service is currently unavailable or busy.",
    "RequestLimitExceeded": "Throughput exceeds the current throughput limit for your account. Please contact "
                            "AWS Support at https://aws.amazon.com/support request a limit increase",
    "ThrottlingException": "Throughput exceeds the current capacity of your table or index. DynamoDB is "
                           "automatically scaling your table or index so please try again shortly. If exceptions "
                           "persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/"
                           "latest/developerguide/bp-partition-key-design.html",
    "ProvisionedThroughputExceededException": "The level of configured provisioned throughput for the table was "
                                              "exceeded. Consider increasing your provisioning level with the "
                                              "UpdateTable API.",
    "TransactionConflictException": "Transaction is ongoing for the item",
    "ConditionalCheckFailedException": "The conditional request failed",
    "ResourceNotFoundException": "Requested resource not found",
}
CONFLICT_REASON = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
TRANSACTIONS = ("TransactWriteItems", "TransactGetItems")
_KIND_MEMBERS = ("Put", "Update", "Delete", "ConditionCheck", "Get")


class FaultRule:
    """Which calls fail, how often, and with what.

    ``error``: a DynamoDB error code (``"InternalServerError"``,
    ``"ServiceUnavailable"``, ``"RequestLimitExceeded"``, ``"ThrottlingException"``,
    ``"ProvisionedThroughputExceededException"``, any class name of
    ``kvstore.errors``) or ``"TransactionConflict"``; None with ``latency`` only
    slows calls down.  ``message`` overrides DynamoDB's message.

    Selection (all given must hold): ``operations`` (action names),
    ``tables`` (any table the request names), ``keys`` (key dicts; a call
    matches when it names an item with one of these keys), ``when``
    (``when(action, request) -> bool`` on the native request).

    Schedule: ``every=N`` fires on the Nth, 2Nth, ... matching call;
    ``probability=p`` fires with probability p from ``random.Random(seed)``;
    neither fires on every match.  ``times`` (or ``once=True``) caps the
    firings.  ``matched`` and ``fired`` count what happened.
    """

    def __init__(self, error="InternalServerError", *, operations=None, tables=None, keys=None, when=None,
                 every=None, probability=None, seed=0, times=None, once=False, latency=0.0, message=None):
        if error is not None and error != "TransactionConflict" and error not in errors.ERRORS_BY_CODE:
            raise ValueError(f"unknown DynamoDB error {error!r}")
        if error is None and not latency:
            raise ValueError("a fault rule needs an error, a latency, or both")
        if every is not None and (not isinstance(every, int) or every < 1):
            raise ValueError("every must be a positive integer")
        if probability is not None and not 0 <= probability <= 1:
            raise ValueError("probability must be between 0 and 1")
        if latency < 0:
            raise ValueError("latency must not be negative")
        self.error = error
        self.message = message
        self.operations = _names(operations)
        self.tables = _names(tables)
        self.keys = None if keys is None else [_native_key(k) for k in ([keys] if isinstance(keys, dict) else keys)]
        self.when = when
        self.every = every
        self.probability = probability
        self.seed = seed
        self.times = 1 if once else times
        self.latency = latency
        self.matched = 0
        self.fired = 0
        self._random = random.Random(seed)

    @classmethod
    def from_dict(cls, spec):
        """A rule from its JSON form (``kvstore serve --faults FILE``): the keyword arguments by name."""
        spec = dict(spec)
        if "when" in spec:
            raise ValueError("'when' (a Python predicate) cannot come from JSON")
        error = spec.pop("error", "InternalServerError")
        return cls(error, **spec)

    def to_dict(self):
        out = {"error": self.error, "matched": self.matched, "fired": self.fired}
        for name in ("operations", "tables", "every", "probability", "times", "latency", "message"):
            value = getattr(self, name)
            if value is not None and value != 0.0:
                out[name] = sorted(value) if isinstance(value, frozenset) else value
        if self.probability is not None:
            out["seed"] = self.seed
        return out

    def __repr__(self):
        return f"FaultRule({json.dumps(self.to_dict(), default=str)})"

    # -- evaluation -------------------------------------------------------------

    def selects(self, action, request):
        """Indexes of the matching transaction actions (or [None]) when the call matches, else None."""
        if self.operations is not None and action not in self.operations:
            return None
        targets = _targets(action, request)
        if self.tables is not None:
            targets = [t for t in targets if t[1] in self.tables]
            if not targets:
                return None
        if self.keys is not None:
            targets = [t for t in targets if t[2] is not None and any(_has_key(t[2], k) for k in self.keys)]
            if not targets:
                return None
        if self.when is not None and not self.when(action, request):
            return None
        return [t[0] for t in targets] or [None]

    def _fires(self):
        if self.times is not None and self.fired >= self.times:
            return False
        self.matched += 1
        if self.every is not None and self.matched % self.every:
            return False
        if self.probability is not None and self._random.random() >= self.probability:
            return False
        self.fired += 1
        return True

    def exception(self, action, request, positions):
        """The DynamoDB error this rule raises for ``action`` (None: latency only)."""
        if self.error is None:
            return None
        if self.error == "TransactionConflict":
            if action in TRANSACTIONS:
                reasons = [{"Code": "None"} for _ in request.get("TransactItems") or ()]
                for i in positions:
                    if i is not None and i < len(reasons):
                        reasons[i] = dict(CONFLICT_REASON)
                if not any(r["Code"] != "None" for r in reasons) and reasons:
                    reasons[0] = dict(CONFLICT_REASON)
                from kvstore.operations.transactions import cancel
                return cancel(reasons)
            code = "TransactionConflictException"
        else:
            code = self.error
        message = self.message if self.message is not None else MESSAGES.get(code, "")
        return errors.ERRORS_BY_CODE[code](message)


class FaultSet:
    """The rules of one database, evaluated in the order they were added; the first to fire wins."""

    def __init__(self):
        self._rules = []
        self._lock = threading.Lock()

    def add(self, rule):
        with self._lock:
            self._rules = self._rules + [rule]
        return rule

    def remove(self, rule):
        with self._lock:
            self._rules = [r for r in self._rules if r is not rule]

    def clear(self):
        with self._lock:
            self._rules = []

    def replace(self, rules):
        with self._lock:
            self._rules = list(rules)

    @property
    def rules(self):
        return list(self._rules)

    def inject(self, *rules):
        """Context manager: ``rules`` are active inside the block only."""
        return _Scope(self, rules)

    def before(self, engine, action, request):
        """Called before ``action`` runs: add latency and raise the error of the first rule that fires."""
        for rule in self._rules:
            positions = rule.selects(action, request)
            if positions is None:
                continue
            with self._lock:
                fires = rule._fires()
            if not fires:
                continue
            if rule.latency:
                wait(engine, rule.latency)
            error = rule.exception(action, request, positions)
            if error is not None:
                raise error
            return

    def load(self, path):
        """Add the rules of a JSON file: a list of rule objects, or ``{"faults": [...]}``."""
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
        if isinstance(spec, dict):
            spec = spec.get("faults", [])
        rules = [FaultRule.from_dict(s) for s in spec]
        for rule in rules:
            self.add(rule)
        return rules


class _Scope:
    def __init__(self, faults, rules):
        self.faults = faults
        self.rules = rules

    def __enter__(self):
        for rule in self.rules:
            self.faults.add(rule)
        return self.rules[0] if len(self.rules) == 1 else self.rules

    def __exit__(self, *exc):
        for rule in self.rules:
            self.faults.remove(rule)


#: threads that must not sleep: a server's event loop (``answers_owe_latency``), where a sleep would
#: hold up every connection; thread -> how many servers run there.  A latency fault there is owed by
#: the answer instead: ``owed[thread]`` seconds, which the server takes (``take_owed_latency``) and
#: holds the answer for.
_loop_threads = {}
owed = {}
_registry_lock = threading.Lock()


def answers_owe_latency(thread_ident, on=True):
    """On the thread ``thread_ident`` (an event loop's), latency faults do not sleep: the answer owes
    them.  Each server starting on a thread says so, and says ``on=False`` when it stops."""
    with _registry_lock:
        count = _loop_threads.get(thread_ident, 0) + (1 if on else -1)
        if count > 0:
            _loop_threads[thread_ident] = count
        else:
            _loop_threads.pop(thread_ident, None)
            owed.pop(thread_ident, None)


def take_owed_latency():
    """The seconds of latency this thread's last answer owes (0.0 if none), forgotten here."""
    return owed.pop(threading.get_ident(), 0.0)


def wait(engine, seconds):
    """Let ``seconds`` pass: advance the engine's clock when it is a manual one, sleep otherwise, or on a
    server's event loop leave them owed by the answer (``answers_owe_latency``): the request then
    runs at once and its answer leaves ``seconds`` later, while other connections are served."""
    advance = getattr(engine.clock, "advance", None)
    if advance is not None:
        advance(seconds)
        return
    thread = threading.get_ident()
    if thread in _loop_threads:
        owed[thread] = owed.get(thread, 0.0) + seconds
    else:
        time.sleep(seconds)


# -- the server's admin endpoint ------------------------------------------------------

def admin_answer(engine, method, body):
    """``/_kvstore/faults`` of ``kvstore serve --fault-endpoint``: ``(status, content type, body)``.

    GET lists the rules with their counters; POST replaces them with the rules
    of a JSON body (the ``--faults`` file format; ``[]`` clears them).  A bad
    body is a 400 with the reason; nothing else is served there.
    """
    if engine.faults is None:
        engine.faults = FaultSet()
    if method == "POST":
        try:
            spec = json.loads(body or b"[]")
            if isinstance(spec, dict):
                spec = spec.get("faults", [])
            rules = [FaultRule.from_dict(s) for s in spec]
        except (ValueError, TypeError, AttributeError) as e:
            return 400, "application/json", json.dumps({"message": f"invalid fault rules: {e}"}).encode()
        engine.faults.replace(rules)
    elif method != "GET":
        return 400, "application/json", json.dumps({"message": "use GET or POST"}).encode()
    listing = {"faults": [rule.to_dict() for rule in engine.faults.rules]}
    return 200, "application/json", json.dumps(listing, default=str).encode()


# -- what a request names -------------------------------------------------------------

def _names(value):
    if value is None:
        return None
    return frozenset([value] if isinstance(value, str) else value)


def _native_key(key):
    """Key values as the engine sees them (numbers as Decimal, bytes as Binary), so JSON rules match."""
    out = {}
    for name, value in key.items():
        if isinstance(value, bool):
            out[name] = value
        elif isinstance(value, (int, float)):
            out[name] = number(str(value))
        elif isinstance(value, (bytes, bytearray)):
            out[name] = Binary(bytes(value))
        else:
            out[name] = value
    return out


def _has_key(item, key):
    return all(name in item and item[name] == value for name, value in key.items())


def _targets(action, request):
    """``[(position, table, key or item)]`` a request names (position: index in TransactItems)."""
    name = request.get("TableName")
    if name is not None:
        return [(None, name, request.get("Key") or request.get("Item"))]
    out = []
    items = request.get("TransactItems")
    if isinstance(items, list):
        for i, action_spec in enumerate(items):
            if isinstance(action_spec, dict):
                for kind in _KIND_MEMBERS:
                    spec = action_spec.get(kind)
                    if isinstance(spec, dict):
                        out.append((i, spec.get("TableName"), spec.get("Key") or spec.get("Item")))
        return out
    batch = request.get("RequestItems")
    if isinstance(batch, dict):
        for table, spec in batch.items():
            if isinstance(spec, dict):                    # BatchGetItem
                keys = spec.get("Keys") or [None]
            elif isinstance(spec, list):                  # BatchWriteItem
                keys = [(r.get("PutRequest") or {}).get("Item") or (r.get("DeleteRequest") or {}).get("Key")
                        for r in spec if isinstance(r, dict)] or [None]
            else:
                keys = [None]
            out.extend((None, table, k) for k in keys)
    return out
