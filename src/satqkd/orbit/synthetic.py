"""Synthetic orbits turned into two-line element sets, for missions without a public TLE.

Jinan-1's historical TLE is not public; its preset is a 500-km Sun-synchronous orbit whose
inclination follows from the J2 condition and whose node follows from the local time of the
ascending node (LTAN). Tiangong-2 flew a 42.8° circular orbit at ~390 km. Both are written as
TLEs so that everything downstream propagates them with SGP4 exactly like a real TLE.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from sgp4.api import WGS72, Satrec
from sgp4.exporter import export_tle

from satqkd.config.models import CircularOrbit, SsoOrbit

MU_KM3_S2 = 398600.8  # WGS-72, the constants SGP4 uses
EARTH_RADIUS_KM = 6378.135
J2 = 0.001082616
TROPICAL_YEAR_S = 365.2421897 * 86400.0
_SGP4_EPOCH0 = dt.datetime(1949, 12, 31, tzinfo=dt.UTC)


def sun_synchronous_inclination_deg(altitude_km: float, eccentricity: float = 0.0) -> float:
    """Inclination whose J2 nodal precession follows the mean Sun (one turn per year)."""
    a_km = EARTH_RADIUS_KM + altitude_km
    node_rate_rad_s = 2.0 * math.pi / TROPICAL_YEAR_S
    cos_i = (
        -2.0 * node_rate_rad_s * a_km**3.5 * (1.0 - eccentricity**2) ** 2
        / (3.0 * J2 * EARTH_RADIUS_KM**2 * math.sqrt(MU_KM3_S2))
    )
    return math.degrees(math.acos(cos_i))


def mean_sun_right_ascension_deg(epoch: dt.datetime) -> float:
    """Right ascension of the mean Sun (its mean longitude), degrees in [0, 360)."""
    days_j2000 = (epoch - dt.datetime(2000, 1, 1, 12, tzinfo=dt.UTC)).total_seconds() / 86400.0
    return (280.460 + 0.9856474 * days_j2000) % 360.0


def _satrec(
    *, epoch: dt.datetime, altitude_km: float, inclination_deg: float, raan_deg: float,
    eccentricity: float, mean_anomaly_deg: float, bstar: float, norad_id: int,
) -> Satrec:
    a_km = EARTH_RADIUS_KM + altitude_km
    mean_motion_rad_min = math.sqrt(MU_KM3_S2 / a_km**3) * 60.0
    sat = Satrec()
    sat.sgp4init(
        WGS72, "i", norad_id,
        (epoch - _SGP4_EPOCH0).total_seconds() / 86400.0,
        bstar, 0.0, 0.0, eccentricity, 0.0,
        math.radians(inclination_deg), math.radians(mean_anomaly_deg),
        mean_motion_rad_min, math.radians(raan_deg % 360.0),
    )
    return sat


def tle_from_orbit(orbit: SsoOrbit | CircularOrbit) -> tuple[str, str]:
    """The two TLE lines of a synthetic orbit (checksums included)."""
    if isinstance(orbit, SsoOrbit):
        inclination_deg = sun_synchronous_inclination_deg(orbit.altitude_km, orbit.eccentricity)
        raan_deg = mean_sun_right_ascension_deg(orbit.epoch) + (orbit.ltan_hours - 12.0) * 15.0
        eccentricity = orbit.eccentricity
    else:
        inclination_deg = orbit.inclination_deg
        raan_deg = orbit.raan_deg
        eccentricity = 0.0001
    sat = _satrec(
        epoch=orbit.epoch, altitude_km=orbit.altitude_km, inclination_deg=inclination_deg,
        raan_deg=raan_deg, eccentricity=eccentricity, mean_anomaly_deg=orbit.mean_anomaly_deg,
        bstar=orbit.bstar, norad_id=orbit.norad_id,
    )
    line1, line2 = export_tle(sat)
    return line1, line2


def orbit_period_s(altitude_km: float) -> float:
    """Keplerian period of a circular orbit at ``altitude_km``."""
    return float(2.0 * np.pi * math.sqrt((EARTH_RADIUS_KM + altitude_km) ** 3 / MU_KM3_S2))
