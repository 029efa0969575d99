"""Ground tracks on a map outline (matplotlib, Agg: files only).

The map is equirectangular (longitude and latitude in degrees, equal aspect) with a
graticule and the coastlines shipped in the package (:mod:`satqkd.report.coastline`,
Natural Earth 1:50m; nothing is downloaded); the stations are marked and the tracks drawn on
it. The sub-satellite point is the geodetic point below the satellite (WGS84, Bowring's
closed-form latitude: far below a pixel's error for plotting).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from numpy.typing import NDArray

from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.report.coastline import borders, land_rings, nan_joined

__all__ = [
    "draw_ground_track",
    "draw_map",
    "plot_ground_tracks",
    "subsatellite_points",
    "visibility_radius_deg",
]

_WGS84_A_KM = 6378.137
_WGS84_F = 1.0 / 298.257223563
_EARTH_MEAN_RADIUS_KM = 6371.0
_SEA = "#dbe9f4"
_LAND = "#f3efe4"


def subsatellite_points(
    orbit: SatelliteOrbit, t_unix_s: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Geodetic latitude and longitude (deg, longitude in [−180, 180)) below the satellite."""
    r, _ = orbit.itrs(t_unix_s)
    x, y, z = r[:, 0], r[:, 1], r[:, 2]
    a = _WGS84_A_KM
    b = a * (1.0 - _WGS84_F)
    e2 = 1.0 - (b / a) ** 2
    ep2 = (a / b) ** 2 - 1.0
    p = np.hypot(x, y)
    theta = np.arctan2(z * a, p * b)
    lat = np.arctan2(z + ep2 * b * np.sin(theta) ** 3, p - e2 * a * np.cos(theta) ** 3)
    lon = np.degrees(np.arctan2(y, x))
    return np.degrees(lat), (lon + 180.0) % 360.0 - 180.0


def visibility_radius_deg(altitude_km: float, min_elevation_deg: float) -> float:
    """Earth-central angle (deg) within which a satellite at ``altitude_km`` is above
    ``min_elevation_deg`` (spherical Earth)."""
    e = np.radians(min_elevation_deg)
    ratio = _EARTH_MEAN_RADIUS_KM / (_EARTH_MEAN_RADIUS_KM + altitude_km)
    return float(np.degrees(np.arccos(ratio * np.cos(e)) - e))


def _split_at_antimeridian(lat: NDArray, lon: NDArray) -> tuple[NDArray, NDArray]:
    """Insert NaNs where the track jumps across ±180° so no line crosses the whole map."""
    jump = np.flatnonzero(np.abs(np.diff(lon)) > 180.0) + 1
    return np.insert(lat, jump, np.nan), np.insert(lon, jump, np.nan)


def draw_map(ax: Axes, extent: tuple[float, float, float, float]) -> None:
    """Graticule, sea and land (coastlines, borders) on ``ax``.

    ``extent`` is ``(lon_min, lon_max, lat_min, lat_max)`` in degrees.
    """
    lon0, lon1, lat0, lat1 = extent
    span = max(lon1 - lon0, lat1 - lat0)
    step = 30.0 if span > 90 else 10.0 if span > 30 else 5.0
    ax.set_xticks(np.arange(np.ceil(lon0 / step) * step, lon1 + 1e-9, step))
    ax.set_yticks(np.arange(np.ceil(lat0 / step) * step, lat1 + 1e-9, step))
    ax.grid(True, color="0.75", lw=0.5)
    ax.set_axisbelow("line")  # above the land, below the tracks
    ax.set_xlim(lon0, lon1)
    ax.set_ylim(lat0, lat1)
    ax.set_aspect("equal")
    ax.set_facecolor(_SEA)
    rings: dict[bool, list[NDArray[np.float64]]] = {False: [], True: []}
    for (lon, lat), hole in land_rings():
        if lon.max() >= lon0 and lon.min() <= lon1 and lat.max() >= lat0 and lat.min() <= lat1:
            rings[hole].append(np.column_stack([lon, lat]))
    for hole, polygons in rings.items():
        land = PolyCollection(polygons, facecolors=_SEA if hole else _LAND,
                              edgecolors="#6b6b5b", linewidths=0.5, zorder=0.55 if hole else 0.5)
        land.set_in_layout(False)
        ax.add_collection(land, autolim=False)
    border_lon, border_lat = nan_joined(borders())
    (line,) = ax.plot(border_lon, border_lat, color="#9a9a8a", lw=0.4, zorder=0.6)
    line.set_in_layout(False)
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")


def draw_ground_track(
    ax: Axes, lat_deg: NDArray, lon_deg: NDArray, *, highlight: NDArray[np.bool_] | None = None,
    color: str = "tab:blue", label: str | None = None,
) -> None:
    """Draw one track on ``ax`` (thin), with the ``highlight`` samples (e.g. QKD) thick."""
    la, lo = _split_at_antimeridian(np.asarray(lat_deg), np.asarray(lon_deg))
    ax.plot(lo, la, color=color, lw=0.8, alpha=0.6, label=label)
    if highlight is not None and np.any(highlight):
        la_h = np.where(highlight, lat_deg, np.nan)
        lo_h = np.where(highlight, lon_deg, np.nan)
        la_h, lo_h = _split_at_antimeridian(la_h, lo_h)
        ax.plot(lo_h, la_h, color=color, lw=3.0)


def plot_ground_tracks(
    tracks: Sequence[tuple[str, NDArray, NDArray, NDArray[np.bool_] | None]],
    stations: Mapping[str, tuple[float, float]],
    path: str | Path,
    *,
    title: str = "",
    extent: tuple[float, float, float, float] | None = None,
    visibility_deg: float | None = None,
) -> Path:
    """Ground tracks ``(label, lat, lon, highlight)`` and stations ``name → (lat, lon)``.

    ``extent`` is ``(lon_min, lon_max, lat_min, lat_max)`` (default: around the stations,
    30° margin); ``visibility_deg`` draws each station's visibility circle of that radius.
    """
    if extent is None:
        lats = [v[0] for v in stations.values()] or [0.0]
        lons = [v[1] for v in stations.values()] or [0.0]
        extent = (max(min(lons) - 30.0, -180.0), min(max(lons) + 30.0, 180.0),
                  max(min(lats) - 25.0, -90.0), min(max(lats) + 25.0, 90.0))
    fig, ax = plt.subplots(figsize=(8, 5.5), constrained_layout=True)
    draw_map(ax, extent)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (label, lat, lon, highlight) in enumerate(tracks):
        draw_ground_track(ax, lat, lon, highlight=highlight, color=colors[k % len(colors)],
                          label=label if len(tracks) <= 8 else None)
    for name, (lat, lon) in stations.items():
        ax.plot(lon, lat, marker="^", color="k", ms=8, zorder=5)
        ax.annotate(name, (lon, lat), xytext=(5, 5), textcoords="offset points", fontsize=9)
        if visibility_deg is not None:
            az = np.linspace(0.0, 2.0 * np.pi, 181)
            ax.plot(lon + visibility_deg * np.sin(az) / np.cos(np.radians(lat)),
                    lat + visibility_deg * np.cos(az), color="0.5", lw=0.6, ls="--")
    if tracks and len(tracks) <= 8:
        ax.legend(loc="lower left", fontsize=8)
    ax.set_title(title or "ground track")
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
