"""The simulated classical link: light time, serialisation at the link rate, frame loss
from the classical beam's budget plus extra loss, and faults as configured."""

from __future__ import annotations

import numpy as np
import pytest

from satqkd.config import Mission, Station
from satqkd.link.classical import uplink_frame_loss_probability
from satqkd.photonics.timing import SPEED_OF_LIGHT_KM_S
from satqkd.protocol.link import LinkDirection, LinkProfile
from satqkd.protocol.run import LinkFaults, pass_link_profiles
from satqkd.simulate.pass_simulation import PassSimulation

FRAME = bytes(1041)  # a full 1024-byte frame with its 17-byte header


def test_profile_latency_is_range_over_c(mission: Mission, station: Station,
                                         short_pass: PassSimulation) -> None:
    up, down = pass_link_profiles(mission, station, short_pass.geometry)
    geo = short_pass.geometry
    for t, r in zip(geo.t_s[::50], geo.range_km[::50], strict=True):
        assert up.latency_s(float(t)) == pytest.approx(r / SPEED_OF_LIGHT_KM_S, rel=1e-9)
        assert down.latency_s(float(t)) == up.latency_s(float(t))
    assert 2e-3 < up.latency_s(0.0) < 4e-3  # 600–1200 km slant range


def test_profile_loss_follows_the_budget_plus_extra(mission: Mission, station: Station,
                                                    short_pass: PassSimulation) -> None:
    payload = mission.satellite.payload
    geo = short_pass.geometry
    up, _ = pass_link_profiles(mission, station, geo, LinkFaults(extra_loss=0.25))
    budget = uplink_frame_loss_probability(
        geo.range_km, geo.elevation_deg, power_mw=payload.classical.uplink_power_mw,
        wavelength_nm=payload.classical.uplink_wavelength_nm,
        divergence_urad=payload.classical.uplink_divergence_urad,
        rx_aperture_m=payload.tx_aperture_m, frame_bits=8 * payload.classical.frame_bytes,
        zenith_transmittance=station.zenith_transmittance,
        haze_extinction_db=station.haze_extinction_db)
    budget = np.asarray(budget) * np.ones_like(geo.t_s)
    for i in (0, len(geo.t_s) // 2, len(geo.t_s) - 1):
        assert up.frame_loss(float(geo.t_s[i])) == pytest.approx(min(1.0, budget[i] + 0.25))
    assert up.rate_bps == payload.classical.data_rate_bps == 156e6


def test_frames_queue_at_the_link_rate(rng: np.random.Generator) -> None:
    link = LinkDirection(lambda t: 3e-3, lambda t: 0.0, rate_bps=156e6)
    arrivals = [link.transmit(FRAME, 0.0, rng)[0][0] for _ in range(1000)]
    per_frame_s = 8 * len(FRAME) / 156e6
    assert arrivals[0] == pytest.approx(3e-3 + per_frame_s)
    assert arrivals[-1] == pytest.approx(3e-3 + 1000 * per_frame_s)
    assert link.stats.bits == 8 * len(FRAME) * 1000


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_loss_corruption_duplication_rates(p: float, rng: np.random.Generator) -> None:
    n = 20_000
    link = LinkDirection(lambda t: 1e-3, lambda t: p, corrupt_probability=p,
                         duplicate_probability=p)
    copies = [link.transmit(FRAME, i * 1e-4, rng) for i in range(n)]
    sigma = np.sqrt(p * (1 - p) / n)
    assert link.stats.lost / n == pytest.approx(p, abs=5 * sigma)
    kept = n - link.stats.lost
    assert link.stats.corrupted / kept == pytest.approx(p, abs=6 * sigma)
    assert link.stats.duplicated / kept == pytest.approx(p, abs=6 * sigma)
    flipped = [c for cs in copies for _, c in cs if c != FRAME]
    assert all(sum(bin(a ^ b).count("1") for a, b in zip(c, FRAME, strict=True)) == 1
               for c in flipped[:200])


def test_outage_loses_every_frame_inside_it(rng: np.random.Generator) -> None:
    link = LinkDirection(lambda t: 1e-3, lambda t: 0.0, outages=((1.0, 2.0),))
    assert link.transmit(FRAME, 0.5, rng)
    assert link.transmit(FRAME, 1.5, rng) == []
    assert link.transmit(FRAME, 2.5, rng)


def test_profile_survives_the_trip_through_arrays(mission: Mission, station: Station,
                                                  short_pass: PassSimulation) -> None:
    faults = LinkFaults(extra_loss=0.1, corrupt_probability=0.01, duplicate_probability=0.02,
                        reorder_s=0.003, outages=((3.0, 4.0),))
    _, down = pass_link_profiles(mission, station, short_pass.geometry, faults)
    back = LinkProfile.from_arrays(down.to_arrays("x/"), "x/")
    assert back.outages == ((3.0, 4.0),) and back.reorder_s == 0.003
    assert (back.extra_loss, back.corrupt_probability, back.duplicate_probability) == (
        0.1, 0.01, 0.02)
    assert np.array_equal(back.loss_probability, down.loss_probability)
    assert back.latency_s(7.5) == down.latency_s(7.5)
