"""Plots of one pass (matplotlib, Agg backend: files only, no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def plot_range_and_count_rate(
    timeline: Sequence[dict[str, float]], path: str | Path, title: str = ""
) -> Path:
    """Range and detection count rate versus time in the pass (like Jinan-1's Fig. 4b)."""
    t = [row["t_s"] for row in timeline]
    fig, ax1 = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    ax1.plot(t, [row["count_rate_cps"] / 1e3 for row in timeline], color="tab:red",
             label="count rate")
    ax1.plot(t, [row["background_cps"] / 1e3 for row in timeline], color="tab:gray", ls=":",
             label="background (expected, gated)")
    ax1.set_xlabel("time in QKD window (s)")
    ax1.set_ylabel("detections (kcps)", color="tab:red")
    ax2 = ax1.twinx()
    ax2.plot(t, [row["range_km"] for row in timeline], color="tab:blue", label="range")
    ax2.set_ylabel("range (km)", color="tab:blue")
    ax1.legend(loc="upper left")
    ax1.set_title(title)
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_qber_and_key(
    packets: Sequence[dict[str, Any]], blocks: Sequence[dict[str, Any]], path: str | Path,
    title: str = "",
) -> Path:
    """QBER per packet and final key per block versus time (like Jinan-1's Fig. 4c)."""
    fig, ax1 = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    ok = [p for p in packets if p.get("decoded", True)]
    bad = [p for p in packets if not p.get("decoded", True)]
    ax1.plot([p["t_s"] for p in ok], [100 * p["qber"] for p in ok], "o", color="tab:red",
             label="QBER per packet")
    if bad:
        ax1.plot([p["t_s"] for p in bad], [100 * p["qber"] for p in bad], "x", color="k",
                 label="packet not decoded")
    ax1.set_xlabel("time in QKD window (s)")
    ax1.set_ylabel("QBER (%)", color="tab:red")
    ax1.set_ylim(bottom=0)
    ax2 = ax1.twinx()
    cumulative = 0
    xs, ys = [0.0], [0.0]
    for b in blocks:
        cumulative += b["bits"]
        xs.append(b["t_s"])
        ys.append(cumulative / 1e3)
    ax2.step(xs, ys, where="post", color="tab:green", label="final key (cumulative)")
    ax2.set_ylabel("final key (kbit)", color="tab:green")
    ax1.legend(loc="upper left")
    ax2.legend(loc="upper right")
    ax1.set_title(title)
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
