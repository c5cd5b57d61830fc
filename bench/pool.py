"""Worker processes, one per target, seen from the suite.

``WorkerHandle.call("round", ...)`` sends a command and waits for its reply;
a target that fails is reported and dropped, never allowed to stop the run.
``LocalHandle`` runs a target in this process instead (``--in-process``:
debugging, and the fast unit tests).
"""

import json
import os
import select
import subprocess
import sys
import tempfile
import time

from .lifetime import die_with_parent

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class WorkerError(RuntimeError):
    def __init__(self, target, message, details=""):
        super().__init__("%s: %s" % (target, message))
        self.target, self.message, self.details = target, message, details


def _spec_dict(spec):
    return {k: v for k, v in spec.__dict__.items()}


class WorkerHandle:
    def __init__(self, spec, options=None, seed=1, workdir=None, timeout=900.0):
        self.spec = spec
        self.name = spec.name
        self.options = options or {}
        self.seed = seed
        self.workdir = workdir or tempfile.mkdtemp(prefix="kvbench-%s-" % spec.name)
        self.timeout = timeout
        self.proc = None
        self.buf = b""
        self.info = {}
        self.ready_seconds = None

    def start(self):
        return self.spawn().handshake()

    def spawn(self):
        """Start the process.  Call from the main thread: the child is told
        to die with the thread that started it (PR_SET_PDEATHSIG)."""
        env = dict(os.environ)
        env.update(self.spec.env)
        env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", __package__ + ".worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, cwd=ROOT, preexec_fn=die_with_parent)
        return self

    def handshake(self):
        """Open the target in the started process; may run in any thread."""
        self.info = self.call("open", spec=_spec_dict(self.spec), workdir=self.workdir, options=self.options,
                              seed=self.seed)
        self.ready_seconds = time.perf_counter() - self.t0
        self.name = self.info.get("name", self.name)
        return self

    def call(self, cmd, timeout=None, **kwargs):
        if self.proc is None or self.proc.poll() is not None:
            raise WorkerError(self.name, "worker process is not running")
        kwargs["cmd"] = cmd
        self.proc.stdin.write((json.dumps(kwargs) + "\n").encode())
        self.proc.stdin.flush()
        reply = json.loads(self._readline(timeout or self.timeout))
        if not reply.get("ok"):
            raise WorkerError(self.name, reply.get("error", "failed"), reply.get("traceback", ""))
        return reply.get("result")

    def _readline(self, timeout):
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise WorkerError(self.name, "no reply within %.0f s; worker killed" % timeout)
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise WorkerError(self.name, "worker exited (code %s)" % self.proc.wait())
                self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def crash(self):
        """End the worker the way a crash would (no close, no flush)."""
        try:
            self.call("crash", timeout=30)
        except WorkerError:
            pass
        self._reap()

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.call("exit", timeout=30)
            except (WorkerError, OSError, ValueError):
                pass
        self._reap()

    def _reap(self):
        if self.proc is None:
            return
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        self.proc = None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class LocalHandle:
    """The same calls, served by a Runner in this process."""

    def __init__(self, spec, options=None, seed=1, workdir=None, timeout=None):
        self.spec = spec
        self.name = spec.name
        self.options = options or {}
        self.seed = seed
        self.workdir = workdir or tempfile.mkdtemp(prefix="kvbench-%s-" % spec.name)
        self.runner = None
        self.info = {}
        self.ready_seconds = None

    def spawn(self):
        return self

    def handshake(self):
        return self.start()

    def start(self):
        from .runner import Runner

        if self.spec.env:
            raise WorkerError(self.name, "needs its own environment %s; run without --in-process" % self.spec.env)
        t0 = time.perf_counter()
        self.runner = Runner(self.spec, self.workdir, self.options, seed=self.seed)
        self.ready_seconds = time.perf_counter() - t0
        t = self.runner.target
        self.info = dict(self.runner.info(), name=t.name, description=t.description, durability=t.durability,
                         kind=t.kind, remote=t.remote, open_seconds=self.ready_seconds)
        self.name = t.name
        return self

    def call(self, cmd, timeout=None, **kwargs):
        try:
            result = getattr(self.runner, cmd)(**kwargs)
        except Exception as exc:
            import traceback

            raise WorkerError(self.name, "%s: %s" % (type(exc).__name__, exc), traceback.format_exc())
        return json.loads(json.dumps(result))

    def crash(self):
        self.runner.close(clean=False)

    def stop(self):
        if self.runner is not None:
            try:
                self.runner.close()
            except Exception:
                pass
            self.runner = None
