"""The file layer: every byte the storage layer reads or writes goes through here.

``RealFS`` is the operating system.  ``MemoryFS`` is an in-memory file system
that remembers what has been fsynced (file contents and directory entries)
so a test can "pull the plug" and see only what a real disk would keep.
``FaultyFS`` wraps either and injects failures at chosen points: short
writes, EIO on fsync, ENOSPC, or a crash (after which every call raises
``SimulatedCrash`` until ``reboot()``).

A ``File`` (from ``open_append`` / ``create`` / ``open_read``) has
``write`` (all bytes at the end of the file, or OSError; a partial write may
have landed), ``write_at`` (the same at an offset), ``allocate`` (the file
made at least that long, the new bytes zeros), ``sync`` (fdatasync),
``read``, ``truncate``, ``size`` and ``close``.
``os.write`` and ``os.fsync`` release the GIL, so other threads run during
the I/O.
"""

import errno
import fcntl
import mmap
import os
import random
import sys
import threading


class SimulatedCrash(BaseException):
    """Raised by FaultyFS once it has "crashed": the process is considered dead.

    A BaseException so the storage layer's error handling (which catches
    OSError) does not treat a dead process as a recoverable failure.
    """


class LockHeld(OSError):
    """``FileSystem.lock`` found the lock taken; ``owner`` is what the holder wrote (pid)."""

    def __init__(self, path, owner=None):
        super().__init__(errno.EWOULDBLOCK, "lock held", path)
        self.owner = owner


class FileSystem:
    """The operations the storage layer needs.  Paths are plain strings."""

    def open_append(self, path): raise NotImplementedError
    def create(self, path): raise NotImplementedError          # create or truncate, for writing
    def open_read(self, path): raise NotImplementedError
    def read_bytes(self, path): raise NotImplementedError
    def size(self, path): raise NotImplementedError
    def exists(self, path): raise NotImplementedError
    def listdir(self, path): raise NotImplementedError
    def makedirs(self, path): raise NotImplementedError
    def rename(self, src, dst): raise NotImplementedError       # atomic, replaces dst
    def link(self, src, dst): raise NotImplementedError         # a second name for src's file (hard link)
    def remove(self, path): raise NotImplementedError
    def truncate(self, path, size): raise NotImplementedError
    def fsync_dir(self, path): raise NotImplementedError
    def lock(self, path): raise NotImplementedError            # -> token, or LockHeld
    def unlock(self, token): raise NotImplementedError
    def map(self, path, size): raise NotImplementedError       # -> writable buffer over the first size bytes
    def unmap(self, buffer): raise NotImplementedError

    def write_file(self, path, data, sync=True):
        """Write a small file in one go (used for the lock owner and tests)."""
        f = self.create(path)
        try:
            f.write(data)
            if sync:
                f.sync()
        finally:
            f.close()


# --------------------------------------------------------------------------- real


def _sync_fd(fd):
    if sys.platform == "darwin":                    # fsync on macOS does not reach the platter
        fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
    elif hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:
        os.fsync(fd)


_fallocate = getattr(os, "posix_fallocate", None)


class RealFile:
    __slots__ = ("path", "fd")

    def __init__(self, path, fd):
        self.path = path
        self.fd = fd

    def write(self, data):
        os.lseek(self.fd, 0, os.SEEK_END)      # (not O_APPEND, under which pwrite appends too)
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def write_at(self, offset, data):
        view = memoryview(data)
        while view:
            n = os.pwrite(self.fd, view, offset)
            view, offset = view[n:], offset + n

    def allocate(self, size):
        """Make the file at least ``size`` bytes long, the new bytes zeros, its blocks reserved, so a
        later write within it changes no file size (and its fdatasync commits no metadata)."""
        current = os.fstat(self.fd).st_size
        if size <= current:
            return
        if _fallocate is not None:
            try:
                _fallocate(self.fd, current, size - current)
                return
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                    raise
        os.ftruncate(self.fd, size)            # no fallocate here (macOS, some file systems): zeros all the same

    def sync(self):
        _sync_fd(self.fd)

    def read(self, n=-1):
        if n < 0:
            chunks = []
            while True:
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        return os.read(self.fd, n)

    def truncate(self, size):
        os.ftruncate(self.fd, size)

    def size(self):
        return os.fstat(self.fd).st_size

    def close(self):
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)


