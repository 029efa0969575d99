"""Which passes a campaign tries: night, elevation, QKD window, chunking, conflicts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from satqkd.campaign.outcome import PassOutcome
from satqkd.campaign.schedule import (
    Candidate,
    mark_weather_and_conflicts,
    search_chunk,
    search_chunks,
)
from satqkd.config import Mission
from satqkd.orbit.passes import Pass, find_passes
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.orbit.timescale import to_unix_s
from satqkd.simulate.geometry import pass_geometry

T0 = to_unix_s(dt.datetime(2022, 9, 20, tzinfo=dt.UTC))  # the conftest's campaign start


@pytest.fixture(scope="module")
def candidates(jinan1: Mission) -> list[Candidate]:
    return search_chunk(jinan1, 0, dict(jinan1.stations), T0, T0 + 10 * 86400.0, seed=1)


def test_candidates_are_dark_shadowed_passes_above_the_qkd_elevations(
    jinan1: Mission, candidates: list[Candidate]
) -> None:
    proc = jinan1.procedure
    assert len(candidates) > 20  # 4 stations, 10 nights
    orbit = SatelliteOrbit.from_config(jinan1.satellite)
    for c in candidates:
        assert c.pass_.station_dark and c.pass_.satellite_in_shadow
        assert c.pass_.sun_elevation_deg <= proc.sun_max_elevation_deg
        assert c.outcome.max_elevation_deg >= proc.qkd_start_elevation_deg
        o = c.outcome
        assert c.pass_.rise_unix_s <= o.window_start_unix_s < o.window_end_unix_s
        assert o.window_end_unix_s <= c.pass_.set_unix_s
        assert o.window_s <= proc.max_qkd_duration_s + 1e-6
        geometry = pass_geometry(orbit, jinan1.stations[o.station], o.window_start_unix_s,
                                 o.window_end_unix_s, step_s=1.0)
        # Inside the window the satellite is above the QKD end elevation (10°), and the
        # window starts no lower than the QKD start elevation (15°) unless it was centred.
        assert geometry.elevation_deg.min() >= proc.qkd_end_elevation_deg - 0.1
        assert geometry.elevation_deg[0] >= proc.qkd_start_elevation_deg - 0.1


def test_every_night_pass_of_find_passes_is_a_candidate(
    jinan1: Mission, candidates: list[Candidate]
) -> None:
    """No usable pass is lost: the independent search finds the same night passes."""
    orbit = SatelliteOrbit.from_config(jinan1.satellite)
    proc = jinan1.procedure
    found = find_passes(orbit, list(jinan1.stations.values()), T0, T0 + 10 * 86400.0,
                        proc.qkd_start_elevation_deg, proc.sun_max_elevation_deg)
    expected = sorted(round(p.culmination_unix_s) for p in found if p.is_night)
    got = sorted(round(c.pass_.culmination_unix_s) for c in candidates)
    assert got == expected
    assert any(not p.is_night for p in found)  # the filter does filter


def test_chunked_search_finds_each_pass_once(jinan1: Mission,
                                             candidates: list[Candidate]) -> None:
    chunks = search_chunks(T0, T0 + 10 * 86400.0, chunk_days=3.0)
    assert len(chunks) == 4 and chunks[-1][1] == T0 + 10 * 86400.0
    pieces = [c for a, b in chunks for c in search_chunk(jinan1, 0, dict(jinan1.stations),
                                                         a, b, seed=1)]
    key = [(c.station_key, round(c.pass_.culmination_unix_s)) for c in pieces]
    assert len(set(key)) == len(key)
    assert sorted(key) == sorted((c.station_key, round(c.pass_.culmination_unix_s))
                                 for c in candidates)
    # Seeds depend on the pass only, not on the chunking.
    seeds = {(c.station_key, round(c.pass_.culmination_unix_s)): c.outcome.seed
             for c in candidates}
    assert all(seeds[k] == c.outcome.seed for k, c in zip(key, pieces, strict=True))


def _candidate(satellite: int, station: str, t0: float, elevation: float) -> Candidate:
    outcome = PassOutcome(
        satellite=f"sat{satellite}", station=station, night="2022-09-20", rise_unix_s=t0 - 60,
        culmination_unix_s=t0 + 150, window_start_unix_s=t0, window_end_unix_s=t0 + 300,
        max_elevation_deg=elevation, moon_separation_deg=90.0, moon_illumination=0.0,
        status="no key")
    p = Pass(station, t0 - 60, t0 + 150, t0 + 360, elevation, 600.0, 10.0, True, True, 90.0,
             0.0, -30.0)
    return Candidate(satellite, station, p, outcome)


def test_one_satellite_serves_one_station_at_a_time(jinan1: Mission) -> None:
    stations = dict(jinan1.stations)
    cands = [_candidate(0, "jinan", T0, 40.0), _candidate(0, "hefei", T0 + 100.0, 60.0),
             _candidate(0, "wuhan", T0 + 2000.0, 20.0)]
    run, skipped = mark_weather_and_conflicts(cands, stations, seed=1, weather=False)
    assert [c.station_key for c in run] == ["hefei", "wuhan"]  # the higher pass wins
    assert [(o.station, o.status) for o in skipped] == [("jinan", "conflict")]
    assert "satellite" in skipped[0].note
    # Far enough apart (window gap > repoint time): both run.
    cands = [_candidate(0, "jinan", T0, 40.0), _candidate(0, "hefei", T0 + 700.0, 60.0)]
    run, skipped = mark_weather_and_conflicts(cands, stations, seed=1, weather=False,
                                              repoint_s=300.0)
    assert len(run) == 2 and not skipped


def test_one_station_tracks_one_satellite_at_a_time(jinan1: Mission) -> None:
    cands = [_candidate(0, "jinan", T0, 40.0), _candidate(1, "jinan", T0 + 50.0, 30.0),
             _candidate(1, "hefei", T0 + 50.0, 30.0)]
    run, skipped = mark_weather_and_conflicts(cands, dict(jinan1.stations), seed=1,
                                              weather=False)
    assert sorted((c.satellite_index, c.station_key) for c in run) == [(0, "jinan"),
                                                                       (1, "hefei")]
    assert [(o.satellite, o.station, o.status) for o in skipped] == [("sat1", "jinan",
                                                                      "conflict")]
    assert "station" in skipped[0].note


def test_weather_skips_cloudy_nights(jinan1: Mission, candidates: list[Candidate]) -> None:
    run, skipped = mark_weather_and_conflicts(candidates, dict(jinan1.stations), seed=1)
    cloudy = [o for o in skipped if o.status == "cloudy"]
    assert cloudy and run
    assert len(run) + len(skipped) == len(candidates)
    # Without weather only conflicts are skipped.
    run2, skipped2 = mark_weather_and_conflicts(candidates, dict(jinan1.stations), seed=1,
                                                weather=False)
    assert all(o.status == "conflict" for o in skipped2)
    assert len(run2) > len(run)
    assert np.all(np.diff([c.outcome.window_start_unix_s for c in run]) >= 0)
