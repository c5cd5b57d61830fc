"""Reports: a Markdown document (printed and written) and the JSON the
Markdown is made from.  Ratios are always against one baseline target
measured in the same invocation."""

import json

from .machine import one_line


def fmt_ns(ns):
    if ns is None:
        return "-"
    if ns < 1_000:
        return "%.2f µs" % (ns / 1e3)
    if ns < 1_000_000:
        us = ns / 1e3
        return ("%.1f µs" if us < 100 else "%.0f µs") % us
    ms = ns / 1e6
    return ("%.2f ms" if ms < 10 else "%.1f ms" if ms < 100 else "%.0f ms") % ms


def fmt_rate(x):
    if x is None:
        return "-"
    if x >= 1e6:
        return "%.2fM" % (x / 1e6)
    if x >= 1e4:
        return "%.0fk" % (x / 1e3)
    if x >= 1e3:
        return "%.1fk" % (x / 1e3)
    return "%.0f" % x


def fmt_ratio(x):
    if x is None:
        return "-"
    return ("%.2f×" if x < 10 else "%.1f×" if x < 100 else "%.0f×") % x


def fmt_bytes(b):
    if b is None:
        return "-"
    for unit, size in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if abs(b) >= size:
            return "%.1f %s" % (b / size, unit)
    return "%.0f B" % b


def _secs(x):
    if x is None:
        return "-"
    return "%.1f ms" % (x * 1e3) if x < 1 else "%.2f s" % x


def _table(header, rows, text_columns=1):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i < text_columns else "--:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def ratios(results):
    """{workload: {target: {"latency": p50 / base p50, "throughput": tput / base tput}}}"""
    base = results.get("baseline")
    by = {}
    for c in results["cells"]:
        by.setdefault(c["workload"], {})[c["target"]] = c
    out = {}
    for workload, cells in by.items():
        b = cells.get(base)
        out[workload] = {}
        for target, c in cells.items():
            lat = thr = None
            if b and b["latency_ns"]["p50"] and c["latency_ns"]["p50"]:
                lat = c["latency_ns"]["p50"] / b["latency_ns"]["p50"]
            if b and b["throughput"]:
                thr = c["throughput"] / b["throughput"]
            out[workload][target] = {"latency": lat, "throughput": thr}
    return out


def target_order(results):
    kinds = {"kvstore": 0, "endpoint": 1, "baseline": 2, "floor": 3}
    names = list(results["targets"])
    return sorted(names, key=lambda n: (kinds.get(results["targets"][n]["kind"], 4), names.index(n)))


def headline(results, metric="latency"):
    """Workload x target matrix of p50 (or throughput) with the ratio."""
    order = [t for t in target_order(results) if t != "noop"]
    rat = ratios(results)
    by = {}
    for c in results["cells"]:
        by.setdefault(c["workload"], {})[c["target"]] = c
    rows = []
    for workload in results["workloads"]:
        row = [workload]
        for t in order:
            c = by.get(workload, {}).get(t)
            if c is None:
                row.append("n/a")
                continue
            r = rat[workload][t][metric]
            if metric == "latency":
                row.append("%s (%s)" % (fmt_ns(c["latency_ns"]["p50"]), fmt_ratio(r)))
            else:
                row.append("%s (%s)" % (fmt_rate(c["throughput"]), fmt_ratio(r)))
        rows.append(row)
    return _table(["workload"] + order, rows)


def _p50s(results):
    by = {}
    for c in results["cells"]:
        if c["latency_ns"]["p50"]:
            by.setdefault(c["target"], {})[c["workload"]] = c["latency_ns"]["p50"]
    return by


def summary_ratios(results):
    """For each kvstore / endpoint target against each baseline and floor:
    the geometric mean over workloads of p50 / comparator p50, and the
    workloads where the ratio is best and worst."""
    import math

    p50 = _p50s(results)
    kinds = {n: t.get("kind") for n, t in results["targets"].items()}
    subjects = [n for n in target_order(results) if kinds.get(n) in ("kvstore", "endpoint") and n in p50]
    comparators = [n for n in target_order(results) if kinds.get(n) in ("baseline", "floor") and n != "noop"
                   and n in p50]
    out = {}
    for s in subjects:
        for c in comparators:
            common = [w for w in p50[s] if w in p50[c]]
            if not common:
                continue
            r = {w: p50[s][w] / p50[c][w] for w in common}
            best = min(r, key=r.get)
            worst = max(r, key=r.get)
            out[(s, c)] = {"geomean": math.exp(sum(math.log(x) for x in r.values()) / len(r)),
                           "best": (best, r[best]), "worst": (worst, r[worst]), "workloads": len(r)}
    return subjects, comparators, out


