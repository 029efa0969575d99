"""Pass search: rise, culmination and set of a satellite over ground stations.

The search propagates the orbit once on a coarse grid (60 s) shared by all stations, keeps
the windows where the satellite is anywhere near a station's sky (elevation above −25°, so
no pass can hide between two samples), re-samples those windows every 5 s and locates the
mask crossings by linear interpolation refined with one secant step, and the culmination by
a parabola through the highest samples refined the same way. Each pass is then labelled with
what decides whether QKD can run: station darkness, satellite in the Earth's shadow, the
Moon's distance from the line of sight and its phase.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

from satqkd.config.models import Station
from satqkd.orbit.ephemeris import (
    in_earth_shadow,
    moon_illuminated_fraction,
    separation_deg,
    sun_moon_itrs_km,
)
from satqkd.orbit.frames import enu_matrix, geodetic_to_itrs_km, look_angles
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.orbit.timescale import iso_utc

COARSE_STEP_S = 60.0
FINE_STEP_S = 5.0
NEAR_SKY_ELEVATION_DEG = -25.0


@dataclass(frozen=True)
class Site:
    """A ground site's Earth-fixed position and local frame, ready for look angles."""

    name: str
    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    itrs_km: NDArray[np.float64]
    enu: NDArray[np.float64]
    mask_azimuth_deg: NDArray[np.float64]
    mask_elevation_deg: NDArray[np.float64]

    @classmethod
    def from_station(cls, station: Station) -> Site:
        """From a station config (horizon mask, if any, interpolated in azimuth)."""
        if station.horizon_mask:
            pts = sorted(station.horizon_mask, key=lambda p: p.azimuth_deg)
            az = np.array([p.azimuth_deg for p in pts])
            el = np.array([p.elevation_deg for p in pts])
        else:
            az, el = np.array([0.0]), np.array([-90.0])
        return cls(
            station.name, station.latitude_deg, station.longitude_deg, station.altitude_m,
            geodetic_to_itrs_km(station.latitude_deg, station.longitude_deg, station.altitude_m),
            enu_matrix(station.latitude_deg, station.longitude_deg), az, el,
        )

    def mask_deg(self, azimuth_deg: NDArray[np.float64]) -> NDArray[np.float64]:
        """Horizon-mask elevation at ``azimuth_deg`` (periodic linear interpolation)."""
        return np.interp(azimuth_deg, self.mask_azimuth_deg, self.mask_elevation_deg, period=360.0)

    def look(self, r_km: NDArray[np.float64], v_km_s: NDArray[np.float64]) -> tuple[NDArray, ...]:
        """Azimuth, elevation (deg), range (km), range rate (km/s) of Earth-fixed states."""
        return look_angles(r_km, v_km_s, self.itrs_km, self.enu)


@dataclass(frozen=True)
class Pass:
    """One pass of a satellite above a station's mask elevation (times in POSIX seconds)."""

    station: str
    rise_unix_s: float
    culmination_unix_s: float
    set_unix_s: float
    max_elevation_deg: float
    min_range_km: float
    min_elevation_deg: float
    station_dark: bool
    satellite_in_shadow: bool
    moon_separation_deg: float
    moon_illumination: float
    sun_elevation_deg: float

    @property
    def duration_s(self) -> float:
        """Time above the mask elevation."""
        return self.set_unix_s - self.rise_unix_s

    @property
    def is_night(self) -> bool:
        """Station dark and satellite in shadow: the usual QKD condition."""
        return self.station_dark and self.satellite_in_shadow

    def to_json(self) -> dict[str, object]:
        """JSON-ready dict with ISO 8601 UTC times (the ``satqkd passes --json`` items)."""
        out = asdict(self)
        for key in ("rise_unix_s", "culmination_unix_s", "set_unix_s"):
            del out[key]
        return {
            "station": self.station,
            "start": iso_utc(self.rise_unix_s),
            "culmination": iso_utc(self.culmination_unix_s),
            "end": iso_utc(self.set_unix_s),
            "max_elevation_deg": round(self.max_elevation_deg, 3),
            "min_range_km": round(self.min_range_km, 3),
            "duration_s": round(self.duration_s, 1),
            "station_dark": bool(self.station_dark),
            "satellite_in_shadow": bool(self.satellite_in_shadow),
            "moon_separation_deg": round(self.moon_separation_deg, 2),
            "moon_illumination": round(self.moon_illumination, 3),
            "sun_elevation_deg": round(self.sun_elevation_deg, 2),
            "min_elevation_deg": self.min_elevation_deg,
        }


