"""Constellations: synthetic planes of one mission, and satellites from a TLE file."""

from __future__ import annotations

import numpy as np
import pytest

from satqkd.campaign import constellation
from satqkd.campaign.constellation import missions_from_tles, parse_tles
from satqkd.config import Mission, load_mission
from satqkd.errors import InputError
from satqkd.orbit.propagate import SatelliteOrbit

MICIUS_TLE = (
    "1 41731U 16051A   16353.90152003  .00000364  00000-0  17957-4 0  9993",
    "2 41731  97.3699 267.4500 0013200 178.5836 246.0824 15.23915303 19063",
)


def _node_deg(orbit: SatelliteOrbit, t_unix_s: float) -> float:
    """Right ascension of the ascending node (TEME) from the angular momentum vector."""
    r, v = orbit.teme(np.array([t_unix_s]))
    h = np.cross(r[0], v[0])
    return float(np.degrees(np.arctan2(h[0], -h[1])) % 360.0)


def _angle(a: float, b: float) -> float:
    return (a - b + 180.0) % 360.0 - 180.0


def test_planes_and_phasing_of_a_sun_synchronous_mission(jinan1: Mission) -> None:
    sats = constellation(jinan1, planes=3, per_plane=2)
    assert len(sats) == 6
    assert len({m.satellite.name for m in sats}) == 6
    assert len({m.satellite.orbit.norad_id for m in sats}) == 6
    # Planes 120° apart in node = 8 h apart in local time of the ascending node.
    ltan = [m.satellite.orbit.ltan_hours for m in sats]
    assert _angle(15 * ltan[2], 15 * ltan[0]) == pytest.approx(120.0)
    assert ltan[1] == ltan[0]
    # Propagated: the node turns by 120°, the second satellite of a plane is half an orbit on.
    orbits = [SatelliteOrbit.from_config(m.satellite) for m in sats]
    t = orbits[0].epoch_unix_s
    assert _angle(_node_deg(orbits[2], t), _node_deg(orbits[0], t)) == pytest.approx(120.0,
                                                                                     abs=0.5)
    r0, _ = orbits[0].teme(np.array([t]))
    r1, _ = orbits[1].teme(np.array([t]))
    cos = float(r0[0] @ r1[0] / np.linalg.norm(r0[0]) / np.linalg.norm(r1[0]))
    assert cos == pytest.approx(-1.0, abs=1e-3)
    # Everything but the orbit is shared.
    assert all(m.stations == jinan1.stations and m.protocol == jinan1.protocol for m in sats)


def test_tle_orbit_node_shift() -> None:
    micius = load_mission("micius")
    a, b = constellation(micius, planes=2)
    oa = SatelliteOrbit.from_config(a.satellite)
    ob = SatelliteOrbit.from_config(b.satellite)
    t = oa.epoch_unix_s + 3600.0
    assert abs(_angle(_node_deg(ob, t), _node_deg(oa, t))) == pytest.approx(180.0, abs=0.5)


def test_single_satellite_is_the_mission_itself(jinan1: Mission) -> None:
    assert constellation(jinan1) == [jinan1]
    with pytest.raises(InputError):
        constellation(jinan1, planes=0)


def test_satellites_from_a_tle_file(jinan1: Mission) -> None:
    text = "\n".join(["MICIUS", *MICIUS_TLE, "", "0 OTHER", *MICIUS_TLE])
    parsed = parse_tles(text)
    assert [p[0] for p in parsed] == ["MICIUS", "OTHER"]
    missions = missions_from_tles(jinan1, text, source="sats.tle")
    assert [m.satellite.name for m in missions] == ["MICIUS", "OTHER"]
    assert missions[0].satellite.orbit.line1 == MICIUS_TLE[0]
    assert missions[0].satellite.payload == jinan1.satellite.payload
    unnamed = missions_from_tles(jinan1, "\n".join(MICIUS_TLE))
    assert unnamed[0].satellite.name == "Jinan-1 41731"


@pytest.mark.parametrize("text, words", [
    ("", "no two-line element set"),
    ("\n".join([MICIUS_TLE[0]]), "partner"),
    ("\n".join([MICIUS_TLE[0], MICIUS_TLE[1][:-1] + "0"]), "checksum"),
    ("\n".join(["A", *MICIUS_TLE, "A", *MICIUS_TLE]), "same satellite"),
])
def test_bad_tle_files_name_the_problem(jinan1: Mission, text: str, words: str) -> None:
    with pytest.raises(InputError, match=words) as info:
        missions_from_tles(jinan1, text, source="sats.tle")
    assert "sats.tle" in info.value.one_line()
