"""A PNG of SFU CPU per forwarded stream against N, one line per SFU (from bench_sfu results)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

__all__ = ["plot_cpu_per_stream"]


def plot_cpu_per_stream(measurements: list[dict[str, Any]], labels: dict[str, str], path: Path) -> Path:
    """Plot mean SFU CPU % per forwarded stream (CPU % ÷ N) for each target; return *path*."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for m in measurements:
        n = int(m["subscribers"])
        series[m["target"]][n].append(float(m["sfu_cpu_percent"]) / n)
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=110)
    for target, points in series.items():
        ns = sorted(points)
        axes.plot(ns, [sum(points[n]) / len(points[n]) for n in ns], marker="o", label=labels.get(target, target))
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel("subscribers N (one 1 Mbps VP8 publisher)")
    axes.set_ylabel("SFU CPU % of a core per forwarded stream")
    axes.set_title("Cost of one forwarded stream")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
