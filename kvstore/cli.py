"""``kvstore`` command line: serve | bench | check | repair | restore | stats | export | import | copy | replicate | diff | demo.

Each subcommand lives beside the code it drives; this module only routes, and
imports a subcommand's module when that subcommand runs (start-up stays fast).
"""

import argparse
import importlib
import importlib.util
import sys

#: subcommand -> (module, function, one-line help).  The function receives argv.  A tuple of
#: modules is tried in order: the benchmark harness is installed as ``kvstore_bench`` (the
#: repository's ``bench/`` folder), and is ``bench`` in a checkout where kvstore is not installed.
SUBCOMMANDS = {
    "serve": ("kvstore.server.main", "main", "run the DynamoDB-compatible HTTP server"),
    "bench": (("kvstore_bench.cli", "bench.cli"), "main", "run the benchmark harness"),
    "check": ("kvstore.engine.tools", "check_main", "verify a database directory without changing it"),
    "repair": ("kvstore.engine.tools", "repair_main", "drop corrupt log records and make a database openable"),
    "restore": ("kvstore.restore_cli", "main", "restore a table to a point in time (--to-time ISO8601|epoch)"),
    "stats": ("kvstore.stats", "main", "print metrics: of a running server (URL) or a closed directory (PATH)"),
    "export": ("kvstore.transfer", "export_main", "export a table in DynamoDB's export format (JSON lines)"),
    "import": ("kvstore.transfer", "import_main", "import a table from DynamoDB's export format"),
    "copy": ("kvstore.migration.copy", "main", "copy tables between kvstore directories and DynamoDB endpoints"),
    "replicate": ("kvstore.migration.replicate", "main", "copy tables, then follow the source's stream into the target"),
    "diff": ("kvstore.migration.verify", "main", "compare tables item by item between two stores"),
    "demo": ("kvstore.demo", "main", "create a table, write, query and print, on an embedded database"),
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in SUBCOMMANDS:
        parser = argparse.ArgumentParser(prog="kvstore", description="kvstore command line")
        sub = parser.add_subparsers(dest="command", metavar="COMMAND")
        for name, (_, _, text) in SUBCOMMANDS.items():
            sub.add_parser(name, help=text)
        if argv and argv[0] not in ("-h", "--help"):
            parser.error(f"unknown command {argv[0]!r}")
        parser.print_help()
        return 0 if argv else 2
    modules, function, _ = SUBCOMMANDS[argv[0]]
    return getattr(_first_importable(modules), function)(argv[1:]) or 0


def _first_importable(modules):
    if isinstance(modules, str):
        return importlib.import_module(modules)
    for name in modules[:-1]:
        if importlib.util.find_spec(name.partition(".")[0]) is not None:
            return importlib.import_module(name)
    return importlib.import_module(modules[-1])


if __name__ == "__main__":
    sys.exit(main())
