"""Figures of a whole campaign (matplotlib, Agg): key over the nights, key against elevation,
the stations on the map. Each returns PNG bytes, ready to embed in the HTML report."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from satqkd.campaign.results import CampaignResult
from satqkd.report.groundtrack import draw_map, visibility_radius_deg

__all__ = ["cumulative_key_png", "key_vs_elevation_png", "station_map_png"]


def _png(fig: Figure, dpi: int = 90) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def cumulative_key_png(result: CampaignResult) -> bytes:
    """Cumulative final key per station versus night (Mbit), from the station-day table."""
    per_station: dict[str, list[tuple[dt.date, int]]] = defaultdict(list)
    for row in result.station_days():
        per_station[row["station"]].append((dt.date.fromisoformat(row["night"]),
                                            row["final_key_bits"]))
    fig, ax = plt.subplots(figsize=(9, 4.2), constrained_layout=True)
    for station, rows in per_station.items():
        rows.sort()
        nights = [r[0] for r in rows]
        total_mbit = np.cumsum([r[1] for r in rows]) / 1e6
        ax.step(nights, total_mbit, where="post", label=station)
    ax.set_xlabel("night (local date)")
    ax.set_ylabel("cumulative final key (Mbit)")
    ax.set_title("final key per station over the campaign")
    ax.grid(True, color="0.85")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return _png(fig)


def key_vs_elevation_png(result: CampaignResult) -> bytes:
    """Final key of every evaluated pass against its maximum elevation, one colour per station."""
    fig, ax = plt.subplots(figsize=(9, 4.2), constrained_layout=True)
    for station in result.stations:
        mine = [o for o in result.evaluated if o.station == station]
        ax.plot([o.max_elevation_deg for o in mine], [o.final_key_bits / 1e3 for o in mine],
                "o", ms=4, alpha=0.8, label=station)
    ax.set_xlabel("maximum elevation of the pass (°)")
    ax.set_ylabel("final key (kbit)")
    ax.set_title("key per pass against elevation (the Moon and haze scatter it)")
    ax.grid(True, color="0.85")
    ax.legend(fontsize=8)
    return _png(fig)


def station_map_png(result: CampaignResult, altitude_km: float, min_elevation_deg: float) -> bytes:
    """The campaign's stations on the map, each with the circle where the satellite (at
    ``altitude_km``) is above ``min_elevation_deg``."""
    lats = [s.latitude_deg for s in result.stations.values()]
    lons = [s.longitude_deg for s in result.stations.values()]
    radius_deg = visibility_radius_deg(altitude_km, min_elevation_deg)
    margin = radius_deg + 8.0
    extent = (max(min(lons) - margin, -180.0), min(max(lons) + margin, 180.0),
              max(min(lats) - margin, -90.0), min(max(lats) + margin, 90.0))
    fig, ax = plt.subplots(figsize=(9, 5.5), constrained_layout=True)
    draw_map(ax, extent)
    az = np.linspace(0.0, 2.0 * np.pi, 181)
    for key, s in result.stations.items():
        ax.plot(s.longitude_deg, s.latitude_deg, marker="^", color="k", ms=8, zorder=5)
        ax.annotate(key, (s.longitude_deg, s.latitude_deg), xytext=(5, 5),
                    textcoords="offset points", fontsize=9)
        ax.plot(s.longitude_deg + radius_deg * np.sin(az) / np.cos(np.radians(s.latitude_deg)),
                s.latitude_deg + radius_deg * np.cos(az), color="tab:blue", lw=0.8, ls="--")
    ax.set_title(f"stations; dashed: satellite above {min_elevation_deg:g}° "
                 f"(altitude {altitude_km:.0f} km)")
    return _png(fig)
