"""The registry of targets: name -> how to build it, whether it can run here.

Every target runs in its own worker process (``bench.worker``), so targets
never share a heap, a garbage collector or an import (the pure-Python kvstore
core is selected by its worker's environment).
"""

import fnmatch
import importlib
import importlib.util
from dataclasses import dataclass, field


@dataclass
class Spec:
    name: str
    factory: str  # "module:Class"
    kwargs: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    #: "server" | "endpoint:<url>" | None - filled in by the suite
    needs: str = None
    optional: bool = False  # not part of "all"
    summary: str = ""

    def build(self, workdir, options):
        module, _, cls = self.factory.partition(":")
        return getattr(importlib.import_module(module, __package__), cls)(workdir, options, **self.kwargs)

    def available(self):
        """None if the target can run here, else the reason it cannot."""
        try:
            return _CHECKS.get(self.name.split("(")[0], _ok)(self)
        except Exception as exc:  # an import error is a reason, not a crash
            return "%s: %s" % (type(exc).__name__, exc)


def _ok(spec):
    return None


def _lmdb(spec):
    return None if importlib.util.find_spec("lmdb") else "the lmdb package is not installed"


def _kvstore_open(spec):
    import kvstore

    return None if hasattr(kvstore, "open") else "kvstore.open is not available in this tree"


def _kvstore_hook(spec):
    if importlib.util.find_spec("kvstore.testing") is None:
        return "kvstore.testing is not available in this tree"
    import kvstore.testing

    return None if hasattr(kvstore.testing, "mock_dynamodb") else "kvstore.testing.mock_dynamodb is missing"


def _kvstore_server(spec):
    for module in ("kvstore.server", "kvstore.server.main"):
        try:
            if importlib.util.find_spec(module) is None:
                return "kvstore serve is not available in this tree"
        except ModuleNotFoundError:
            return "kvstore serve is not available in this tree"
    return None


def _moto(spec):
    return None if importlib.util.find_spec("moto") else "moto is not installed"


_EMBEDDED = ".kvstore_embedded:KvstoreTarget"
_BUILTIN = [
    Spec("noop", ".floor:NoopTarget", summary="harness floor"),
    Spec("dict", ".floor:DictTarget", summary="in-memory floor"),
    Spec("sqlite-wal-normal", ".sqlite:SqliteTarget", {"synchronous": "NORMAL"}, summary="baseline"),
    Spec("sqlite-wal-full", ".sqlite:SqliteTarget", {"synchronous": "FULL"}, summary="baseline"),
    Spec("lmdb", ".lmdb_target:LmdbTarget", summary="baseline"),
    Spec("lmdb-sync", ".lmdb_target:LmdbTarget", {"sync": True}, optional=True, summary="baseline"),
    Spec("kvstore", _EMBEDDED, {"durability": "batch"}, summary="embedded, compiled core"),
    Spec("kvstore-sync", _EMBEDDED, {"durability": "sync", "name": "kvstore-sync"}, summary="embedded, fsync"),
    Spec("kvstore-memory", _EMBEDDED, {"memory": True, "name": "kvstore-memory"}, summary="embedded, :memory:"),
    Spec("kvstore-python", _EMBEDDED, {"durability": "batch", "pure": True, "name": "kvstore-python"},
         env={"KVSTORE_PURE_PYTHON": "1"}, summary="embedded, pure-Python core"),
    Spec("kvstore-mock", ".dynamo:Boto3InProcessTarget", {"hook": "kvstore"}, summary="boto3 hook"),
    Spec("kvstore-http", ".http:RawHttpTarget", needs="server", summary="over the wire, raw HTTP"),
    Spec("kvstore-http-boto3", ".dynamo:Boto3EndpointTarget", needs="server",
         summary="over the wire, boto3"),
    Spec("moto", ".dynamo:Boto3InProcessTarget", {"hook": "moto"}, optional=True,
         summary="boto3 -> moto, in-process"),
]

_CHECKS = {
    "lmdb": _lmdb, "lmdb-sync": _lmdb,
    "kvstore": _kvstore_open, "kvstore-sync": _kvstore_open, "kvstore-memory": _kvstore_open,
    "kvstore-python": _kvstore_open,
    "kvstore-mock": _kvstore_hook,
    "kvstore-http": _kvstore_server, "kvstore-http-boto3": _kvstore_server,
    "moto": _moto,
}


def builtin():
    return {s.name: Spec(**{k: (dict(v) if isinstance(v, dict) else v) for k, v in s.__dict__.items()})
            for s in _BUILTIN}


def endpoint_specs(endpoints):
    """Two targets per ``--endpoint`` URL: raw HTTP and boto3."""
    out = {}
    for i, url in enumerate(endpoints):
        stem = "endpoint" if i == 0 else "endpoint%d" % (i + 1)
        common = {"endpoint": url}
        out[stem + "-http"] = Spec(stem + "-http", ".http:RawHttpTarget",
                                   dict(common, name=stem + "-http"), needs="endpoint", summary=url)
        out[stem + "-boto3"] = Spec(stem + "-boto3", ".dynamo:Boto3EndpointTarget",
                                    dict(common, name=stem + "-boto3"), needs="endpoint", summary=url)
    return out


def select(patterns, endpoints=()):
    """Specs named by comma-separated names or patterns; ``all`` = every
    non-optional built-in target plus the endpoint targets."""
    specs = builtin()
    specs.update(endpoint_specs(endpoints))
    if not patterns or patterns == ["all"]:
        return [s for s in specs.values() if not s.optional]
    out = []
    for pattern in patterns:
        if pattern == "all":
            matched = [s for s in specs.values() if not s.optional]
        else:
            matched = [s for name, s in specs.items() if fnmatch.fnmatchcase(name, pattern)]
        if not matched:
            raise SystemExit("unknown target %r (known: %s)" % (pattern, ", ".join(specs)))
        out.extend(s for s in matched if s not in out)
    return out
