"""Errors of the storage layer.

These are not DynamoDB errors: they concern the database directory, which a
DynamoDB user never sees. They surface when a database is opened (corruption,
lock) or when a write cannot be made durable; the engine maps
``DurabilityError`` to DynamoDB's ``InternalServerError`` for the request that
hit it.
"""


class StorageError(Exception):
    """Base of every storage-layer error."""


class CorruptionError(StorageError):
    """Something on disk is damaged in a way that could hide acknowledged writes.

    ``path`` and ``offset`` locate the first damaged byte; ``reason`` says what
    was wrong.  Opening refuses rather than silently dropping data; ``kvstore
    repair`` (or ``repair=True``) cuts the log there and keeps the rest.
    """

    def __init__(self, path, offset, reason, hint=True):
        self.path = path
        self.offset = offset
        self.reason = reason
        where = f"{path}" if offset is None else f"{path} at offset {offset}"
        message = f"corrupt database file {where}: {reason}"
        if hint:
            directory = _directory_of(path)
            message += (f"; the database was not opened. Run `kvstore check {directory}` for details "
                        f"and `kvstore repair {directory}` to drop the damaged records and everything after them")
        super().__init__(message)


class UnsupportedFormatError(CorruptionError):
    """A file has a format version this kvstore does not know (written by a newer one).

    Repair never touches such files: they are not damaged.
    """

    def __init__(self, path, version, supported):
        self.version = version
        super().__init__(path, None, f"format version {version} is not supported (this kvstore reads "
                                     f"version {supported}); open it with the kvstore that wrote it", hint=False)


class DatabaseLockedError(StorageError):
    """Another process (or another open handle in this process) has the directory open."""

    def __init__(self, directory, owner=None):
        self.directory = directory
        self.owner = owner
        who = f"process {owner}" if owner else "another process"
        super().__init__(f"database directory {directory!r} is locked: it is open in {who}. "
                         f"kvstore lets one process open a database at a time; close it there first "
                         f"(this is not corruption)")


class DurabilityError(StorageError):
    """A write could not be made durable (disk full, I/O error, closed log).

    The record is not acknowledged.  The engine reports InternalServerError.
    ``cause`` is the underlying OSError, if any.
    """

    def __init__(self, message, cause=None):
        self.cause = cause
        if cause is not None:
            message = f"{message}: {cause}"
        super().__init__(message)


def _directory_of(path):
    import os
    return os.path.dirname(path) or "."
