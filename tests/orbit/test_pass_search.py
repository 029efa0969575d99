"""Pass search: rise and set on the mask, culmination at the maximum, order, cuts at the
window edges, horizon masks, and the darkness / shadow labels."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from satqkd.config import Mission, Station
from satqkd.config.models import HorizonPoint
from satqkd.orbit.passes import Pass, Site, find_passes
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.orbit.timescale import to_unix_s

MASK_TOL_DEG = 0.01
BEIJING_UTC_OFFSET_H = 8.0
START_UNIX_S = to_unix_s(dt.datetime(2022, 9, 25, tzinfo=dt.UTC))


def _stations_by_name(mission: Mission) -> dict[str, Station]:
    return {s.name: s for s in mission.stations.values()}


def _elevation_deg(orbit: SatelliteOrbit, station: Station, t_s: np.ndarray) -> np.ndarray:
    return Site.from_station(station).look(*orbit.itrs(t_s))[1]


def _local_hour(t_unix_s: float) -> float:
    return (t_unix_s / 3600.0 + BEIJING_UTC_OFFSET_H) % 24.0


def test_month_has_passes_over_every_station_in_rise_order(
    jinan1: Mission, jinan1_month: list[Pass]
) -> None:
    assert {p.station for p in jinan1_month} == {"Jinan", "Hefei", "Wuhan", "Nanshan"}
    # A 500-km SSO passes each station about twice a day above 15°.
    assert 30 * 1.5 * 4 < len(jinan1_month) < 30 * 3 * 4
    rises = np.array([p.rise_unix_s for p in jinan1_month])
    assert np.all(np.diff(rises) >= 0.0)
    for p in jinan1_month:
        assert p.rise_unix_s < p.culmination_unix_s < p.set_unix_s
        assert p.max_elevation_deg >= jinan1.procedure.min_pass_elevation_deg
        assert p.min_elevation_deg == jinan1.procedure.min_pass_elevation_deg
        assert 0.0 <= p.moon_illumination <= 1.0
        assert 0.0 <= p.moon_separation_deg <= 180.0
        # 500-km altitude: above 15° the range is between ~500 and ~1410 km.
        assert 495.0 < p.min_range_km < 1420.0
        assert p.duration_s < 420.0


def test_rise_and_set_are_on_the_mask(
    jinan1: Mission, jinan1_orbit: SatelliteOrbit, jinan1_month: list[Pass]
) -> None:
    stations = _stations_by_name(jinan1)
    mask_deg = jinan1.procedure.min_pass_elevation_deg
    for name, station in stations.items():
        mine = [p for p in jinan1_month if p.station == name]
        t = np.array([[p.rise_unix_s, p.set_unix_s] for p in mine]).ravel()
        el = _elevation_deg(jinan1_orbit, station, t)
        np.testing.assert_allclose(el, mask_deg, atol=MASK_TOL_DEG)


def test_culmination_is_the_maximum(
    jinan1: Mission, jinan1_orbit: SatelliteOrbit, jinan1_month: list[Pass]
) -> None:
    stations = _stations_by_name(jinan1)
    for p in jinan1_month[::7]:
        station = stations[p.station]
        # Dense samples around the culmination, and 1-s samples over the whole pass.
        near = p.culmination_unix_s + np.arange(-20.0, 20.0001, 0.02)
        el_near = _elevation_deg(jinan1_orbit, station, near)
        assert abs(near[np.argmax(el_near)] - p.culmination_unix_s) < 0.1
        assert p.max_elevation_deg == pytest.approx(el_near.max(), abs=1e-5)
        whole = np.arange(p.rise_unix_s, p.set_unix_s, 1.0)
        assert _elevation_deg(jinan1_orbit, station, whole).max() <= p.max_elevation_deg + 1e-6


def test_passes_are_cut_at_the_window_edges(
    jinan1: Mission, jinan1_orbit: SatelliteOrbit, jinan1_month: list[Pass]
) -> None:
    jinan = [p for p in jinan1_month if p.station == "Jinan"]
    first, last = jinan[3], jinan[8]
    start_s = 0.5 * (first.rise_unix_s + first.culmination_unix_s)
    end_s = 0.5 * (last.culmination_unix_s + last.set_unix_s)
    found = find_passes(jinan1_orbit, [jinan1.stations["jinan"]], start_s, end_s, 15.0)
    assert len(found) == 6
    assert found[0].rise_unix_s == start_s
    assert found[0].set_unix_s == pytest.approx(first.set_unix_s, abs=0.01)
    assert found[0].culmination_unix_s == pytest.approx(first.culmination_unix_s, abs=0.1)
    assert found[-1].set_unix_s == end_s
    assert found[-1].rise_unix_s == pytest.approx(last.rise_unix_s, abs=0.01)
    for inner, ref in zip(found[1:-1], jinan[4:8], strict=True):
        assert inner.rise_unix_s == pytest.approx(ref.rise_unix_s, abs=0.01)
        assert inner.set_unix_s == pytest.approx(ref.set_unix_s, abs=0.01)
    # A window inside one pass gives that pass, cut at both ends.
    inside = find_passes(jinan1_orbit, [jinan1.stations["jinan"]],
                         first.rise_unix_s + 30.0, first.set_unix_s - 30.0, 15.0)
    assert [(p.rise_unix_s, p.set_unix_s) for p in inside] == [
        (first.rise_unix_s + 30.0, first.set_unix_s - 30.0)]
    assert find_passes(jinan1_orbit, [jinan1.stations["jinan"]], end_s, start_s, 15.0) == []


def test_horizon_mask_is_respected(jinan1: Mission, jinan1_orbit: SatelliteOrbit) -> None:
    # A building hides the eastern sky below 40°; open sky (mask 15°) elsewhere.
    wall = (HorizonPoint(azimuth_deg=0.0, elevation_deg=0.0),
            HorizonPoint(azimuth_deg=20.0, elevation_deg=40.0),
            HorizonPoint(azimuth_deg=160.0, elevation_deg=40.0),
            HorizonPoint(azimuth_deg=180.0, elevation_deg=0.0))
    station = jinan1.stations["jinan"].model_copy(update={"horizon_mask": wall})
    site = Site.from_station(station)
    end_s = START_UNIX_S + 10 * 86400.0
    masked = find_passes(jinan1_orbit, [station], START_UNIX_S, end_s, 15.0)
    open_sky = find_passes(jinan1_orbit, [jinan1.stations["jinan"]], START_UNIX_S, end_s, 15.0)
    assert sum(p.duration_s for p in masked) < 0.9 * sum(p.duration_s for p in open_sky)
    on_the_wall = 0
    for p in masked:
        t_edges = np.array([p.rise_unix_s, p.set_unix_s])
        az, el, _, _ = site.look(*jinan1_orbit.itrs(t_edges))
        limit = np.maximum(15.0, site.mask_deg(az))
        np.testing.assert_allclose(el, limit, atol=MASK_TOL_DEG)
        on_the_wall += int(np.sum(limit > 30.0))
        t_in = np.arange(p.rise_unix_s, p.set_unix_s, 2.0)
        az, el, _, _ = site.look(*jinan1_orbit.itrs(t_in))
        assert np.all(el >= np.maximum(15.0, site.mask_deg(az)) - MASK_TOL_DEG)
    assert on_the_wall > 0  # some passes rise or set behind the wall, at ~40°


def test_station_dark_at_night_not_at_noon(jinan1_month: list[Pass]) -> None:
    noon = [p for p in jinan1_month if 11.0 <= _local_hour(p.culmination_unix_s) < 14.0]
    night = [p for p in jinan1_month if 21.0 <= _local_hour(p.culmination_unix_s) < 24.0]
    assert len(noon) > 20
    assert len(night) > 20
    # Late September to October, 30-44° N: the noon Sun stands 30-60° high.
    assert all(not p.station_dark and p.sun_elevation_deg > 25.0 for p in noon)
    assert all(p.station_dark and p.sun_elevation_deg < -12.0 for p in night)
    assert all(p.station_dark == (p.sun_elevation_deg < -12.0) for p in jinan1_month)


def test_satellite_shadow_is_consistent_with_the_sun(jinan1_month: list[Pass]) -> None:
    # At 500 km the Earth's shadow needs the Sun > 22° below the horizon at the
    # sub-satellite point, which is within ~12° of arc of a station that sees it above 15°:
    # in shadow => the Sun is down at the station; the Sun 40° down => in shadow.
    for p in jinan1_month:
        if p.satellite_in_shadow:
            assert p.sun_elevation_deg < 0.0
        if p.sun_elevation_deg < -40.0:
            assert p.satellite_in_shadow
    noon = [p for p in jinan1_month if 11.0 <= _local_hour(p.culmination_unix_s) < 14.0]
    assert not any(p.satellite_in_shadow for p in noon)
    assert any(p.is_night for p in jinan1_month)


def test_night_passes_over_jinan_begin_around_22_30(jinan1_month: list[Pass]) -> None:
    """SPEC §1: Jinan-1 passes start ~22:30 local time (Beijing, UTC+8)."""
    night = [p for p in jinan1_month if p.station == "Jinan" and p.is_night]
    assert len(night) >= 25
    local_h = np.array([_local_hour(p.rise_unix_s) for p in night])
    local_h = np.where(local_h < 12.0, local_h + 24.0, local_h)  # after midnight stays late
    print(f"\nJinan night pass starts: mean {local_h.mean():.2f} h, "
          f"{local_h.min():.2f}-{local_h.max():.2f} h local")
    assert abs(local_h.mean() - 22.5) < 0.75


def test_low_mask_and_no_passes() -> None:
    pole = Station(name="Pole", latitude_deg=-89.9, longitude_deg=0.0, aperture_m=1.0,
                   optical_efficiency=0.5, detectors={"efficiency": 0.5, "dark_count_hz": 10.0},
                   filter_width_nm=1.0, time_gate_ps=1000.0)
    # Tiangong-2 (42.8°) never rises above 10° at the South Pole.
    from satqkd.config import load_mission

    tiangong2 = load_mission("tiangong2")
    orbit = SatelliteOrbit.from_config(tiangong2.satellite)
    t0 = orbit.epoch_unix_s
    assert find_passes(orbit, [pole], t0, t0 + 2 * 86400.0, 10.0) == []
    passes = find_passes(orbit, list(tiangong2.stations.values()), t0, t0 + 2 * 86400.0, 10.0)
    assert passes
    assert all(385.0 < p.min_range_km < 1420.0 for p in passes)  # 390 km; 10° at ~1413 km
