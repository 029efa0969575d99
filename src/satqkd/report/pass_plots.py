"""Plots of one pass (matplotlib, Agg backend: files only, no display needed).

Each figure has a ``draw_*`` function that draws on given axes (so the campaign's per-pass
page can put them side by side) and a ``plot_*`` function that writes it alone as a PNG
(``satqkd simulate --plot``, ``satqkd pass --plot``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

__all__ = [
    "draw_elevation_and_range",
    "draw_qber_and_key",
    "draw_range_and_count_rate",
    "plot_qber_and_key",
    "plot_range_and_count_rate",
]


def draw_range_and_count_rate(ax: Axes, timeline: Sequence[dict[str, float]]) -> Axes:
    """Detection count rate (and expected gated background) with the range on a twin axis.

    ``timeline`` rows need ``t_s``, ``count_rate_cps``, ``background_cps`` and ``range_km``;
    returns the twin (range) axes.
    """
    t = [row["t_s"] for row in timeline]
    ax.plot(t, [row["count_rate_cps"] / 1e3 for row in timeline], color="tab:red",
            label="count rate")
    ax.plot(t, [row["background_cps"] / 1e3 for row in timeline], color="tab:gray", ls=":",
            label="background (expected, gated)")
    ax.set_xlabel("time in QKD window (s)")
    ax.set_ylabel("detections (kcps)", color="tab:red")
    twin = ax.twinx()
    twin.plot(t, [row["range_km"] for row in timeline], color="tab:blue", label="range")
    twin.set_ylabel("range (km)", color="tab:blue")
    ax.legend(loc="upper left", fontsize=8)
    return twin


def draw_elevation_and_range(ax: Axes, timeline: Sequence[dict[str, float]]) -> Axes:
    """Elevation with the range on a twin axis, versus time in the QKD window."""
    t = [row["t_s"] for row in timeline]
    ax.plot(t, [row["elevation_deg"] for row in timeline], color="tab:purple",
            label="elevation")
    ax.set_xlabel("time in QKD window (s)")
    ax.set_ylabel("elevation (°)", color="tab:purple")
    twin = ax.twinx()
    twin.plot(t, [row["range_km"] for row in timeline], color="tab:blue", label="range")
    twin.set_ylabel("range (km)", color="tab:blue")
    return twin


def draw_qber_and_key(
    ax: Axes, packets: Sequence[dict[str, Any]], blocks: Sequence[dict[str, Any]]
) -> Axes:
    """QBER per packet (%) and the cumulative final key per block (kbit, twin axis)."""
    ok = [p for p in packets if p.get("decoded", True)]
    bad = [p for p in packets if not p.get("decoded", True)]
    ax.plot([p["t_s"] for p in ok], [100 * p["qber"] for p in ok], "o", color="tab:red",
            ms=4, label="QBER per packet")
    if bad:
        ax.plot([p["t_s"] for p in bad], [100 * p["qber"] for p in bad], "x", color="k",
                label="packet not decoded")
    ax.set_xlabel("time in QKD window (s)")
    ax.set_ylabel("QBER (%)", color="tab:red")
    ax.set_ylim(bottom=0)
    twin = ax.twinx()
    cumulative = 0
    xs, ys = [0.0], [0.0]
    for b in blocks:
        cumulative += b["bits"]
        xs.append(b["t_s"])
        ys.append(cumulative / 1e3)
    twin.step(xs, ys, where="post", color="tab:green", label="final key (cumulative)")
    twin.set_ylabel("final key (kbit)", color="tab:green")
    twin.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize=8)
    twin.legend(loc="upper right", fontsize=8)
    return twin


def plot_range_and_count_rate(
    timeline: Sequence[dict[str, float]], path: str | Path, title: str = ""
) -> Path:
    """Range and detection count rate versus time in the pass (like Jinan-1's Fig. 4b)."""
    fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    draw_range_and_count_rate(ax, timeline)
    ax.set_title(title)
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_qber_and_key(
    packets: Sequence[dict[str, Any]], blocks: Sequence[dict[str, Any]], path: str | Path,
    title: str = "",
) -> Path:
    """QBER per packet and final key per block versus time (like Jinan-1's Fig. 4c)."""
    fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    draw_qber_and_key(ax, packets, blocks)
    ax.set_title(title)
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
