"""PNG plots of a results dict (matplotlib, an optional extra):

- ``latency_cdf.png``: latency CDFs per target, one panel per workload;
- ``throughput_concurrency.png``: throughput against clients;
- ``latency_size.png``: get / put p50 and p99 and memory per record against
  data size.
"""

import os

from .histogram import Histogram
from .report import target_order


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colors(names):
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {n: cmap(i % cmap.N) for i, n in enumerate(names)}


def _style(results, name):
    """Solid lines for kvstore, dashed for the baselines, dotted for floors."""
    kind = results.get("targets", {}).get(name, {}).get("kind")
    return {"kvstore": "-", "endpoint": "-", "baseline": "--", "floor": ":"}.get(kind, "-")


def write_plots(results, directory, workloads=None):
    """Write every plot the results have data for; returns the paths."""
    plt = _plt()
    os.makedirs(directory, exist_ok=True)
    made = []
    names = [t for t in target_order(results) if t != "noop"]
    for t in sorted({r for s in (results.get("scaling") or {}).get("sizes", []) for r in s["targets"]}):
        if t not in names:
            names.append(t)
    colors = _colors(names)
    if results.get("cells"):
        made.append(_cdf(plt, results, directory, colors, workloads))
    if results.get("concurrency"):
        made.append(_concurrency(plt, results, directory, colors))
    if (results.get("scaling") or {}).get("sizes"):
        made.append(_size(plt, results, directory, colors))
    return made


def _cdf(plt, results, directory, colors, workloads):
    by = {}
    for c in results["cells"]:
        if c["target"] != "noop":
            by.setdefault(c["workload"], []).append(c)
    names = [w for w in results["workloads"] if w in by and (not workloads or w in workloads)]
    cols = 4
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, workload in zip(axes.flat, names):
        for c in by[workload]:
            points = Histogram.from_dict(c["hist"]).cdf()
            if points:
                ax.plot([p[0] / 1e3 for p in points], [p[1] for p in points], label=c["target"],
                        color=colors.get(c["target"]), linestyle=_style(results, c["target"]), linewidth=1.3)
        ax.set_xscale("log")
        ax.set_title(workload, fontsize=10)
        ax.set_xlabel("latency (µs, log)", fontsize=8)
        ax.set_ylim(0, 1.0)
        ax.grid(True, which="both", alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.flat:
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in labels:
                handles.append(h)
                labels.append(l)
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=8)
    fig.suptitle("Latency CDF per workload (fraction of operations at or below a latency)", fontsize=11)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    path = os.path.join(directory, "latency_cdf.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _concurrency(plt, results, directory, colors):
    rows = results["concurrency"]
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    fig, axes = plt.subplots(1, len(workloads), figsize=(5.5 * len(workloads), 5), squeeze=False)
    for ax, workload in zip(axes.flat, workloads):
        series = {}
        for r in rows:
            if r["workload"] == workload and r["ops"]:
                series.setdefault((r["target"], r["mode"]), []).append((r["concurrency"], r["throughput"]))
        for (target, mode), pts in series.items():
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label="%s (%s)" % (target, mode),
                    color=colors.get(target), linestyle=_style(results, target))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("concurrent clients")
        ax.set_ylabel("operations / s (log)")
        ax.set_title(workload)
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=8)
    fig.suptitle("Throughput against concurrency (threads share one interpreter lock; "
                 "processes are separate clients of one server)", fontsize=11)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    path = os.path.join(directory, "throughput_concurrency.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _size(plt, results, directory, colors):
    sizes = results["scaling"]["sizes"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    targets = list(dict.fromkeys(t for s in sizes for t in s["targets"]))
    for t in targets:
        pts = [(s["records"], s["targets"][t]) for s in sizes if t in s["targets"] and "error" not in s["targets"][t]]
        if not pts:
            continue
        xs = [p[0] for p in pts]
        for ax, workload in ((axes[0], "get"), (axes[1], "put")):
            p50 = [p[1]["workloads"].get(workload, {}).get("p50") for p in pts]
            p99 = [p[1]["workloads"].get(workload, {}).get("p99") for p in pts]
            if all(v is not None for v in p50):
                ax.plot(xs, [v / 1e3 for v in p50], marker="o", color=colors.get(t), label=t + " p50")
                ax.plot(xs, [v / 1e3 for v in p99], marker="x", linestyle=":", color=colors.get(t), label=t + " p99")
        mem = [p[1].get("bytes_per_record") for p in pts]
        if all(v is not None for v in mem):
            axes[2].plot(xs, mem, marker="o", color=colors.get(t), label=t)
    for ax, title, label in ((axes[0], "get latency", "µs (log)"), (axes[1], "put latency", "µs (log)"),
                             (axes[2], "memory per record (RSS growth / records)", "bytes")):
        ax.set_xscale("log")
        if ax is not axes[2]:
            ax.set_yscale("log")
        ax.set_xlabel("records (log)")
        ax.set_ylabel(label)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Latency and memory against data size", fontsize=11)
    fig.tight_layout()
    path = os.path.join(directory, "latency_size.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
