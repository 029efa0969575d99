"""The geometry of the QKD part of a pass, sampled finely enough for pulse-level simulation.

A :class:`PassGeometry` holds, on a regular grid (default 0.1 s) over the QKD window,
the satellite's Earth-fixed state, the station's look angles, range and range rate, and the
Moon's angular distance from the line of sight. Everything photon-level interpolates on it
(the range changes by at most ~0.7 km in 0.1 s, far below what the link budget resolves;
time of flight is interpolated quadratically by :mod:`satqkd.photonics.timing`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from satqkd.config.models import Procedure, Station
from satqkd.errors import InputError
from satqkd.orbit.ephemeris import (
    moon_illuminated_fraction,
    separation_deg,
    sun_moon_itrs_km,
)
from satqkd.orbit.passes import Pass, Site
from satqkd.orbit.propagate import SatelliteOrbit


@dataclass(frozen=True)
class PassGeometry:
    """Time series over the QKD window of a pass (``t_s`` from the window's start)."""

    start_unix_s: float
    t_s: NDArray[np.float64]
    range_km: NDArray[np.float64]
    range_rate_km_s: NDArray[np.float64]
    elevation_deg: NDArray[np.float64]
    azimuth_deg: NDArray[np.float64]
    moon_separation_deg: NDArray[np.float64]
    moon_illumination: float
    moon_elevation_deg: float
    sat_itrs_km: NDArray[np.float64]
    sat_velocity_km_s: NDArray[np.float64]
    station_itrs_km: NDArray[np.float64]
    max_elevation_deg: float

    @property
    def duration_s(self) -> float:
        """Length of the QKD window."""
        return float(self.t_s[-1] - self.t_s[0])


def qkd_window(
    orbit: SatelliteOrbit, station: Station, pass_: Pass, procedure: Procedure,
    duration_s: float | None = None,
) -> tuple[float, float]:
    """Start and end (POSIX s) of QKD in a pass, following the mission's procedure.

    QKD runs from the rising crossing of ``qkd_start_elevation_deg`` to the setting crossing
    of ``qkd_end_elevation_deg``; if that is longer than ``max_qkd_duration_s`` (or the given
    ``duration_s``, e.g. the 300 s of data of a published pass) the window is that long,
    centred on the culmination, where the link is best.
    """
    site = Site.from_station(station)
    t = np.arange(pass_.rise_unix_s - 60.0, pass_.set_unix_s + 60.0, 0.5)
    r, v = orbit.itrs(t)
    el = site.look(r, v)[1]
    rising = (t <= pass_.culmination_unix_s) & (el >= procedure.qkd_start_elevation_deg)
    setting = (t >= pass_.culmination_unix_s) & (el >= procedure.qkd_end_elevation_deg)
    if not rising.any() or not setting.any():
        raise InputError(
            f"the pass peaks at {pass_.max_elevation_deg:.1f}°, below the QKD elevations "
            f"({procedure.qkd_start_elevation_deg:g}° / {procedure.qkd_end_elevation_deg:g}°)",
            field="procedure",
        )
    start, end = float(t[rising][0]), float(t[setting][-1])
    cap = procedure.max_qkd_duration_s if duration_s is None else duration_s
    if end - start > cap:
        mid = min(max(pass_.culmination_unix_s, start + cap / 2), end - cap / 2)
        start, end = mid - cap / 2, mid + cap / 2
    return start, end


def pass_geometry(
    orbit: SatelliteOrbit, station: Station, start_unix_s: float, end_unix_s: float,
    step_s: float = 0.1,
) -> PassGeometry:
    """Sample the geometry between ``start_unix_s`` and ``end_unix_s`` every ``step_s``.

    The grid spans the window exactly (its last sample is the window's end; the step is
    shortened slightly to fit) and has at least 4 samples, which the cubic range spline of
    the time tags needs, so windows shorter than ``3·step_s`` work too.
    """
    site = Site.from_station(station)
    duration_s = end_unix_s - start_unix_s
    n_samples = max(int(np.ceil(duration_s / step_s - 1e-9)) + 1, 4)
    t_s = np.linspace(0.0, duration_s, n_samples)
    t_abs = start_unix_s + t_s
    r, v = orbit.itrs(t_abs)
    az, el, rng, rr = site.look(r, v)
    mid = start_unix_s + 0.5 * (end_unix_s - start_unix_s)
    sun, moon = sun_moon_itrs_km(np.array([mid]))
    moon_sep = separation_deg(r - site.itrs_km, moon[0] - site.itrs_km)
    moon_dir = moon[0] - site.itrs_km
    moon_el = float(np.degrees(np.arcsin(site.enu[2] @ moon_dir / np.linalg.norm(moon_dir))))
    return PassGeometry(
        start_unix_s=start_unix_s, t_s=t_s, range_km=rng, range_rate_km_s=rr,
        elevation_deg=el, azimuth_deg=az, moon_separation_deg=moon_sep,
        moon_illumination=float(moon_illuminated_fraction(sun[0], moon[0])),
        moon_elevation_deg=moon_el, sat_itrs_km=r, sat_velocity_km_s=v,
        station_itrs_km=site.itrs_km, max_elevation_deg=float(el.max()),
    )
