"""The interface every target implements.

A ``Target`` owns a store (a database file, a server, an endpoint's tables):
``setup`` creates the schema of a data set, ``load`` fills it, ``attach``
adopts tables a sibling target already loaded (two clients of one server),
``session`` opens one client per worker thread, ``close`` tears down.

A ``Session`` executes the abstract operations of ``bench.workloads``.  For
an operation ``op`` it has ``op(prepared)`` and optionally
``prepare_op(*args)``: preparation (building request dicts, SQL parameters,
HTTP bodies) runs before the timed loop, so the loop times only the store.
"""


class NotSupported(Exception):
    """The target has no faithful way to run this operation."""


class ConditionFailed(Exception):
    """A conditional write's condition was false (counted as an error)."""


def _identity(*args):
    return args if len(args) != 1 else args[0]


class Session:
    def bind(self, op):
        """(prepare, execute) for ``op``; NotSupported if the target lacks it."""
        execute = getattr(self, "op_" + op, None)
        if execute is None:
            raise NotSupported(op)
        return getattr(self, "prepare_" + op, _identity), execute

    def close(self):
        pass


class Target:
    #: registry name, e.g. "sqlite-wal-normal"
    name = None
    #: one line for the report
    description = ""
    #: "floor" | "baseline" | "kvstore" | "endpoint"
    kind = "baseline"
    #: clients reach the store through a socket, so worker processes may share it
    remote = False
    #: what an acknowledged write survives
    durability = ""

    def __init__(self, workdir, options=None):
        self.workdir = workdir
        self.options = options or {}

    def setup(self, data):
        raise NotImplementedError

    def load(self, data, records):
        raise NotImplementedError

    def attach(self, data):
        """Use tables that another target loaded into the same store."""
        raise NotSupported("attach")

    def session(self):
        raise NotImplementedError

    def close(self, clean=True):
        """Release everything; ``clean=False`` skips orderly shutdown steps
        (used to leave a database as a crash would, for recovery timing)."""

    def reopen(self):
        """Open the store written before ``close()`` again (recovery time)."""
        raise NotSupported("reopen")

    def info(self):
        """Versions and settings worth printing beside the results."""
        return {}

    def shared_key(self):
        """Targets returning the same non-None key share one loaded store."""
        return None
