"""The figures of one campaign pass (PNG files): where, how high, how many counts, what key.

Four figures per pass: the ground track around the pass with the QKD part thick and the
station marked (:mod:`satqkd.report.groundtrack`), elevation and range versus time, and the
two figures of :mod:`satqkd.report.pass_plots` (range with the count rate; QBER per packet
with the cumulative key per block). They work for both fidelities: in ``fast`` mode the
count rate is the expected one and the packet QBERs are expectations.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from satqkd.campaign.outcome import PassOutcome
from satqkd.config.models import Mission, Station
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.report.groundtrack import plot_ground_tracks, subsatellite_points
from satqkd.report.pass_plots import plot_qber_and_key, plot_range_and_count_rate

__all__ = ["plot_elevation_and_range", "write_pass_figures"]

_TRACK_MARGIN_S = 900.0


def plot_elevation_and_range(
    outcome: PassOutcome, path: str | Path, title: str = ""
) -> Path:
    """Elevation and range versus time in the QKD window (from the outcome's timeline)."""
    t = [row["t_s"] for row in outcome.timeline]
    fig, ax1 = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    ax1.plot(t, [row["elevation_deg"] for row in outcome.timeline], color="tab:purple",
             label="elevation")
    ax1.set_xlabel("time in QKD window (s)")
    ax1.set_ylabel("elevation (°)", color="tab:purple")
    ax2 = ax1.twinx()
    ax2.plot(t, [row["range_km"] for row in outcome.timeline], color="tab:blue", label="range")
    ax2.set_ylabel("range (km)", color="tab:blue")
    ax1.set_title(title)
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_pass_figures(
    outcome: PassOutcome, mission: Mission, station: Station, out_dir: str | Path,
    orbit: SatelliteOrbit | None = None,
) -> dict[str, Path]:
    """Write the four figures of ``outcome`` into ``out_dir``; returns name → path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{outcome.station}_{outcome.night}_{int(outcome.window_start_unix_s)}"
    title = (f"{outcome.satellite} → {station.name}, {outcome.night}, "
             f"{outcome.max_elevation_deg:.1f}° ({outcome.mode})")
    orbit = orbit or SatelliteOrbit.from_config(mission.satellite)
    t = np.arange(outcome.window_start_unix_s - _TRACK_MARGIN_S,
                  outcome.window_end_unix_s + _TRACK_MARGIN_S, 10.0)
    lat, lon = subsatellite_points(orbit, t)
    qkd = (t >= outcome.window_start_unix_s) & (t <= outcome.window_end_unix_s)
    extent = (station.longitude_deg - 35.0, station.longitude_deg + 35.0,
              station.latitude_deg - 25.0, station.latitude_deg + 25.0)
    figures = {
        "ground_track": plot_ground_tracks(
            [(outcome.satellite, lat, lon, qkd)],
            {station.name: (station.latitude_deg, station.longitude_deg)},
            out / f"{stem}_track.png", title=f"{title}: ground track (QKD part thick)",
            extent=extent),
        "elevation_range": plot_elevation_and_range(outcome, out / f"{stem}_elevation.png",
                                                    title),
        "count_rate": plot_range_and_count_rate(list(outcome.timeline),
                                                out / f"{stem}_counts.png", title),
        "qber_key": plot_qber_and_key(list(outcome.packet_list), list(outcome.block_list),
                                      out / f"{stem}_qber_key.png", title),
    }
    return figures
