"""One process at a time: the directory lock."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from kvstore.engine.durability import Durability
from kvstore.engine.errors import CorruptionError, DatabaseLockedError
from kvstore.engine.lock import DirectoryLock
from kvstore.engine.fs import RealFS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# the child imports only the storage layer (fast start, no dependency on the rest of the package)
HOLDER = textwrap.dedent("""
    import sys, types
    m = types.ModuleType("kvstore"); m.__path__ = [sys.argv[2] + "/kvstore"]; sys.modules["kvstore"] = m
    sys.path.insert(0, sys.argv[2])
    from kvstore.engine.durability import Durability
    d = Durability(sys.argv[1], "sync")
    d.recover(); d.start()
    print("locked", flush=True)
    sys.stdin.read()
""")


def test_second_open_in_the_same_process_is_locked_not_corrupt(tmp_path):
    first = Durability(tmp_path, "sync")
    first.recover()
    with pytest.raises(DatabaseLockedError) as err:
        Durability(tmp_path, "sync").recover()
    assert not isinstance(err.value, CorruptionError)
    message = str(err.value)
    assert str(tmp_path) in message and "locked" in message and "not corruption" in message
    first.close()
    second = Durability(tmp_path, "sync")
    second.recover()
    second.close()


def holder(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path), ROOT],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_another_process_holding_the_directory_is_named(tmp_path):
    proc = holder(tmp_path)
    try:
        with pytest.raises(DatabaseLockedError, match=f"open in process {proc.pid}"):
            Durability(tmp_path, "sync").recover()
    finally:
        proc.stdin.close()
        proc.wait(10)
    d = Durability(tmp_path, "sync")
    d.recover()
    d.close()


def test_lock_is_released_when_the_holder_is_killed(tmp_path):
    proc = holder(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    d = Durability(tmp_path, "sync")
    d.recover()
    d.close()


def test_directory_lock_context_manager(tmp_path):
    fs = RealFS()
    with DirectoryLock(fs, str(tmp_path)) as lock:
        assert lock.held
        with pytest.raises(DatabaseLockedError):
            DirectoryLock(fs, str(tmp_path)).acquire()
    assert not lock.held
    DirectoryLock(fs, str(tmp_path)).acquire().release()