def _runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Start and end (exclusive) indices of the runs of True in a boolean array."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _margin(orbit: SatelliteOrbit, site: Site, t: NDArray, min_el: float) -> NDArray:
    r, v = orbit.itrs(t)
    az, el, _, _ = site.look(r, v)
    return el - np.maximum(min_el, site.mask_deg(az))


def _refine_crossings(
    orbit: SatelliteOrbit, site: Site, t0: NDArray, t1: NDArray, f0: NDArray, f1: NDArray,
    min_el: float,
) -> NDArray:
    """Times where the elevation margin crosses zero inside ``[t0, t1]``, all at once.

    Linear interpolation, then two vectorised regula-falsi steps: ~1 ms accuracy.
    """
    t0, t1, f0, f1 = (np.array(a, dtype=np.float64) for a in (t0, t1, f0, f1))
    for _ in range(2):
        t = t0 - f0 * (t1 - t0) / (f1 - f0)
        f = _margin(orbit, site, t, min_el)
        same = (f < 0) == (f0 < 0)
        t0, f0 = np.where(same, t, t0), np.where(same, f, f0)
        t1, f1 = np.where(same, t1, t), np.where(same, f1, f)
    return t0 - f0 * (t1 - t0) / (f1 - f0)


def _refine_culminations(
    orbit: SatelliteOrbit, site: Site, tc: NDArray, step_s: float
) -> NDArray:
    """Times of maximum elevation near ``tc``: parabolas through three samples, twice."""
    tc = np.array(tc, dtype=np.float64)
    for _ in range(2):
        ts = tc[:, None] + np.array([-step_s, 0.0, step_s])[None, :]
        r, v = orbit.itrs(ts.ravel())
        e = site.look(r, v)[1].reshape(ts.shape)
        denom = e[:, 0] - 2.0 * e[:, 1] + e[:, 2]
        shift = np.where(denom < 0, 0.5 * step_s * (e[:, 0] - e[:, 2]) / np.where(
            denom < 0, denom, -1.0), 0.0)
        tc = tc + np.clip(shift, -step_s, step_s)
        step_s /= 5.0
    return tc


def find_passes(
    orbit: SatelliteOrbit,
    stations: Sequence[Station],
    start_unix_s: float,
    end_unix_s: float,
    min_elevation_deg: float = 10.0,
    sun_max_elevation_deg: float = -12.0,
) -> list[Pass]:
    """All passes of ``orbit`` above ``min_elevation_deg`` (and each horizon mask).

    Returns passes of every station, sorted by rise time. A pass already in progress at
    ``start_unix_s`` or still in progress at ``end_unix_s`` is cut there.
    """
    if end_unix_s <= start_unix_s:
        return []
    sites = [Site.from_station(s) for s in stations]
    t_coarse = np.arange(start_unix_s, end_unix_s + COARSE_STEP_S, COARSE_STEP_S)
    t_coarse[-1] = min(t_coarse[-1], end_unix_s)
    r_c, v_c = orbit.itrs(t_coarse)
    raw: list[tuple[str, float, float, float, float]] = []
    for site in sites:
        el_c = site.look(r_c, v_c)[1]
        windows = [
            (i0, i1) for i0, i1 in _runs(el_c > NEAR_SKY_ELEVATION_DEG)
            # Between two coarse samples the elevation can rise at most ~30° (at zenith).
            if el_c[i0:i1].max() > min_elevation_deg - 30.0
        ]
        raw.extend(_passes_in_windows(orbit, site, t_coarse, windows, end_unix_s,
                                      min_elevation_deg))
    raw.sort(key=lambda p: p[1])
    return _label(orbit, sites, raw, sun_max_elevation_deg)


