"""Sun and Moon from ERFA's analytic models against two independent references.

1. JPL DE430, through skyfield, for the week its test-data excerpt covers
   (``skyfield/tests/data/de430-2015-03-02.bsp``, 2015-02-26 to 03-06; the full de421.bsp is
   not available offline). Differences expected: aberration and light time (~20" for the Sun),
   moon98's ~10" error, UT1 − UTC neglected (< 0.9 s of Earth rotation, ~13").
2. The Astronomical Almanac's low-precision formulas (section C for the Sun, 0.01° from 1950 to
   2050; section D for the Moon, 0.3° in longitude, 0.2° in latitude), at 2022 dates.
And the Moon's phase at known full and new moons of September 2022.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import skyfield
from numpy.typing import NDArray

from satqkd.orbit.ephemeris import (
    EARTH_RADIUS_KM,
    in_earth_shadow,
    moon_illuminated_fraction,
    separation_deg,
    sun_moon_itrs_km,
)
from satqkd.orbit.frames import gmst82_rad
from satqkd.orbit.timescale import from_unix_s, jd_utc, to_unix_s

DE430_EXCERPT = Path(skyfield.__file__).parent / "tests" / "data" / "de430-2015-03-02.bsp"


def _unix(*args: int) -> float:
    return to_unix_s(dt.datetime(*args, tzinfo=dt.UTC))


def test_sun_and_moon_match_jpl_de430() -> None:
    if not DE430_EXCERPT.is_file():
        pytest.skip(f"skyfield's DE430 test excerpt is not installed at {DE430_EXCERPT}")
    from skyfield.api import load, load_file
    from skyfield.framelib import itrs

    t_s = np.linspace(_unix(2015, 2, 27), _unix(2015, 3, 5, 23), 40)
    ts = load.timescale(builtin=True)
    t_sky = ts.from_datetimes([from_unix_s(t) for t in t_s])
    eph = load_file(str(DE430_EXCERPT))
    try:
        earth = eph["earth"]
        sun_ref_km = earth.at(t_sky).observe(eph["sun"]).frame_xyz(itrs).km.T
        moon_ref_km = earth.at(t_sky).observe(eph["moon"]).frame_xyz(itrs).km.T
    finally:
        eph.close()
    sun_km, moon_km = sun_moon_itrs_km(t_s)
    sun_err_deg = separation_deg(sun_km, sun_ref_km).max()
    moon_err_deg = separation_deg(moon_km, moon_ref_km).max()
    print(f"\nvs DE430: Sun {sun_err_deg * 3600:.1f}\", Moon {moon_err_deg * 3600:.1f}\"")
    assert sun_err_deg < 0.01
    assert moon_err_deg < 0.01
    sun_dist_ref_km = np.linalg.norm(sun_ref_km, axis=1)
    moon_dist_ref_km = np.linalg.norm(moon_ref_km, axis=1)
    np.testing.assert_allclose(np.linalg.norm(sun_km, axis=1), sun_dist_ref_km, rtol=1e-5)
    # moon98 (Meeus' truncated lunar theory) is ~40 km off in distance: 1e-4, no matter here.
    np.testing.assert_allclose(np.linalg.norm(moon_km, axis=1), moon_dist_ref_km, atol=100.0)


def _radec_unit(ra_deg: NDArray[np.float64], dec_deg: NDArray[np.float64]) -> NDArray:
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def _almanac_sun_unit(t_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Astronomical Almanac low-precision Sun: equatorial unit vector of date."""
    d1, d2 = jd_utc(t_s)
    n = d1 + d2 - 2451545.0
    mean_lon = 280.460 + 0.9856474 * n
    g = np.radians(357.528 + 0.9856003 * n)
    ecl_lon = np.radians(mean_lon + 1.915 * np.sin(g) + 0.020 * np.sin(2 * g))
    eps = np.radians(23.439 - 0.0000004 * n)
    ra = np.degrees(np.arctan2(np.cos(eps) * np.sin(ecl_lon), np.cos(ecl_lon)))
    dec = np.degrees(np.arcsin(np.sin(eps) * np.sin(ecl_lon)))
    return _radec_unit(ra, dec)


