"""One process at a time: an exclusive flock(2) on ``DIR/LOCK``.

flock locks belong to the open file, so a second open of the same directory
in the same process is refused as well, and the kernel drops the lock when
the holder dies (kill -9 included): a stale LOCK file never blocks anyone.
"""

import os

from .errors import DatabaseLockedError
from .fs import LockHeld

LOCK_NAME = "LOCK"


class DirectoryLock:
    """``with DirectoryLock(fs, directory):`` or ``acquire()`` / ``release()``."""

    def __init__(self, fs, directory):
        self.fs = fs
        self.directory = directory
        self.path = os.path.join(directory, LOCK_NAME)
        self._token = None

    @property
    def held(self):
        return self._token is not None

    def acquire(self):
        """Take the lock or raise ``DatabaseLockedError`` (which names the holder's pid)."""
        if self._token is not None:
            return self
        try:
            self._token = self.fs.lock(self.path)
        except LockHeld as held:
            raise DatabaseLockedError(self.directory, held.owner) from None
        return self

    def release(self):
        token, self._token = self._token, None
        if token is not None:
            self.fs.unlock(token)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