def _passes_in_windows(
    orbit: SatelliteOrbit, site: Site, t_coarse: NDArray, windows: list[tuple[int, int]],
    end_unix_s: float, min_el: float,
) -> list[tuple[str, float, float, float, float]]:
    """Passes inside coarse windows, found on one fine grid propagated in a single call."""
    if not windows:
        return []
    grids = []
    for i0, i1 in windows:
        ta = t_coarse[max(i0 - 1, 0)]
        tb = min(t_coarse[min(i1, len(t_coarse) - 1)], end_unix_s)
        grid = np.arange(ta, tb, FINE_STEP_S)
        grids.append(np.append(grid, tb))
    t = np.concatenate(grids)
    first = np.zeros(len(t), dtype=bool)
    first[np.cumsum([0] + [len(g) for g in grids[:-1]])] = True
    r, v = orbit.itrs(t)
    az, el, _, _ = site.look(r, v)
    margin = el - np.maximum(min_el, site.mask_deg(az))
    above = margin > 0
    # A run must not continue across two windows: a window's first sample starts a new run.
    runs = []
    for j0, j1 in _runs(above):
        cuts = np.flatnonzero(first[j0 + 1:j1]) + j0 + 1
        bounds = [j0, *cuts.tolist(), j1]
        runs.extend(itertools.pairwise(bounds))
    if not runs:
        return []
    j0 = np.array([a for a, _ in runs])
    j1 = np.array([b for _, b in runs])
    open_start = first[j0]
    open_end = (j1 == len(t)) | first[np.minimum(j1, len(t) - 1)]
    lo = np.where(open_start, j0, j0 - 1)
    rise = np.where(open_start, t[j0], 0.0)
    k = ~open_start
    if k.any():
        rise[k] = _refine_crossings(orbit, site, t[lo[k]], t[j0[k]], margin[lo[k]],
                                    margin[j0[k]], min_el)
    hi = np.where(open_end, j1 - 1, j1)
    set_ = np.where(open_end, t[j1 - 1], 0.0)
    k = ~open_end
    if k.any():
        set_[k] = _refine_crossings(orbit, site, t[j1[k] - 1], t[hi[k]], margin[j1[k] - 1],
                                    margin[hi[k]], min_el)
    peak = np.array([a + int(np.argmax(el[a:b])) for a, b in runs])
    culm = np.clip(_refine_culminations(orbit, site, t[peak], FINE_STEP_S), rise, set_)
    return [
        (site.name, float(a), float(c), float(b), min_el)
        for a, c, b in zip(rise, culm, set_, strict=True)
    ]


def _label(
    orbit: SatelliteOrbit,
    sites: Sequence[Site],
    raw: Sequence[tuple[str, float, float, float, float]],
    sun_max_elevation_deg: float,
) -> list[Pass]:
    """Attach geometry and sky conditions to raw (station, rise, culmination, set) tuples."""
    if not raw:
        return []
    by_name = {s.name: s for s in sites}
    n_samples = 16
    frac = np.linspace(0.0, 1.0, n_samples)
    rise = np.array([p[1] for p in raw])
    culm = np.array([p[2] for p in raw])
    set_ = np.array([p[3] for p in raw])
    t_grid = rise[:, None] + frac[None, :] * (set_ - rise)[:, None]
    t_all = np.concatenate([culm, t_grid.ravel()])
    r_all, v_all = orbit.itrs(t_all)
    # The Moon moves < 0.1° during a pass: its culmination position serves the whole pass.
    sun, moon = sun_moon_itrs_km(culm)
    out = []
    for k, (name, t_rise, t_culm, t_set, min_el) in enumerate(raw):
        site = by_name[name]
        rows = np.concatenate([[k], len(raw) + k * n_samples + np.arange(n_samples)])
        r, v = r_all[rows], v_all[rows]
        _, el, rng, _ = site.look(r, v)
        los = r - site.itrs_km
        moon_sep = separation_deg(los, moon[k] - site.itrs_km)
        sun_dir = sun[k] - site.itrs_km
        sun_el = float(np.degrees(np.arcsin(site.enu[2] @ sun_dir / np.linalg.norm(sun_dir))))
        out.append(Pass(
            station=name, rise_unix_s=t_rise, culmination_unix_s=t_culm, set_unix_s=t_set,
            max_elevation_deg=float(el[0]), min_range_km=float(rng.min()),
            min_elevation_deg=min_el,
            station_dark=sun_el < sun_max_elevation_deg,
            satellite_in_shadow=bool(in_earth_shadow(r[0], sun[k])),
            moon_separation_deg=float(moon_sep.min()),
            moon_illumination=float(moon_illuminated_fraction(sun[k], moon[k])),
            sun_elevation_deg=sun_el,
        ))
    return out