def headline_summary(results):
    subjects, comparators, out = summary_ratios(results)
    if not out:
        return []
    rows = []
    for s in subjects:
        row = [s]
        for c in comparators:
            x = out.get((s, c))
            row.append("-" if x is None else "**%s** (%s %s … %s %s)" % (
                fmt_ratio(x["geomean"]), x["best"][0], fmt_ratio(x["best"][1]), x["worst"][0],
                fmt_ratio(x["worst"][1])))
        rows.append(row)
    return ["## Headline", "",
            "Median latency of each kvstore face (and each endpoint) divided by each alternative's, as the "
            "geometric mean over the workloads both ran, with the best and the worst workload. Below 1× "
            "kvstore is faster.", "",
            _table(["", ] + ["vs " + c for c in comparators], rows), ""]


def markdown(results, title="kvstore benchmark"):
    m = results["machine"]
    cfg = results["config"]
    base = results.get("baseline")
    lines = ["# %s" % title, ""]
    lines.append("Machine: %s. OS: %s. Run %s, commit %s, %.0f s." % (
        one_line(m), m["os"], m["date"], m.get("git_commit") or "?", results.get("elapsed_seconds", 0)))
    lines.append("")
    lines.append("Packages: " + ", ".join("%s %s" % kv for kv in m["packages"].items()) + ".")
    lines.append("")
    if results.get("kind") == "comparison" and results["cells"]:
        lines.append(
            "Method: each target runs in its own process; per workload a %.1f s warm-up, then %d rounds of "
            "~%.2f s (at most %d operations) that alternate between targets; latency per operation from "
            "`time.perf_counter_ns`, seed %s. Data sets: items %d records, usertable %d records." % (
                cfg["warmup"], cfg["rounds"], cfg["round_seconds"], cfg["max_round_ops"], cfg["seed"],
                cfg["items"], cfg["records"]))
        lines.append("")
        floor = [c for c in results["cells"] if c["target"] == "noop"]
        if floor:
            lines.append("Harness floor (noop target): p50 %s, p99 %s per operation." % (
                fmt_ns(min(c["latency_ns"]["p50"] for c in floor)), fmt_ns(max(c["latency_ns"]["p99"] for c in floor))))
            lines.append("")
        lines += headline_summary(results)
        lines += ["## Median latency, and its ratio to %s (lower is better)" % base, "", headline(results), ""]
        lines += ["## Throughput, one client, and its ratio to %s (higher is better)" % base, "",
                  headline(results, "throughput"), ""]
        lines += _details(results)
    if results.get("concurrency"):
        lines += _concurrency(results)
    if results.get("scaling"):
        lines += scaling_markdown(results["scaling"])
    lines += _targets(results)
    return "\n".join(lines) + "\n"


def _details(results):
    base = results.get("baseline")
    rat = ratios(results)
    out = ["## Per workload", ""]
    by = {}
    for c in results["cells"]:
        by.setdefault(c["workload"], []).append(c)
    order = target_order(results)
    for workload, info in results["workloads"].items():
        params = ", ".join("%s: %s" % kv for kv in info["parameters"].items())
        out += ["### %s" % workload, "", "%s. %s." % (info["description"], params), ""]
        rows = []
        for c in sorted(by.get(workload, []), key=lambda c: order.index(c["target"]) if c["target"] in order else 99):
            l = c["latency_ns"]
            r = rat.get(workload, {}).get(c["target"], {})
            rows.append([c["target"], fmt_ns(l["p50"]), fmt_ns(l["p90"]), fmt_ns(l["p99"]), fmt_ns(l["p99.9"]),
                         fmt_ns(l["max"]), fmt_rate(c["throughput"]), fmt_ratio(r.get("latency")),
                         fmt_ratio(r.get("throughput")), c["ops"],
                         (str(c["errors"]) + (" (%s)" % c["error"][:60] if c["error"] else "")) if c["errors"] else ""])
        out.append(_table(["target", "p50", "p90", "p99", "p99.9", "max", "ops/s", "p50 ×" + base,
                           "ops/s ×" + base, "n", "errors"], rows))
        missing = [x for x in results["not_supported"] if x["workload"] == workload]
        if missing:
            out += ["", "Not run: " + "; ".join("%s (%s)" % (x["target"], x["reason"]) for x in missing) + "."]
        out.append("")
    return out


