"""The figure of one campaign pass (one PNG): where, how high, how many counts, what key.

Four panels: the ground track on the map outline around the station, with the QKD part thick
(:mod:`satqkd.report.groundtrack`); elevation and range versus time; the count rate with
the expected background (and the range); QBER per packet with the cumulative final key per
block (:mod:`satqkd.report.pass_plots`). It works for both fidelities: in ``fast`` mode the
count rate is the expected one and the packet QBERs are expectations.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from satqkd.campaign.outcome import PassOutcome
from satqkd.config.models import Mission, Station
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.report.groundtrack import draw_ground_track, draw_map, subsatellite_points
from satqkd.report.pass_plots import (
    draw_elevation_and_range,
    draw_qber_and_key,
    draw_range_and_count_rate,
)

__all__ = ["pass_figure", "pass_figure_name", "pass_png", "write_pass_figure"]

_TRACK_MARGIN_S = 900.0
"""Ground track drawn this long before and after the QKD window."""


def pass_figure_name(outcome: PassOutcome) -> str:
    """File name of the pass's PNG: satellite, station and window start (unique per pass)."""
    satellite = "".join(ch if ch.isalnum() else "-" for ch in outcome.satellite).strip("-")
    return f"pass_{satellite}_{outcome.station}_{int(outcome.window_start_unix_s)}.png"


def pass_figure(
    outcome: PassOutcome, mission: Mission, station: Station,
    orbit: SatelliteOrbit | None = None,
) -> Figure:
    """The four-panel figure of an evaluated pass (``outcome`` must carry its timeline)."""
    orbit = orbit or SatelliteOrbit.from_config(mission.satellite)
    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5), constrained_layout=True)
    key_text = (f"{outcome.final_key_bits:,} bits final key" if outcome.evaluated
                else outcome.status)
    fig.suptitle(f"{outcome.satellite} → {station.name}, night of {outcome.night}, "
                 f"max elevation {outcome.max_elevation_deg:.1f}° ({outcome.mode}): "
                 f"{key_text}")

    t = np.arange(outcome.window_start_unix_s - _TRACK_MARGIN_S,
                  outcome.window_end_unix_s + _TRACK_MARGIN_S, 10.0)
    lat, lon = subsatellite_points(orbit, t)
    qkd = (t >= outcome.window_start_unix_s) & (t <= outcome.window_end_unix_s)
    ax = axes[0, 0]
    draw_map(ax, (station.longitude_deg - 35.0, station.longitude_deg + 35.0,
                  station.latitude_deg - 22.0, station.latitude_deg + 22.0))
    draw_ground_track(ax, lat, lon, highlight=qkd, label=outcome.satellite)
    ax.plot(station.longitude_deg, station.latitude_deg, marker="^", color="k", ms=8, zorder=5)
    ax.annotate(station.name, (station.longitude_deg, station.latitude_deg), xytext=(5, 5),
                textcoords="offset points", fontsize=9)
    ax.set_title("ground track (QKD window thick)")

    timeline = list(outcome.timeline)
    if timeline:
        draw_elevation_and_range(axes[0, 1], timeline)
        draw_range_and_count_rate(axes[1, 0], timeline)
    axes[0, 1].set_title("elevation and range")
    axes[1, 0].set_title("count rate" + (" (expected)" if outcome.mode == "fast" else ""))
    draw_qber_and_key(axes[1, 1], list(outcome.packet_list), list(outcome.block_list))
    axes[1, 1].set_title(f"QBER per packet, key per block ({outcome.packets} packets, "
                         f"{outcome.blocks} blocks)")
    return fig


def write_pass_figure(
    outcome: PassOutcome, mission: Mission, station: Station, out_dir: str | Path,
    orbit: SatelliteOrbit | None = None, dpi: int = 80,
) -> Path:
    """Write the pass's figure as ``out_dir/<pass_figure_name>``; returns the path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / pass_figure_name(outcome)
    fig = pass_figure(outcome, mission, station, orbit)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def pass_png(
    outcome: PassOutcome, mission: Mission, station: Station,
    orbit: SatelliteOrbit | None = None, dpi: int = 80,
) -> bytes:
    """The pass's figure as PNG bytes (for embedding in the HTML report)."""
    fig = pass_figure(outcome, mission, station, orbit)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()
