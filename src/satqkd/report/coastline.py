"""World map outline for ground-track maps, from data shipped in the package (no download).

Natural Earth's 1:50m land polygons and country borders (public domain), stored as
polylines in ``satqkd/report/data/world_50m.npz`` (provenance and format in
``data/README.md`` beside it). At 0.01° (≈ 1 km) rounding and ≥ 0.04° point spacing they
are finer than a pass map's pixels (a 70°-wide map at 1000 pixels: 0.07° per pixel).
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from importlib import resources

import numpy as np
from numpy.typing import NDArray

__all__ = ["borders", "land_rings", "nan_joined"]

_DATA_FILE = "world_50m.npz"

Polyline = tuple[NDArray[np.float64], NDArray[np.float64]]
"""``(lon_deg, lat_deg)`` of one line or ring; longitudes in [−180, 180]."""


@lru_cache(maxsize=1)
def _load() -> dict[str, NDArray[np.int64]]:
    ref = resources.files("satqkd.report").joinpath("data", _DATA_FILE)
    with resources.as_file(ref) as path, np.load(path) as data:
        return {name: np.asarray(data[name], dtype=np.int64) for name in data.files}


def _polylines(prefix: str) -> list[Polyline]:
    data = _load()
    lon = data[f"{prefix}_lon_centideg"] / 100.0
    lat = data[f"{prefix}_lat_centideg"] / 100.0
    starts = data[f"{prefix}_starts"]
    return [(lon[a:b], lat[a:b]) for a, b in itertools.pairwise(starts) if b > a]


def land_rings() -> list[tuple[Polyline, bool]]:
    """The closed rings of the land polygons, each with whether it is a hole (an inland sea)."""
    holes = _load()["land_is_hole"].astype(bool)
    return list(zip(_polylines("land"), holes.tolist(), strict=True))


def borders() -> list[Polyline]:
    """The land borders between countries (polylines)."""
    return _polylines("border")


def nan_joined(lines: list[Polyline]) -> Polyline:
    """All ``lines`` as one pair of arrays with NaN breaks (one matplotlib ``plot`` call)."""
    if not lines:
        return np.array([]), np.array([])
    gap = np.array([np.nan])
    lon = np.concatenate([part for lo, _ in lines for part in (lo, gap)])
    lat = np.concatenate([part for _, la in lines for part in (la, gap)])
    return lon, lat