def _almanac_moon_unit(t_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Astronomical Almanac low-precision Moon (geocentric): equatorial unit vector of date."""
    d1, d2 = jd_utc(t_s)
    c = (d1 + d2 - 2451545.0) / 36525.0

    def sin_deg(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.sin(np.radians(x))

    lon = np.radians(
        218.32 + 481267.881 * c + 6.29 * sin_deg(135.0 + 477198.87 * c)
        - 1.27 * sin_deg(259.3 - 413335.36 * c) + 0.66 * sin_deg(235.7 + 890534.22 * c)
        + 0.21 * sin_deg(269.9 + 954397.74 * c) - 0.19 * sin_deg(357.5 + 35999.05 * c)
        - 0.11 * sin_deg(186.5 + 966404.03 * c)
    )
    lat = np.radians(
        5.13 * sin_deg(93.3 + 483202.02 * c) + 0.28 * sin_deg(228.2 + 960400.89 * c)
        - 0.28 * sin_deg(318.3 + 6003.15 * c) - 0.17 * sin_deg(217.6 - 407332.21 * c)
    )
    ecl = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], -1)
    eps = np.radians(23.439 - 0.013 * c)
    x, y, z = ecl[..., 0], ecl[..., 1], ecl[..., 2]
    return np.stack([x, np.cos(eps) * y - np.sin(eps) * z, np.sin(eps) * y + np.cos(eps) * z], -1)


def _equatorial_of_date(t_s: NDArray[np.float64], itrs_km: NDArray[np.float64]) -> NDArray:
    """Earth-fixed vectors turned back by the sidereal angle: equator and equinox of date."""
    theta = gmst82_rad(t_s)
    c, s = np.cos(theta), np.sin(theta)
    x, y, z = itrs_km[..., 0], itrs_km[..., 1], itrs_km[..., 2]
    return np.stack([c * x - s * y, s * x + c * y, z], axis=-1)


def test_sun_and_moon_match_the_almanac_formulas_in_2022() -> None:
    t_s = np.linspace(_unix(2022, 1, 1), _unix(2023, 1, 1), 241)
    sun_km, moon_km = sun_moon_itrs_km(t_s)
    sun_err_deg = separation_deg(_equatorial_of_date(t_s, sun_km), _almanac_sun_unit(t_s))
    moon_err_deg = separation_deg(_equatorial_of_date(t_s, moon_km), _almanac_moon_unit(t_s))
    print(f"\nvs Almanac: Sun {sun_err_deg.max():.4f}°, Moon {moon_err_deg.max():.3f}°")
    assert sun_err_deg.max() < 0.02
    assert moon_err_deg.max() < 0.5
    # Distances: 1 AU within the eccentricity, the Moon between perigee and apogee.
    assert np.all(np.abs(np.linalg.norm(sun_km, axis=1) / 1.495978707e8 - 1.0) < 0.0175)
    assert np.all((np.linalg.norm(moon_km, axis=1) > 356_000.0)
                  & (np.linalg.norm(moon_km, axis=1) < 407_000.0))


@pytest.mark.parametrize(
    ("when", "fraction", "tol"),
    [
        (dt.datetime(2022, 9, 10, 9, 59, tzinfo=dt.UTC), 1.0, 0.005),  # full moon
        (dt.datetime(2022, 9, 25, 21, 54, tzinfo=dt.UTC), 0.0, 0.005),  # new moon
        (dt.datetime(2022, 9, 3, 18, 8, tzinfo=dt.UTC), 0.5, 0.03),  # first quarter
    ],
    ids=["full-2022-09-10", "new-2022-09-25", "first-quarter-2022-09-03"],
)
def test_moon_phase_at_known_dates(when: dt.datetime, fraction: float, tol: float) -> None:
    sun_km, moon_km = sun_moon_itrs_km(to_unix_s(when))
    assert moon_illuminated_fraction(sun_km, moon_km)[0] == pytest.approx(fraction, abs=tol)


def test_earth_shadow_cylinder() -> None:
    sun_km = np.array([1.5e8, 0.0, 0.0])
    r = EARTH_RADIUS_KM + 500.0
    sats_km = np.array([
        [-r, 0.0, 0.0],  # behind the Earth: shadow
        [r, 0.0, 0.0],  # sunward side: lit
        [0.0, r, 0.0],  # terminator, above the limb: lit
        [-1000.0, EARTH_RADIUS_KM - 10.0, 0.0],  # just inside the cylinder, behind: shadow
        [-1000.0, EARTH_RADIUS_KM + 10.0, 0.0],  # just outside the cylinder: lit
    ])
    np.testing.assert_array_equal(in_earth_shadow(sats_km, sun_km),
                                  [True, False, False, True, False])


def test_separation() -> None:
    a = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [2.0, 0.0, 0.0]])
    b = np.array([[0.0, 5.0, 0.0], [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    np.testing.assert_allclose(separation_deg(a, b), [90.0, 45.0, 180.0])
