"""kvstore's benchmark harness: named workloads (single operations and the
YCSB core workloads), targets behind one interface (kvstore embedded and over
the wire, any DynamoDB-compatible endpoint, sqlite3, LMDB, a dict floor), and
reports with latency percentiles, throughput and ratios to a baseline.

Run it as ``kvstore bench`` or ``python -m bench``; see ``bench.cli``."""
