"""A target's own process.  The suite sends one JSON command per line on
stdin and reads one JSON reply per line from the real stdout; everything else
the process prints goes to stderr.

Commands: open, load, supports, calibrate, round, rss, info, close, reopen,
exit.  ``python -m bench.worker`` is started by ``bench.pool``; nothing else
should need to speak this protocol.
"""

import json
import os
import sys
import tempfile
import time
import traceback


def serve(stdin, stdout):
    from .runner import Runner
    from .targets import Spec

    runner = None
    for line in stdin:
        msg = json.loads(line)
        cmd = msg.pop("cmd")
        try:
            if cmd == "open":
                spec = Spec(**msg["spec"])
                workdir = msg.get("workdir") or tempfile.mkdtemp(prefix="kvbench-")
                t0 = time.perf_counter()
                runner = Runner(spec, workdir, msg.get("options") or {}, seed=msg.get("seed", 1))
                reply = runner.info()
                reply["open_seconds"] = time.perf_counter() - t0
                reply["name"] = runner.target.name
                reply["description"] = runner.target.description
                reply["durability"] = runner.target.durability
                reply["kind"] = runner.target.kind
                reply["remote"] = runner.target.remote
            elif cmd == "exit":
                _send(stdout, {"ok": True})
                return
            elif cmd == "crash":
                # Leave the store as a killed process would: no close, no flush.
                _send(stdout, {"ok": True})
                os._exit(0)
            else:
                reply = getattr(runner, cmd)(**msg)
            _send(stdout, {"ok": True, "result": reply})
        except BaseException as exc:
            _send(stdout, {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc),
                           "traceback": traceback.format_exc()})


def _send(stdout, obj):
    stdout.write(json.dumps(obj) + "\n")
    stdout.flush()


def main():
    # Keep the protocol stream for replies; route stray prints to stderr.
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin, protocol)


if __name__ == "__main__":
    main()
