"""Sun and Moon positions computed offline with ERFA's built-in analytic models.

The Sun comes from ``erfa.epv00`` (VSOP2000-based Earth ephemeris, accurate to a few km)
and the Moon from ``erfa.moon98`` (Meeus' simplified ELP, ~10 arcsec), both rotated from
GCRS into the Earth-fixed frame with the IAU 2006/2000A matrix ``erfa.c2t06a`` (UT1 = UTC,
polar motion neglected). That is far more precise than the question they answer here (is
it dark, is the satellite in shadow, how far is the Moon from the beam); nothing is
downloaded at run time.
"""

from __future__ import annotations

import erfa
import numpy as np
from numpy.typing import ArrayLike, NDArray

from satqkd.orbit.timescale import jd_tt, jd_utc

AU_KM = 149_597_870.7
EARTH_RADIUS_KM = 6378.137


def _gcrs_to_itrs(t_unix_s: NDArray[np.float64]) -> NDArray[np.float64]:
    tt1, tt2 = jd_tt(t_unix_s)
    ut1, ut2 = jd_utc(t_unix_s)
    return np.asarray(erfa.c2t06a(tt1, tt2, ut1, ut2, 0.0, 0.0))


def sun_moon_itrs_km(
    t_unix_s: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Geocentric Earth-fixed positions (km) of the Sun and the Moon, shapes ``[N, 3]``."""
    t = np.atleast_1d(np.asarray(t_unix_s, dtype=np.float64))
    tt1, tt2 = jd_tt(t)
    pvh, _pvb = erfa.epv00(tt1, tt2)
    sun_gcrs_km = -np.asarray(pvh["p"]) * AU_KM
    moon_gcrs_km = np.asarray(erfa.moon98(tt1, tt2)["p"]) * AU_KM
    rot = _gcrs_to_itrs(t)
    sun = np.einsum("...ij,...j->...i", rot, sun_gcrs_km)
    moon = np.einsum("...ij,...j->...i", rot, moon_gcrs_km)
    return sun, moon


def moon_illuminated_fraction(
    sun_km: NDArray[np.float64], moon_km: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Illuminated fraction of the Moon's disc (0 new, 1 full) from geocentric positions."""
    to_sun = sun_km - moon_km
    to_earth = -moon_km
    cos_phase = np.einsum("...i,...i->...", to_sun, to_earth) / (
        np.linalg.norm(to_sun, axis=-1) * np.linalg.norm(to_earth, axis=-1)
    )
    return (1.0 + cos_phase) / 2.0


def in_earth_shadow(
    r_sat_km: NDArray[np.float64], sun_km: NDArray[np.float64]
) -> NDArray[np.bool_]:
    """Whether a satellite is inside the Earth's shadow (cylindrical umbra model).

    The cylinder of Earth radius behind the Earth along the Sun direction; the penumbra
    (≲ 0.3° of arc around 500 km altitude, a few seconds of a pass) is not distinguished.
    """
    sun_hat = sun_km / np.linalg.norm(sun_km, axis=-1, keepdims=True)
    along = np.einsum("...i,...i->...", r_sat_km, sun_hat)
    perp = np.linalg.norm(r_sat_km - along[..., None] * sun_hat, axis=-1)
    return (along < 0.0) & (perp < EARTH_RADIUS_KM)


def separation_deg(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Angle between two direction vectors (any lengths), degrees."""
    cos = np.einsum("...i,...i->...", a, b) / (
        np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    )
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