class RealFS(FileSystem):
    """The operating system's files."""

    def open_append(self, path):
        return RealFile(path, os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))

    def create(self, path):
        return RealFile(path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))

    def open_read(self, path):
        return RealFile(path, os.open(path, os.O_RDONLY))

    def read_bytes(self, path):
        with open(path, "rb") as f:
            return f.read()

    def size(self, path):
        return os.stat(path).st_size

    def exists(self, path):
        return os.path.exists(path)

    def listdir(self, path):
        return os.listdir(path)

    def makedirs(self, path):
        os.makedirs(path, exist_ok=True)

    def rename(self, src, dst):
        os.replace(src, dst)

    def link(self, src, dst):
        os.link(src, dst)

    def remove(self, path):
        os.remove(path)

    def truncate(self, path, size):
        os.truncate(path, size)

    def fsync_dir(self, path):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def lock(self, path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                owner = os.read(fd, 64).decode("ascii", "replace").strip() or None
            finally:
                os.close(fd)
            raise LockHeld(path, owner) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return fd

    def unlock(self, token):
        fcntl.flock(token, fcntl.LOCK_UN)
        os.close(token)

    def map(self, path, size):
        """A shared memory map of the file's first ``size`` bytes (created, extended with zeros).

        Stores into it are in the kernel's page cache at once: they outlive the
        process (kill -9) but not a power cut, unless the pages are synced.
        """
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size < size:
                os.ftruncate(fd, size)
            return mmap.mmap(fd, size)
        finally:
            os.close(fd)

    def unmap(self, buffer):
        buffer.close()


# --------------------------------------------------------------------------- memory


class _Inode:
    __slots__ = ("data", "durable")

    def __init__(self):
        self.data = bytearray()
        self.durable = b""            # content as of the last successful sync


class MemoryFile:
    __slots__ = ("fs", "path", "inode", "pos", "closed")

    def __init__(self, fs, path, inode):
        self.fs, self.path, self.inode, self.pos, self.closed = fs, path, inode, 0, False

    def write(self, data):
        with self.fs._mutex:
            self.inode.data += data

    def write_at(self, offset, data):
        with self.fs._mutex:
            d = self.inode.data
            if offset > len(d):
                d += bytes(offset - len(d))
            d[offset:offset + len(data)] = data

    def allocate(self, size):
        with self.fs._mutex:
            if size > len(self.inode.data):
                self.inode.data += bytes(size - len(self.inode.data))

    def sync(self):
        with self.fs._mutex:
            self.inode.durable = bytes(self.inode.data)

    def read(self, n=-1):
        with self.fs._mutex:
            end = len(self.inode.data) if n < 0 else self.pos + n
            chunk = bytes(self.inode.data[self.pos:end])
            self.pos += len(chunk)
            return chunk

    def truncate(self, size):
        with self.fs._mutex:
            del self.inode.data[size:]

    def size(self):
        return len(self.inode.data)

    def close(self):
        self.closed = True


class MemoryFS(FileSystem):
    """Files in memory, with a model of what survives a power cut.

    Each file remembers its content as of its last ``sync``; each directory
    remembers its entries as of its last ``fsync_dir``.  ``after_crash(mode)``
    returns the file system a rebooted machine would see:

    * ``"keep"``: everything written survives (the process was killed, the
      kernel lived: kill -9);
    * ``"drop"``: only synced bytes and synced directory entries survive;
    * ``"torn"``: like drop, plus a random part of each file's unsynced bytes,
      possibly with holes (pages persisted out of order) -- the worst a disk
      does to an interrupted write.
    """

    def __init__(self):
        self._mutex = threading.RLock()
        self._dirs = {"/": {}}
        self._durable_dirs = {"/": {}}
        self._locks = set()

    # paths
    @staticmethod
    def _split(path):
        path = os.path.normpath(os.path.join("/", path))
        return os.path.dirname(path), os.path.basename(path)

    def _entries(self, directory):
        directory = os.path.normpath(os.path.join("/", directory))
        try:
            return self._dirs[directory]
        except KeyError:
            raise FileNotFoundError(errno.ENOENT, "no such directory", directory) from None

    def _inode(self, path):
        d, name = self._split(path)
        try:
            return self._entries(d)[name]
        except KeyError:
            raise FileNotFoundError(errno.ENOENT, "no such file", path) from None

    def _new(self, path, truncate):
        d, name = self._split(path)
        with self._mutex:
            entries = self._entries(d)
            inode = entries.get(name)
            if inode is None:
                inode = entries[name] = _Inode()
            elif truncate:
                inode.data = bytearray()
            return MemoryFile(self, path, inode)

    def open_append(self, path):
        return self._new(path, truncate=False)

    def create(self, path):
        return self._new(path, truncate=True)

    def open_read(self, path):
        with self._mutex:
            return MemoryFile(self, path, self._inode(path))

    def read_bytes(self, path):
        with self._mutex:
            return bytes(self._inode(path).data)

    def size(self, path):
        with self._mutex:
            return len(self._inode(path).data)

    def exists(self, path):
        d, name = self._split(path)
        with self._mutex:
            entries = self._dirs.get(os.path.normpath(os.path.join("/", path)))
            return entries is not None or name in self._dirs.get(d, {})

    def listdir(self, path):
        with self._mutex:
            return sorted(self._entries(path))

    def makedirs(self, path):
        path = os.path.normpath(os.path.join("/", path))
        with self._mutex:
            while path not in self._dirs:            # directories are durable at once (a simplification)
                self._dirs[path] = {}
                self._durable_dirs[path] = {}
                path = os.path.dirname(path)

    def rename(self, src, dst):
        (sd, sn), (dd, dn) = self._split(src), self._split(dst)
        with self._mutex:
            inode = self._inode(src)
            self._entries(dd)[dn] = inode
            del self._entries(sd)[sn]

    def link(self, src, dst):
        dd, dn = self._split(dst)
        with self._mutex:
            entries = self._entries(dd)
            if dn in entries:
                raise FileExistsError(errno.EEXIST, "File exists", dst)
            entries[dn] = self._inode(src)

    def remove(self, path):
        d, name = self._split(path)
        with self._mutex:
            self._inode(path)
            del self._entries(d)[name]

    def truncate(self, path, size):
        with self._mutex:
            del self._inode(path).data[size:]

    def fsync_dir(self, path):
        path = os.path.normpath(os.path.join("/", path))
        with self._mutex:
            self._durable_dirs[path] = dict(self._entries(path))

    def lock(self, path):
        with self._mutex:
            if path in self._locks:
                raise LockHeld(path, "this process")
            self._locks.add(path)
            if not self.exists(path):
                self.write_file(path, b"", sync=False)
            return path

    def unlock(self, token):
        with self._mutex:
            self._locks.discard(token)

    def map(self, path, size):
        """The file's bytes themselves: stores are written, not synced (they survive ``keep`` only)."""
        with self._mutex:
            inode = self._new(path, truncate=False).inode
            if len(inode.data) < size:
                inode.data.extend(bytes(size - len(inode.data)))
            return memoryview(inode.data)[:size]

    def unmap(self, buffer):
        buffer.release()

    # crash model
    def after_crash(self, mode="drop", seed=None):
        """A new MemoryFS holding what survives a crash now (see the class docstring)."""
        rng = random.Random(seed)
        new = MemoryFS()
        with self._mutex:
            source = self._dirs if mode == "keep" else self._durable_dirs
            copies = {}
            for directory, entries in source.items():
                out = new._dirs[directory] = {}
                for name, inode in entries.items():
                    if id(inode) not in copies:
                        copies[id(inode)] = self._survivor(inode, mode, rng)
                    out[name] = copies[id(inode)]
                new._durable_dirs[directory] = dict(out)
        return new

    @staticmethod
    def _survivor(inode, mode, rng):
        data = bytes(inode.data)
        if mode == "keep":
            kept = data
        else:
            kept = inode.durable
            # the unsynced change starts where the content and its synced copy first differ (at the
            # synced end for an append, inside the file for a write into allocated space)
            same = _common_prefix(data, kept)
            if mode == "torn" and len(data) > same:
                extra = bytearray(data[same:rng.randint(same, len(data))])
                if extra and rng.random() < 0.5:          # a hole: an earlier sector did not make it
                    start = rng.randrange(len(extra))
                    end = min(len(extra), start + rng.choice((1, 17, 512)))
                    extra[start:end] = (b"\0" if rng.random() < 0.5 else b"\xa5") * (end - start)
                torn = bytearray(kept)
                torn[same:same + len(extra)] = extra
                kept = bytes(torn)
        inode2 = _Inode()
        inode2.data = bytearray(kept)
        inode2.durable = kept
        return inode2


def _common_prefix(a, b):
    """Length of the longest common prefix of two bytes objects (a binary search over slice compares)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


# --------------------------------------------------------------------------- faults


class _Rule:
    __slots__ = ("op", "error", "path", "after", "times", "partial", "crash")

    def __init__(self, op, error, path, after, times, partial, crash):
        self.op, self.error, self.path = op, error, path
        self.after, self.times, self.partial, self.crash = after, times, partial, crash


class _FaultyFile:
    def __init__(self, fs, inner):
        self._fs, self._inner, self.path = fs, inner, inner.path

    def write(self, data):
        rule = self._fs._hit("write", self.path)
        if rule is not None:
            if rule.partial:
                self._inner.write(bytes(data[:rule.partial]))
            self._fs._fire(rule, self.path)
        self._inner.write(data)

    def write_at(self, offset, data):
        rule = self._fs._hit("write", self.path)
        if rule is not None:
            if rule.partial:
                self._inner.write_at(offset, bytes(data[:rule.partial]))
            self._fs._fire(rule, self.path)
        self._inner.write_at(offset, data)

    def allocate(self, size):
        self._fs._maybe_fail("allocate", self.path)
        self._inner.allocate(size)

    def sync(self):
        self._fs._maybe_fail("sync", self.path)
        self._inner.sync()

    def read(self, n=-1):
        self._fs._maybe_fail("read", self.path)
        return self._inner.read(n)

    def truncate(self, size):
        self._fs._maybe_fail("truncate", self.path)
        self._inner.truncate(size)

    def size(self):
        self._fs._check_alive()
        return self._inner.size()

    def close(self):
        self._inner.close()              # closing is allowed even after a crash


class FaultyFS(FileSystem):
    """Wraps a file system and injects faults; for tests.

    ``fail(op, error, path=None, after=0, times=1, partial=0)`` makes the
    ``after``-th next matching call (0 = the next one) and ``times`` calls in
    all raise ``OSError(error)``; ``times=None`` fails until ``clear()``.
    ``op`` is a method name (``write``, ``sync``, ``rename``, ``fsync_dir``,
    ``create``, ``truncate``, ...); ``path`` is a substring of the path;
    ``partial=k`` writes the first k bytes before failing (a short write).
    ``crash_at(op, ...)`` instead "kills the process" at that call (before
    it takes effect; after its first ``partial`` bytes for a write): from then
    on every call raises ``SimulatedCrash``.  ``crash()`` does so at once.
    ``reboot(mode, seed)`` returns a fresh ``FaultyFS`` over what the disk
    kept (see ``MemoryFS.after_crash``).  ``calls`` counts calls per op.
    """

    def __init__(self, base=None):
        self.base = base if base is not None else MemoryFS()
        self._rules = []
        self._mutex = threading.Lock()
        self.crashed = False
        self.calls = {}

    # injection
    def fail(self, op, error=errno.EIO, path=None, after=0, times=1, partial=0):
        with self._mutex:
            self._rules.append(_Rule(op, error, path, after, times, partial, False))

    def crash_at(self, op, path=None, after=0, partial=0):
        with self._mutex:
            self._rules.append(_Rule(op, None, path, after, 1, partial, True))

    def crash(self):
        self.crashed = True

    def clear(self):
        with self._mutex:
            self._rules.clear()

    def reboot(self, mode="drop", seed=None):
        return FaultyFS(self.base.after_crash(mode, seed))

    def _check_alive(self):
        if self.crashed:
            raise SimulatedCrash("the simulated process has crashed")

    def _hit(self, op, path):
        self._check_alive()
        with self._mutex:
            self.calls[op] = self.calls.get(op, 0) + 1
            for rule in self._rules:
                if rule.op != op or (rule.path is not None and rule.path not in str(path)):
                    continue
                if rule.after > 0:
                    rule.after -= 1
                    continue
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                return rule
        return None

    def _fire(self, rule, path):
        if rule.crash:
            self.crashed = True
            raise SimulatedCrash(f"simulated crash at {rule.op}({path})")
        raise OSError(rule.error, os.strerror(rule.error), str(path))

    def _maybe_fail(self, op, path):
        rule = self._hit(op, path)
        if rule is not None:
            self._fire(rule, path)

    # the file system
    def open_append(self, path):
        self._maybe_fail("open_append", path)
        return _FaultyFile(self, self.base.open_append(path))

    def create(self, path):
        self._maybe_fail("create", path)
        return _FaultyFile(self, self.base.create(path))

    def open_read(self, path):
        self._maybe_fail("open_read", path)
        return _FaultyFile(self, self.base.open_read(path))

    def read_bytes(self, path):
        self._maybe_fail("read_bytes", path)
        return self.base.read_bytes(path)

    def size(self, path):
        self._check_alive()
        return self.base.size(path)

    def exists(self, path):
        self._check_alive()
        return self.base.exists(path)

    def listdir(self, path):
        self._maybe_fail("listdir", path)
        return self.base.listdir(path)

    def makedirs(self, path):
        self._maybe_fail("makedirs", path)
        self.base.makedirs(path)

    def rename(self, src, dst):
        self._maybe_fail("rename", dst)
        self.base.rename(src, dst)

    def link(self, src, dst):
        self._maybe_fail("link", dst)
        self.base.link(src, dst)

    def remove(self, path):
        self._maybe_fail("remove", path)
        self.base.remove(path)

    def truncate(self, path, size):
        self._maybe_fail("truncate", path)
        self.base.truncate(path, size)

    def fsync_dir(self, path):
        self._maybe_fail("fsync_dir", path)
        self.base.fsync_dir(path)

    def lock(self, path):
        self._maybe_fail("lock", path)
        return self.base.lock(path)

    def unlock(self, token):
        if not self.crashed:
            self.base.unlock(token)

    def map(self, path, size):
        self._maybe_fail("map", path)
        return self.base.map(path, size)

    def unmap(self, buffer):
        self.base.unmap(buffer)              # allowed even after a crash, like close
