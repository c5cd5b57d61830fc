"""What TransactWriteItems and TransactGetItems share: request checks and locking.

A transaction takes the locks of every partition it touches, in one global
order (table name, then partition number), so two transactions never wait on
each other in a cycle and a single-item write, which takes one lock, never
sees half a transaction.
"""

from kvstore import limits
from kvstore.errors import TransactionCanceledException, constraint_error


def check_action_count(actions):
    if actions is None:
        raise constraint_error([(None, "transactItems", "Member must not be null")])
    if len(actions) < 1:
        raise constraint_error([("[]", "transactItems", "Member must have length greater than or equal to 1")])
    if len(actions) > limits.MAX_TRANSACT_ITEMS:
        raise constraint_error([("[" + ", ".join("..." for _ in actions[:3]) + "]", "transactItems",
                                 "Member must have length less than or equal to 100")])


class Locks:
    """Context manager holding the partition locks of a set of (table, row_key) in global order."""

    def __init__(self, targets):
        wanted = {}
        for table, row_key in targets:
            p = row_key[0] >> table._shift          # Table.partition_of, inline
            wanted[(table.name, p)] = table.locks[p]
        self.locks = [wanted[k] for k in sorted(wanted)] if len(wanted) > 1 else list(wanted.values())

    def __enter__(self):
        for lock in self.locks:
            lock.acquire()
        return self

    def __exit__(self, *exc):
        for lock in reversed(self.locks):
            lock.release()


def cancel(reasons):
    """TransactionCanceledException listing one reason per action, in request order."""
    codes = ", ".join(r["Code"] for r in reasons)
    return TransactionCanceledException(
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        CancellationReasons=reasons)
