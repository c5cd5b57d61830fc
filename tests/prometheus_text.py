"""A strict reader of Prometheus' text exposition format for the metrics tests.

Written from the format's description (prometheus.io, "Exposition formats") and independent of
kvstore.metrics.parse_prometheus, which ``kvstore stats URL`` uses: what this accepts a Prometheus
server accepts, and the conventions (counters end in ``_total``, histograms cumulative with a
``+Inf`` bucket equal to ``_count``) hold.
"""

import math
import re

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{((?:{_LABEL})(?:,{_LABEL})*)?\}})? (\S+)$")
_VALUE = re.compile(r"^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$")


def strict_parse(text):
    """``{family: {"type", "help", "samples": {(name, labels tuple): value}}}``; AssertionError on anything
    that a Prometheus server would refuse or that the format's conventions forbid."""
    assert text.endswith("\n")
    families, current = {}, None
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert re.fullmatch(_NAME, name) and name not in families, line
            current = families[name] = {"help": help_text, "type": None, "samples": {}}
            current["name"] = name
            continue
        if line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert current is not None and current["name"] == name and current["type"] is None, line
            assert kind in ("counter", "gauge", "histogram"), line
            current["type"] = kind
            continue
        assert not line.startswith("#") and line, repr(line)
        m = _SAMPLE.match(line)
        assert m, line
        name = m.group(1)
        assert current is not None and current["type"] is not None, line
        base = current["name"]
        if current["type"] == "histogram":
            assert name in (base + "_bucket", base + "_sum", base + "_count"), line
        else:
            assert name == base, line
        labels = tuple(re.findall(_LABEL, m.group(2) or ""))
        assert len({k for k, _ in labels}) == len(labels), line
        assert _VALUE.match(m.group(m.lastindex)), line
        value = float(m.group(m.lastindex).replace("Inf", "inf"))
        key = (name, labels)
        assert key not in current["samples"], line
        current["samples"][key] = value
    for name, family in families.items():
        if family["type"] == "counter":
            assert name.endswith("_total"), name
            assert all(v >= 0 for v in family["samples"].values()), name
        if family["type"] == "histogram":
            check_histogram(name, family["samples"])
    return families


def check_histogram(name, samples):
    series = {}
    for (sample, labels), value in samples.items():
        rest = tuple(kv for kv in labels if kv[0] != "le")
        entry = series.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if sample.endswith("_bucket"):
            (le,) = [v for k, v in labels if k == "le"]
            entry["buckets"].append((float(le.replace("Inf", "inf")), value))
        elif sample.endswith("_sum"):
            entry["sum"] = value
        else:
            entry["count"] = value
    for rest, entry in series.items():
        bounds = [b for b, _ in entry["buckets"]]
        assert bounds == sorted(bounds) and bounds[-1] == math.inf, (name, rest)
        counts = [n for _, n in entry["buckets"]]
        assert counts == sorted(counts), (name, rest)
        assert entry["count"] == counts[-1] and entry["sum"] is not None, (name, rest)


def value(families, name, **labels):
    family = families.get(name) or families.get(re.sub(r"_(sum|count|bucket)$", "", name))
    if family is None:
        return 0
    want = set((k, str(v)) for k, v in labels.items())
    return sum(v for (sample, pairs), v in family["samples"].items() if sample == name and want <= set(pairs))
