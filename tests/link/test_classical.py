"""Classical link: frame loss versus geometry, and latency."""

from __future__ import annotations

import numpy as np
import pytest

from satqkd.link import (
    downlink_frame_loss_probability,
    frame_loss_probability,
    latency_s,
    received_power_dbm,
    uplink_frame_loss_probability,
)
from satqkd.link.classical import bit_error_rate

DOWN = dict(divergence_urad=10.0, tx_aperture_m=0.2, rx_aperture_m=0.28)


def test_frame_loss_in_unit_interval_and_monotone_in_range() -> None:
    range_km = np.linspace(500.0, 1800.0, 40)
    for p in (
        downlink_frame_loss_probability(range_km, 30.0, **DOWN, sensitivity_dbm=-33.0),
        uplink_frame_loss_probability(range_km, 30.0),
    ):
        assert np.all((p >= 0.0) & (p <= 1.0))
        assert np.all(np.diff(p) >= 0.0) and p[-1] > p[0]


def test_frame_loss_falls_with_elevation() -> None:
    el = np.linspace(10.0, 85.0, 30)
    for p in (
        downlink_frame_loss_probability(1000.0, el, **DOWN, sensitivity_dbm=-33.0),
        uplink_frame_loss_probability(1000.0, el),
    ):
        assert np.all(np.diff(p) <= 0.0) and p[0] > p[-1]


def test_frame_loss_limits() -> None:
    # Huge margin: nothing lost; far below sensitivity: everything lost.
    assert downlink_frame_loss_probability(500.0, 80.0, **DOWN, sensitivity_dbm=-80.0) < 1e-12
    assert downlink_frame_loss_probability(500.0, 80.0, **DOWN, sensitivity_dbm=0.0) > 0.999
    # Longer frames are lost more often.
    short = downlink_frame_loss_probability(1500.0, 20.0, **DOWN, sensitivity_dbm=-33.0,
                                            frame_bits=1000)
    long = downlink_frame_loss_probability(1500.0, 20.0, **DOWN, sensitivity_dbm=-33.0,
                                           frame_bits=100_000)
    assert long > short


def test_frame_loss_matches_monte_carlo_of_fades() -> None:
    # Sample pointing (Rayleigh offsets) and log-normal scintillation, then average the
    # frame loss directly; the closed-form average must agree.
    rng = np.random.default_rng(4)
    kwargs = dict(power_mw=500.0, wavelength_nm=1538.0, divergence_urad=60.0,
                  tx_aperture_m=0.05, rx_aperture_m=0.2, sensitivity_dbm=-40.0,
                  pointing_jitter_urad=20.0, rx_optical_efficiency=0.3,
                  zenith_transmittance=0.95)
    range_km, el_deg, s2_zenith = 1200.0, 25.0, 0.15
    p_mw0 = 10 ** (received_power_dbm(range_km, el_deg, **{
        k: v for k, v in kwargs.items() if k not in ("wavelength_nm", "sensitivity_dbm")
    }) / 10)
    beta = 4 * (20e-6 * range_km * 1e3) ** 2 / (60e-6 * range_km * 1e3 / 2) ** 2
    p_bore = p_mw0 * (1 + beta)  # undo the mean pointing loss
    from satqkd.link.atmosphere import scintillation_log_variance

    s2 = float(scintillation_log_variance(el_deg, s2_zenith))
    n = 400_000
    h_p = rng.uniform(size=n) ** beta
    h_s = np.exp(rng.normal(-s2 / 2, np.sqrt(s2), n))
    ber = bit_error_rate(10 * np.log10(p_bore * h_p * h_s), -40.0)
    mc = np.mean(-np.expm1(8192 * np.log1p(-ber)))
    closed = frame_loss_probability(range_km, el_deg, **kwargs,
                                    scintillation_sigma2_zenith=s2_zenith)
    assert 0.05 < mc < 0.95
    assert closed == pytest.approx(mc, abs=0.005)


def test_given_fading_realisation_is_followed() -> None:
    # Boresight power at 1200 km / 25° is -32.1 dBm: a -32.5 dBm sensitivity leaves 0.4 dB.
    fading = np.array([0.5, 0.9, 1.2])
    p = downlink_frame_loss_probability(np.full(3, 1200.0), 25.0, **DOWN, sensitivity_dbm=-32.5,
                                        pointing_jitter_urad=0.0, fading=fading)
    assert p[0] > 0.9 and p[0] > p[1] > p[2]
    assert 1e-6 < p[1] < 1e-3


def test_latency() -> None:
    assert latency_s(299_792.458) == pytest.approx(1.0)
    assert latency_s(np.array([500.0, 1500.0])) == pytest.approx([1.668e-3, 5.003e-3], rel=1e-3)
