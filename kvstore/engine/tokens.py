"""Idempotency tokens of TransactWriteItems, kept by the engine on its clock.

A ClientRequestToken makes a TransactWriteItems call idempotent for
``ttl`` seconds after it finished (DynamoDB: 10 minutes): a repeat with the
same parameters gets the first call's response, a repeat while the first is
still running or with other parameters is refused (the operation raises
DynamoDB's errors; this object only keeps the entries).

Complexity: ``claim``, ``finish`` and ``release`` are O(1) amortized: finished
entries sit in finish order, so expiry pops from the front and stops at the
first live one (a clock stepping back only delays expiry).  Memory: one entry
per token used in the last ``ttl`` seconds plus the calls in flight.
"""

import collections
import threading


class TokenEntry:
    """What a token is bound to: the request's fingerprint, when it finished (None: running), the
    response, and the last log position when it finished (a repeat answers once that is durable: a
    call whose answer waits for the log elsewhere, kvstore.engine.database.defer_durable_waits, has
    finished before its writes are on disk)."""

    __slots__ = ("fingerprint", "finished_at", "response", "lsn")

    def __init__(self, fingerprint, finished_at=None, response=None, lsn=0):
        self.fingerprint, self.finished_at, self.response, self.lsn = fingerprint, finished_at, response, lsn


class IdempotencyTokens:
    """Tokens of running and recently finished calls (see the module docstring)."""

    def __init__(self, clock, ttl):
        self.clock = clock
        self.ttl = ttl
        self._lock = threading.Lock()
        self._running = {}                            # token -> TokenEntry
        self._finished = collections.OrderedDict()    # token -> TokenEntry, oldest finish first

    def __len__(self):
        return len(self._running) + len(self._finished)

    def claim(self, token, fingerprint):
        """Bind ``token`` to a new call and return None, or return the entry it is already bound to."""
        now = self.clock()
        with self._lock:
            self._expire(now)
            entry = self._running.get(token) or self._finished.get(token)
            if entry is not None:
                return entry
            self._running[token] = TokenEntry(fingerprint)
            return None

    def finish(self, token, response, lsn=0):
        """The call holding ``token`` succeeded: remember its response (and ``lsn``) for ``ttl`` seconds."""
        with self._lock:
            entry = self._running.pop(token)
            entry.finished_at, entry.response, entry.lsn = self.clock(), response, lsn
            self._finished[token] = entry

    def release(self, token):
        """The call holding ``token`` failed: the token is free again."""
        with self._lock:
            self._running.pop(token, None)

    def _expire(self, now):
        finished = self._finished
        while finished:
            token, entry = next(iter(finished.items()))
            if now - entry.finished_at <= self.ttl:
                break
            del finished[token]
