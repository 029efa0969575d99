"""Look angles of whole passes agree with skyfield (an independent SGP4 + frames stack).

Reference: skyfield 1.4x, ``EarthSatellite`` (same WGS-72 SGP4) seen from ``wgs84.latlon``,
geometric ``altaz()`` (no refraction), range rate from ``frame_latlon_and_rates``; its UT1 − UTC
comes from its built-in IERS table (``t.dut1``). Tolerances are physical: 0.02° of elevation
and azimuth (≈ 0.2 km across the beam at 600 km), 1 km of range, 10 m/s of range rate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pytest
from numpy.typing import NDArray
from skyfield.api import EarthSatellite, load, wgs84

from satqkd.config import Mission
from satqkd.orbit.passes import Pass, Site, find_passes
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.orbit.timescale import from_unix_s, to_unix_s

ANGLE_TOL_DEG = 0.02
RANGE_TOL_KM = 1.0
RANGE_RATE_TOL_KM_S = 0.01
SAMPLE_STEP_S = 10.0
NEAR_ZENITH_DEG = 89.0  # azimuth is ill-defined within 1° of the zenith
MICIUS_START_UNIX_S = to_unix_s(dt.datetime(2016, 12, 19, tzinfo=dt.UTC))  # TLE epoch + 1 day
JINAN1_START_UNIX_S = to_unix_s(dt.datetime(2022, 9, 25, tzinfo=dt.UTC))  # SPEC §10 pass day


@dataclass(frozen=True)
class Errors:
    elevation_deg: float
    azimuth_deg: float
    range_km: float
    range_rate_km_s: float


def _best_pass(orbit: SatelliteOrbit, mission: Mission, station: str, start_s: float) -> Pass:
    passes = find_passes(orbit, [mission.stations[station]], start_s, start_s + 86400.0, 10.0)
    return max(passes, key=lambda p: p.max_elevation_deg)


def _compare(
    orbit: SatelliteOrbit, mission: Mission, station: str, pass_: Pass
) -> tuple[Errors, Errors, float]:
    """Max errors against skyfield with skyfield's UT1 − UTC, and with UT1 = UTC; the dut1."""
    ts = load.timescale(builtin=True)
    t_s = np.arange(pass_.rise_unix_s, pass_.set_unix_s, SAMPLE_STEP_S)
    t_sky = ts.from_datetimes([from_unix_s(t) for t in t_s])
    st = mission.stations[station]
    site = wgs84.latlon(st.latitude_deg, st.longitude_deg, elevation_m=st.altitude_m)
    topocentric = (EarthSatellite(orbit.line1, orbit.line2, ts=ts) - site).at(t_sky)
    alt, az, distance = topocentric.altaz()
    range_rate = topocentric.frame_latlon_and_rates(site)[5]
    dut1_s = float(np.mean(t_sky.dut1))
    ours = Site.from_station(st)

    def errors(dut1: float) -> Errors:
        az_deg, el_deg, range_km, rate_km_s = ours.look(*orbit.itrs(t_s, dut1))
        away_from_zenith = alt.degrees < NEAR_ZENITH_DEG
        d_az: NDArray[np.float64] = (az_deg - az.degrees + 180.0) % 360.0 - 180.0
        return Errors(
            float(np.abs(el_deg - alt.degrees).max()),
            float(np.abs(d_az[away_from_zenith]).max()),
            float(np.abs(range_km - distance.km).max()),
            float(np.abs(rate_km_s - range_rate.km_per_s).max()),
        )

    return errors(dut1_s), errors(0.0), dut1_s


@pytest.mark.parametrize(
    ("preset", "station", "start_s"),
    [("micius", "xinglong", MICIUS_START_UNIX_S), ("jinan1", "jinan", JINAN1_START_UNIX_S)],
    ids=["micius-tle-xinglong", "jinan1-synthetic-jinan"],
)
def test_pass_look_angles_match_skyfield(
    request: pytest.FixtureRequest, preset: str, station: str, start_s: float
) -> None:
    mission: Mission = request.getfixturevalue(preset)
    orbit: SatelliteOrbit = request.getfixturevalue(f"{preset}_orbit")
    pass_ = _best_pass(orbit, mission, station, start_s)
    assert pass_.max_elevation_deg > 50.0  # a long pass, from horizon to high in the sky
    with_dut1, without_dut1, dut1_s = _compare(orbit, mission, station, pass_)
    print(f"\n{preset} over {station}, UT1-UTC = {dut1_s:+.3f} s:"
          f"\n  with dut1: {with_dut1}\n  dut1 = 0:  {without_dut1}")
    assert with_dut1.elevation_deg < ANGLE_TOL_DEG
    assert with_dut1.azimuth_deg < ANGLE_TOL_DEG
    assert with_dut1.range_km < RANGE_TOL_KM
    assert with_dut1.range_rate_km_s < RANGE_RATE_TOL_KM_S
    # Leaving UT1 - UTC out (the default) turns the Earth by dut1 * 15"/s: |dut1| < 0.9 s
    # moves a site by < 0.4 km, i.e. < 0.1° at the shortest ranges of a pass.
    assert without_dut1.elevation_deg < 0.1
    assert without_dut1.azimuth_deg < 0.1
    assert without_dut1.range_km < RANGE_TOL_KM
