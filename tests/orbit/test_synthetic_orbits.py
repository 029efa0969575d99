"""Synthetic orbits (Jinan-1's Sun-synchronous orbit, Tiangong-2's circular one), the pass of
chosen maximum elevation, and TLE validation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from satqkd.config import Mission, load_mission
from satqkd.errors import InputError
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.orbit.synthetic import (
    mean_sun_right_ascension_deg,
    orbit_period_s,
    sun_synchronous_inclination_deg,
    tle_from_orbit,
)
from satqkd.orbit.synthetic_pass import pass_with_max_elevation
from satqkd.orbit.timescale import (
    from_unix_s,
    iso_utc,
    jd_tt,
    jd_utc,
    parse_iso,
    to_unix_s,
)
from satqkd.orbit.tle import satrec_from_tle, tle_checksum, validate_tle

START_UNIX_S = to_unix_s(dt.datetime(2022, 9, 25, tzinfo=dt.UTC))
MICIUS_LINE1 = "1 41731U 16051A   16353.90152003  .00000364  00000-0  17957-4 0  9993"
MICIUS_LINE2 = "2 41731  97.3699 267.4500 0013200 178.5836 246.0824 15.23915303 19063"
WGS72_RADIUS_KM = 6378.135


def _node_deg(orbit: SatelliteOrbit, t_s: np.ndarray) -> np.ndarray:
    """Right ascension of the ascending node from the TEME angular momentum vector."""
    r, v = orbit.teme(t_s)
    h = np.cross(r, v)
    return np.degrees(np.arctan2(h[:, 0], -h[:, 1])) % 360.0


def test_jinan1_is_a_500_km_sun_synchronous_orbit(jinan1_orbit: SatelliteOrbit) -> None:
    # Published figure for a 500-km SSO: 97.4° inclination.
    assert sun_synchronous_inclination_deg(500.0) == pytest.approx(97.40, abs=0.02)
    assert np.degrees(jinan1_orbit.satrec.inclo) == pytest.approx(97.40, abs=0.02)
    t = jinan1_orbit.epoch_unix_s + np.arange(0.0, orbit_period_s(500.0), 10.0)
    r, _ = jinan1_orbit.teme(t)
    altitude_km = np.linalg.norm(r, axis=1) - WGS72_RADIUS_KM
    assert altitude_km.mean() == pytest.approx(500.0, abs=10.0)
    assert np.ptp(altitude_km) < 20.0  # circular (SGP4's J2 short-period terms aside)
    # The node follows the mean Sun: +0.9856°/day.
    t_days = jinan1_orbit.epoch_unix_s + np.array([0.0, 60.0]) * 86400.0
    drift_deg = np.diff(_node_deg(jinan1_orbit, t_days))[0] % 360.0
    assert drift_deg / 60.0 == pytest.approx(360.0 / 365.2422, abs=0.01)


def test_jinan1_node_is_at_the_requested_local_time(jinan1: Mission) -> None:
    orbit = jinan1.satellite.orbit
    sat = satrec_from_tle(*tle_from_orbit(orbit))
    ltan_h = (np.degrees(sat.nodeo) - mean_sun_right_ascension_deg(orbit.epoch)) / 15.0 + 12.0
    assert ltan_h % 24.0 == pytest.approx(orbit.ltan_hours, abs=1e-3)


def test_tiangong2_circular_orbit() -> None:
    m = load_mission("tiangong2")
    orbit = SatelliteOrbit.from_config(m.satellite)
    assert np.degrees(orbit.satrec.inclo) == pytest.approx(42.8, abs=1e-3)
    t = orbit.epoch_unix_s + np.arange(0.0, orbit_period_s(390.0), 10.0)
    altitude_km = np.linalg.norm(orbit.teme(t)[0], axis=1) - WGS72_RADIUS_KM
    assert altitude_km.mean() == pytest.approx(390.0, abs=10.0)
    assert orbit_period_s(390.0) == pytest.approx(92.2 * 60.0, abs=30.0)


def test_reference_pass_of_34_1_degrees(jinan1: Mission, jinan1_orbit: SatelliteOrbit) -> None:
    """SPEC §10: Jinan, 25 September 2022, maximum elevation 34.1°, ~5 min of data."""
    station = jinan1.stations["jinan"]
    shifted, p = pass_with_max_elevation(
        jinan1_orbit, station, START_UNIX_S, 34.1, jinan1.procedure.min_pass_elevation_deg
    )
    assert p.max_elevation_deg == pytest.approx(34.1, abs=0.05)
    assert p.duration_s == pytest.approx(300.0, abs=30.0)
    assert p.is_night
    assert iso_utc(p.rise_unix_s).startswith("2022-09-25")
    # The shifted orbit is the same orbit turned in node: same shape, same inclination.
    assert shifted.satrec.inclo == pytest.approx(jinan1_orbit.satrec.inclo, abs=1e-6)
    assert shifted.satrec.no_kozai == pytest.approx(jinan1_orbit.satrec.no_kozai, rel=1e-6)
    from satqkd.orbit.passes import Site

    t = np.arange(p.rise_unix_s, p.set_unix_s, 0.5)
    el = Site.from_station(station).look(*shifted.itrs(t))[1]
    assert el.max() == pytest.approx(34.1, abs=0.05)


def test_reference_pass_rejects_impossible_elevations(
    jinan1: Mission, jinan1_orbit: SatelliteOrbit
) -> None:
    with pytest.raises(InputError) as info:
        pass_with_max_elevation(jinan1_orbit, jinan1.stations["jinan"], START_UNIX_S, 12.0, 15.0)
    assert info.value.source == "--max-elevation"
    assert info.value.value == 12.0


def test_tle_validation() -> None:
    validate_tle(MICIUS_LINE1, MICIUS_LINE2)
    assert tle_checksum(MICIUS_LINE1) == 3
    assert tle_checksum(MICIUS_LINE2) == 3
    cases = [
        (MICIUS_LINE1[:-1] + "4", MICIUS_LINE2, "orbit.line1", "checksum"),
        (MICIUS_LINE1, MICIUS_LINE2[:60], "orbit.line2", "69 characters"),
        ("3" + MICIUS_LINE1[1:], MICIUS_LINE2, "orbit.line1", "must start with '1 '"),
        (MICIUS_LINE1, MICIUS_LINE2[:-1] + "x", "orbit.line2", "checksum"),
    ]
    for line1, line2, field, words in cases:
        with pytest.raises(InputError) as info:
            validate_tle(line1, line2, source="sat.toml")
        assert info.value.field == field
        assert words in info.value.message
        assert info.value.source == "sat.toml"
    other = MICIUS_LINE2[:2] + "41732" + MICIUS_LINE2[7:68]
    other += str(tle_checksum(other))
    with pytest.raises(InputError, match="different satellites"):
        validate_tle(MICIUS_LINE1, other)


def test_synthetic_tles_are_valid() -> None:
    for preset in ("jinan1", "tiangong2"):
        line1, line2 = tle_from_orbit(load_mission(preset).satellite.orbit)
        validate_tle(line1, line2)


def test_timescale_conversions() -> None:
    when = dt.datetime(2022, 9, 25, 14, 19, 3, 269000, tzinfo=dt.UTC)
    t_s = to_unix_s(when)
    assert from_unix_s(t_s) == when
    assert iso_utc(t_s) == "2022-09-25T14:19:03.269Z"
    assert parse_iso("2022-09-25T14:19:03.269Z") == when
    assert parse_iso("2022-09-25T22:19:03.269+08:00") == when
    assert parse_iso("2022-09-25T14:19:03.269") == when  # naive: UTC
    with pytest.raises(ValueError):
        parse_iso("yesterday")
    d1, d2 = jd_utc(t_s)
    assert d1[()] + d2[()] == pytest.approx(2459848.0966, abs=1e-4)
    tt1, tt2 = jd_tt(t_s)
    # TT - UTC = 32.184 s + 37 leap seconds since 2017.
    assert ((tt1 - d1) + (tt2 - d2)) * 86400.0 == pytest.approx(69.184, abs=1e-4)
