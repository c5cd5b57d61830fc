"""What the numbers were measured on: printed with every report."""

import datetime
import importlib
import os
import platform
import subprocess
import sys


def rss_bytes(pid=None):
    """Resident set size of a process (this one by default), in bytes."""
    try:
        import psutil

        return psutil.Process(pid or os.getpid()).memory_info().rss
    except ImportError:
        try:
            with open("/proc/%s/statm" % (pid or "self")) as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            return None


def load_average():
    """1-minute load average: the machine may be shared, so every report says how busy it was."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module):
    try:
        m = importlib.import_module(module)
    except Exception:
        return None
    v = getattr(m, "__version__", None)
    if v is None and module == "lmdb":
        v = getattr(m, "__version__", None)
    return str(v) if v is not None else "?"


def _git_commit():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             timeout=5)
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if out.returncode == 0 else None
    except Exception:
        return None


def kvstore_implementation():
    """"cython" or "python" as the default (compiled-if-built) import sees it."""
    try:
        import kvstore

        return getattr(kvstore, "implementation", "unknown")
    except Exception as exc:
        return "unavailable (%s)" % type(exc).__name__


def describe():
    cores = os.cpu_count()
    physical = None
    memory = None
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
        memory = psutil.virtual_memory().total
    except ImportError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    import sqlite3

    packages = {"sqlite3 (library)": sqlite3.sqlite_version}
    for name in ("kvstore", "boto3", "botocore", "lmdb", "msgpack", "sortedcontainers", "psutil", "matplotlib",
                 "moto", "httptools", "tqdm"):
        v = _version(name)
        if v is not None:
            packages[name] = v
    return {
        "cpu": cpu_model(),
        "logical_cores": cores,
        "physical_cores": physical,
        "memory_bytes": memory,
        "os": platform.platform(),
        "python": "%s %s" % (platform.python_implementation(), platform.python_version()),
        "packages": packages,
        "kvstore_implementation": kvstore_implementation(),
        "git_commit": _git_commit(),
        "load_average_at_start": [round(x, 2) for x in load] if load else None,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "argv": " ".join(sys.argv[1:]),
    }


def one_line(machine):
    mem = machine.get("memory_bytes")
    return "%s, %s logical cores%s, %s, kvstore core: %s" % (
        machine["cpu"], machine["logical_cores"],
        ", %.0f GB RAM" % (mem / 2**30) if mem else "",
        machine["python"], machine["kvstore_implementation"])
