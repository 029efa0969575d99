"""Shared missions, orbits and one month of Jinan-1 passes for the orbit tests."""

from __future__ import annotations

import datetime as dt

import pytest

from satqkd.config import Mission, load_mission
from satqkd.orbit.passes import Pass, find_passes
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.orbit.timescale import to_unix_s

# The Jinan-1 reference pass day (SPEC §10).
JINAN1_START_UNIX_S = to_unix_s(dt.datetime(2022, 9, 25, tzinfo=dt.UTC))


@pytest.fixture(scope="session")
def jinan1() -> Mission:
    return load_mission("jinan1")


@pytest.fixture(scope="session")
def micius() -> Mission:
    return load_mission("micius")


@pytest.fixture(scope="session")
def jinan1_orbit(jinan1: Mission) -> SatelliteOrbit:
    return SatelliteOrbit.from_config(jinan1.satellite)


@pytest.fixture(scope="session")
def micius_orbit(micius: Mission) -> SatelliteOrbit:
    return SatelliteOrbit.from_config(micius.satellite)


@pytest.fixture(scope="session")
def jinan1_month(jinan1: Mission, jinan1_orbit: SatelliteOrbit) -> list[Pass]:
    """30 days of Jinan-1 passes over its four stations, with the mission's mask and Sun limit."""
    return find_passes(
        jinan1_orbit, list(jinan1.stations.values()), JINAN1_START_UNIX_S,
        JINAN1_START_UNIX_S + 30 * 86400.0, jinan1.procedure.min_pass_elevation_deg,
        jinan1.procedure.sun_max_elevation_deg,
    )
