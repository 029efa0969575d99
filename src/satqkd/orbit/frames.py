"""Reference frames: TEME (SGP4 output) to Earth-fixed, and Earth-fixed to topocentric.

SGP4 returns positions in the True Equator Mean Equinox (TEME) frame. Rotating by the
Greenwich mean sidereal time (IAU 1982, the convention SGP4 is built on) gives the
pseudo-Earth-fixed frame, which is used as the Earth-fixed (ITRS) frame: polar motion
(≤ 15 m) is neglected, and UT1 − UTC is taken as ``dut1_s`` (default 0; its magnitude stays
below 0.9 s, i.e. < 0.4 km of Earth rotation, which the orbit tests quantify).
"""

from __future__ import annotations

import erfa
import numpy as np
from numpy.typing import ArrayLike, NDArray

from satqkd.orbit.timescale import jd_utc

EARTH_ROTATION_RAD_S = 7.292115146706979e-5
WGS84 = 1


def gmst82_rad(t_unix_s: ArrayLike, dut1_s: float = 0.0) -> NDArray[np.float64]:
    """Greenwich mean sidereal time (IAU 1982) in radians at POSIX times (UT1 = UTC + dut1)."""
    d1, d2 = jd_utc(np.asarray(t_unix_s, dtype=np.float64) + dut1_s)
    return np.asarray(erfa.gmst82(d1, d2))


def teme_to_itrs(
    r_teme_km: NDArray[np.float64],
    v_teme_km_s: NDArray[np.float64],
    t_unix_s: ArrayLike,
    dut1_s: float = 0.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Earth-fixed position (km) and velocity (km/s, relative to the rotating Earth).

    Shapes ``[..., 3]``; ``t_unix_s`` broadcasts over the leading axes.
    """
    theta = gmst82_rad(t_unix_s, dut1_s)
    c, s = np.cos(theta), np.sin(theta)
    x, y, z = r_teme_km[..., 0], r_teme_km[..., 1], r_teme_km[..., 2]
    vx, vy, vz = v_teme_km_s[..., 0], v_teme_km_s[..., 1], v_teme_km_s[..., 2]
    rx = c * x + s * y
    ry = -s * x + c * y
    r = np.stack([rx, ry, z], axis=-1)
    vx_e = c * vx + s * vy + EARTH_ROTATION_RAD_S * ry
    vy_e = -s * vx + c * vy - EARTH_ROTATION_RAD_S * rx
    v = np.stack([vx_e, vy_e, vz], axis=-1)
    return r, v


def geodetic_to_itrs_km(
    latitude_deg: float, longitude_deg: float, altitude_m: float
) -> NDArray[np.float64]:
    """Earth-fixed position (km) of a point given by WGS-84 geodetic coordinates."""
    xyz_m = erfa.gd2gc(WGS84, np.radians(longitude_deg), np.radians(latitude_deg), altitude_m)
    return np.asarray(xyz_m, dtype=np.float64) / 1000.0


def enu_matrix(latitude_deg: float, longitude_deg: float) -> NDArray[np.float64]:
    """Rows: east, north, up unit vectors of the local geodetic frame, in Earth-fixed axes."""
    lat, lon = np.radians(latitude_deg), np.radians(longitude_deg)
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    return np.array([[-so, co, 0.0], [-sl * co, -sl * so, cl], [cl * co, cl * so, sl]])


def look_angles(
    r_itrs_km: NDArray[np.float64],
    v_itrs_km_s: NDArray[np.float64],
    site_itrs_km: NDArray[np.float64],
    enu: NDArray[np.float64],
) -> tuple[NDArray[np.float64], ...]:
    """Azimuth (deg, from north through east), elevation (deg), range (km), range rate (km/s).

    Geometric (no refraction) topocentric coordinates of a target at Earth-fixed position
    ``r_itrs_km`` moving at ``v_itrs_km_s`` seen from a site at ``site_itrs_km``.
    """
    rel = r_itrs_km - site_itrs_km
    local = rel @ enu.T
    range_km = np.linalg.norm(rel, axis=-1)
    elevation_deg = np.degrees(np.arcsin(np.clip(local[..., 2] / range_km, -1.0, 1.0)))
    azimuth_deg = np.degrees(np.arctan2(local[..., 0], local[..., 1])) % 360.0
    range_rate_km_s = np.einsum("...i,...i->...", rel, v_itrs_km_s) / range_km
    return azimuth_deg, elevation_deg, range_km, range_rate_km_s
