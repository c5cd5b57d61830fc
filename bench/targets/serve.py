"""Start ``kvstore serve`` as a subprocess on a free loopback port and wait
until it answers, for the over-the-wire targets."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from ..lifetime import die_with_parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KvstoreServer:
    """A ``kvstore serve`` child process; a context manager."""

    def __init__(self, data_dir=None, extra_args=(), env=None):
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.env = env
        self.proc = None
        self.port = None
        self.started_in = None

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def command(self):
        cmd = [sys.executable, "-m", "kvstore", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--in-memory"] if self.data_dir is None else ["--data-dir", self.data_dir]
        cmd += ["--log-level", "warning"]
        return cmd + self.extra_args

    def start(self, timeout=30.0, poll=0.02):
        """Start and wait until it answers HTTP (polled every ``poll`` s); ``started_in``: seconds to that."""
        self.port = free_port()
        env = dict(os.environ, **(self.env or {}))
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        t0 = time.perf_counter()
        # A file, not a pipe: a chatty server must never block on a full pipe.
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.command(), env=env, stdout=subprocess.DEVNULL, stderr=self.log,
                                     preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                err = self.log.read().decode(errors="replace")[-2000:]
                raise RuntimeError("kvstore serve exited with %s: %s" % (self.proc.returncode, err))
            if self._ready():
                self.started_in = time.perf_counter() - t0
                return self
            time.sleep(poll)
        self.stop()
        raise RuntimeError("kvstore serve did not answer within %.0f s" % timeout)

    def tail(self, size=1500):
        """The end of the server's log, for error messages."""
        if getattr(self, "log", None) is None:
            return ""
        try:
            self.log.seek(0)
            text = self.log.read().decode(errors="replace")[-size:].strip()
        except (OSError, ValueError):
            return ""
        return (": " + text) if text else ""

    def _ready(self):
        try:
            with urllib.request.urlopen(self.endpoint + "/", timeout=0.5) as r:
                return r.status < 500
        except urllib.error.HTTPError as exc:
            return exc.code < 500
        except OSError:
            return False

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if getattr(self, "log", None) is not None:
            self.log.close()
            self.log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