def _concurrency(results):
    out = ["## Throughput against concurrency", "",
           "Threads for in-process targets (they share one interpreter lock), client processes for targets "
           "reached over a socket.", ""]
    rows = {}
    levels = sorted({c["concurrency"] for c in results["concurrency"]})
    for c in results["concurrency"]:
        rows.setdefault((c["workload"], c["target"], c["mode"]), {})[c["concurrency"]] = c
    table = []
    for (workload, target, mode), by_level in rows.items():
        table.append([workload, target, mode] + [
            "%s (p99 %s)" % (fmt_rate(by_level[l]["throughput"]), fmt_ns(by_level[l]["latency_ns"]["p99"]))
            if l in by_level else "-" for l in levels])
    out.append(_table(["workload", "target", "clients as"] + ["%d" % l for l in levels], table, text_columns=3))
    out.append("")
    return out


def scaling_markdown(scaling):
    out = ["## Scaling with data size", "",
           "Each target and size in a fresh process, loading the items data set (with its GSI). RSS/record = growth "
           "of the process's resident set while loading, divided by the records (for LMDB it includes the pages "
           "of the memory map it touched; sqlite keeps data on disk and holds only its page cache); disk/record = "
           "bytes the target's files occupy after loading. Reopen = a new process opens the directory the "
           "previous one left and answers one read: after a kill (no close), then after a clean close.", ""]
    rows = []
    for s in scaling.get("sizes", []):
        for t, r in s["targets"].items():
            if "error" in r:
                rows.append([s["records"], t, "failed: %s" % r["error"][:60]] + [""] * 9)
                continue
            lat = r.get("workloads", {})
            rows.append([s["records"], t, fmt_rate(r["load_rate"]), fmt_bytes(r.get("bytes_per_record")),
                         fmt_bytes(r.get("disk_bytes_per_record")) if r.get("disk_bytes_per_record") else "-",
                         fmt_bytes(r.get("rss_after")),
                         fmt_ns(lat.get("get", {}).get("p50")), fmt_ns(lat.get("get", {}).get("p99")),
                         fmt_ns(lat.get("put", {}).get("p50")), fmt_ns(lat.get("put", {}).get("p99")),
                         _secs(r.get("reopen_seconds")), _secs(r.get("reopen_clean_seconds"))])
    out.append(_table(["records", "target", "load rec/s", "RSS/record", "disk/record", "RSS", "get p50", "get p99",
                       "put p50", "put p99", "reopen after kill", "reopen after close"], rows))
    out.append("")
    if scaling.get("startup"):
        out += ["### Start-up", "",
                "A fresh process until its first read is answered: interpreter, imports, opening an empty store, "
                "creating the items table, one write, one read (median of %d). *import + open*: importing the "
                "target's library and opening the store; *create table + write + read*: the rest after that; "
                "the remainder of the first column is the interpreter and the harness's worker starting." %
                scaling.get("startup_repeats", 1), ""]
        out.append(_table(["target", "process start to first read", "import + open", "create table + write + read"],
                          [[t, "%.0f ms" % (r["ready_seconds"] * 1e3), "%.1f ms" % (r["open_seconds"] * 1e3),
                            "%.1f ms" % (r.get("first_op_seconds", 0) * 1e3)]
                           for t, r in scaling["startup"].items()]))
        out.append("")
    return out


def _targets(results):
    out = ["## Targets", ""]
    rows = []
    for name in target_order(results):
        t = results["targets"][name]
        rows.append([name, t["description"], t["durability"]])
    if rows:
        out.append(_table(["target", "what", "an acknowledged write survives"], rows, text_columns=3))
        out.append("")
    if results.get("server"):
        s = results["server"]
        out += ["Server: `%s`, ready in %.2f s." % (s["command"], s["started_seconds"]), ""]
    for key, label in (("skipped", "Skipped"), ("failed", "Failed")):
        if results.get(key):
            out += ["%s: " % label + "; ".join("%s (%s)" % kv for kv in results[key].items()) + ".", ""]
    return out


def write_json(results, path, digits=2):
    """Write the results; histograms keep ``digits`` significant digits
    (the percentiles beside them were computed from the exact ones)."""
    from .histogram import Histogram

    out = dict(results)
    out["cells"] = [dict(c, hist=Histogram.from_dict(c["hist"]).to_dict(digits)) if c.get("hist") else c
                    for c in results.get("cells", [])]
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


def read_json(path):
    with open(path) as f:
        return json.load(f)
