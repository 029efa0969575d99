"""Which pass gets simulated, its QKD window, and the link loss along it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from satqkd.config import Mission, Station
from satqkd.errors import InputError
from satqkd.orbit.timescale import to_unix_s
from satqkd.simulate.channel import ChannelModel
from satqkd.simulate.geometry import pass_geometry
from satqkd.simulate.pass_simulation import SelectedPass, select_pass, simulate_pass


def test_reference_pass_is_the_published_one(reference_pass: SelectedPass, jinan: Station
                                             ) -> None:
    """SPEC §10: Jinan, 25 Sep 2022 (UTC), maximum elevation 34.1°, 300 s of data."""
    assert "reference" in reference_pass.label
    assert reference_pass.pass_.max_elevation_deg == pytest.approx(34.1, abs=0.05)
    assert reference_pass.window_end_unix_s - reference_pass.window_start_unix_s == (
        pytest.approx(300.0, abs=1e-6)
    )
    start = dt.datetime.fromtimestamp(reference_pass.window_start_unix_s, dt.UTC)
    assert start.date() == dt.date(2022, 9, 25)
    # Jinan-1 passes start ~22:30 local time (UTC+8, SPEC §1).
    local_hour = (start.hour + start.minute / 60 + 8) % 24
    assert 21.0 < local_hour < 24.0
    assert reference_pass.pass_.is_night
    geometry = pass_geometry(reference_pass.orbit, jinan, reference_pass.window_start_unix_s,
                             reference_pass.window_end_unix_s)
    assert geometry.max_elevation_deg == pytest.approx(34.1, abs=0.05)
    assert geometry.duration_s == pytest.approx(300.0, abs=1e-6)
    # The 300-s window is centred on the culmination: both ends above the QKD elevation.
    assert geometry.elevation_deg[0] > 15.0 and geometry.elevation_deg[-1] > 15.0


def test_start_picks_the_first_night_pass_after_it(jinan1: Mission, jinan: Station) -> None:
    start = dt.datetime(2022, 10, 3, tzinfo=dt.UTC)
    selected = select_pass(jinan1, jinan, start=start)
    assert selected.label == "night pass"
    p = selected.pass_
    assert p.rise_unix_s >= to_unix_s(start)
    assert p.is_night and p.station_dark and p.satellite_in_shadow
    assert p.max_elevation_deg >= jinan1.procedure.qkd_start_elevation_deg
    assert selected.window_start_unix_s >= p.rise_unix_s
    assert selected.window_end_unix_s <= p.set_unix_s
    window_s = selected.window_end_unix_s - selected.window_start_unix_s
    assert 0 < window_s <= jinan1.procedure.max_qkd_duration_s + 1e-6


def test_max_elevation_below_the_qkd_elevation_is_an_input_error(
    jinan1: Mission, jinan: Station
) -> None:
    with pytest.raises(InputError) as info:
        select_pass(jinan1, jinan, max_elevation_deg=12.0)
    assert info.value.source == "--max-elevation"


def test_synthetic_pass_of_given_max_elevation(jinan1: Mission, jinan: Station) -> None:
    selected = select_pass(jinan1, jinan, max_elevation_deg=50.0, duration_s=20.0)
    assert selected.pass_.max_elevation_deg == pytest.approx(50.0, abs=0.1)
    assert selected.window_end_unix_s - selected.window_start_unix_s == pytest.approx(20.0)


def test_reference_pass_loss_timeline(jinan1: Mission, jinan: Station,
                                      reference_pass: SelectedPass) -> None:
    """Loss at culmination in a sane band, and a monotone function of range along the pass.

    Range and elevation move together over a pass (the closer, the higher), so every term of
    the budget (diffraction, pointing, air mass) grows with range. Jinan-1's published link
    loss is of this order (the budget itself is checked against published figures in
    tests/link).
    """
    geometry = pass_geometry(reference_pass.orbit, jinan, reference_pass.window_start_unix_s,
                             reference_pass.window_end_unix_s)
    channel = ChannelModel.build(jinan1, jinan, geometry, seed=1)
    timeline = channel.timeline()
    t_s, loss_db = timeline["t_s"], timeline["loss_db"]
    assert t_s.size == 300 and np.all(np.diff(t_s) == 1.0)
    range_km = np.interp(t_s, geometry.t_s, geometry.range_km)
    i_culm = int(np.argmin(range_km))
    assert 30.0 < loss_db[i_culm] < 40.0
    # On each side of the culmination the loss rises with the range. (Across the two sides a
    # given range can come with slightly different elevations: oblate Earth, Earth rotation.)
    for side in (slice(0, i_culm + 1), slice(i_culm, None)):
        order = np.argsort(range_km[side])
        assert np.all(np.diff(loss_db[side][order]) > 0)
    assert loss_db.max() - loss_db.min() > 0.5  # the range changes noticeably in 300 s
    # The engine's transmittance is the same budget: η = 10^(−loss/10).
    np.testing.assert_allclose(channel.transmittance(t_s), 10 ** (-loss_db / 10), rtol=1e-9)
    # Expected gated background: 4 detectors × (sky + dark) × the gate's 0.5 (SPEC §2: −3 dB).
    assert channel.gate_fraction == pytest.approx(0.5)
    assert np.all(timeline["background_cps"] >= 4 * 25.0 * 0.5)


def test_simulate_pass_with_duration_cap(jinan1: Mission, jinan: Station) -> None:
    sim = simulate_pass(jinan1, jinan, duration_s=3.0, seed=2)
    assert sim.geometry.duration_s == pytest.approx(3.0)
    assert sim.geometry.max_elevation_deg == pytest.approx(34.1, abs=0.05)
    assert sim.result.satellite.pulses_sent == round(3.0 * 625e6)
    summary = sim.summary()
    assert summary["pulses_sent"] == sim.result.satellite.pulses_sent
    assert summary["detections"] == len(sim.result.ground) > 0
    timeline = sim.timeline()
    assert len(timeline) == 3
    counted = sum(row["count_rate_cps"] for row in timeline)
    assert counted == len(sim.result.ground)
