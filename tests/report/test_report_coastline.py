"""The shipped map outline: it loads offline and puts land and sea where they are."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.path import Path as PolygonPath

from satqkd.report.coastline import borders, land_rings, nan_joined


def _on_land(lat_deg: float, lon_deg: float) -> bool:
    """Inside an outer land ring and inside no hole (inland sea)."""
    inside = {False: False, True: False}
    for (lon, lat), hole in land_rings():
        if PolygonPath(np.column_stack([lon, lat])).contains_point((lon_deg, lat_deg)):
            inside[hole] = True
    return inside[False] and not inside[True]


def test_outline_loads_with_sane_coordinates() -> None:
    rings = land_rings()
    assert len(rings) > 1000  # Natural Earth 1:50m has ~1400 land rings
    lon, lat = nan_joined([r for r, _ in rings])
    assert np.nanmin(lon) >= -180.0 and np.nanmax(lon) <= 180.0
    assert np.nanmin(lat) >= -90.0 and np.nanmax(lat) <= 84.0
    assert all(r[0][0] == r[0][-1] and r[1][0] == r[1][-1] for r, _ in rings)  # closed
    assert len(borders()) > 200


@pytest.mark.parametrize("place, lat, lon, land", [
    ("Jinan", 36.68, 117.12, True),
    ("Nanshan", 43.48, 87.18, True),
    ("Hefei", 31.83, 117.14, True),
    ("Yellow Sea", 35.0, 123.0, False),
    ("Pacific", 30.0, 150.0, False),
    ("Caspian Sea", 42.0, 50.5, False),
    ("Sahara", 23.0, 10.0, True),
])
def test_land_and_sea(place: str, lat: float, lon: float, land: bool) -> None:
    assert _on_land(lat, lon) is land, place
