"""Airmass, extinction and turbulence fading."""

from __future__ import annotations

import numpy as np
import pytest

from satqkd.errors import InputError
from satqkd.link import (
    airmass,
    atmosphere_loss_db,
    atmospheric_transmittance,
    draw_fading,
    scintillation_log_variance,
)


def test_kasten_young_airmass_reference_values() -> None:
    # Kasten & Young (1989) formula values; plane-parallel 1/sin(el) away from the horizon.
    np.testing.assert_allclose(airmass([90.0, 30.0, 10.0, 0.0]),
                               [0.9997, 1.9943, 5.5860, 37.92], rtol=1e-3)
    el = np.array([40.0, 60.0, 80.0])
    np.testing.assert_allclose(airmass(el), 1 / np.sin(np.radians(el)), rtol=2e-3)


def test_transmittance_power_law_and_monotone_in_elevation() -> None:
    el = np.linspace(5.0, 90.0, 100)
    t = atmospheric_transmittance(el, 0.9)
    assert np.all(np.diff(t) > 0)
    np.testing.assert_allclose(t, 0.9 ** airmass(el))
    # Haze adds its zenith dB per airmass.
    extra_db = atmosphere_loss_db(30.0, 0.9, 1.0) - atmosphere_loss_db(30.0, 0.9)
    assert extra_db == pytest.approx(airmass(30.0), rel=1e-9)
    # Micius (≈20° at 1200 km): clear 0.9 gives 1.3 dB, hazy 0.7 gives 4.5 dB.
    assert atmosphere_loss_db(20.0, 0.9) == pytest.approx(1.33, abs=0.02)


def test_scintillation_variance_grows_with_airmass() -> None:
    s2 = scintillation_log_variance(np.array([90.0, 45.0, 20.0, 10.0]), 0.02)
    assert np.all(np.diff(s2) > 0)
    assert s2[0] == pytest.approx(0.02 * airmass(90.0) ** (11 / 6))


def test_fading_has_unit_mean_and_right_log_variance() -> None:
    t_s = np.arange(200_000) * 1e-3
    fading = draw_fading(t_s, 45.0, sigma2_zenith=0.05, coherence_time_s=2e-3, rng=11)
    sigma2 = float(scintillation_log_variance(45.0, 0.05))
    assert fading.mean() == pytest.approx(1.0, abs=0.01)
    assert np.log(fading).var() == pytest.approx(sigma2, rel=0.05)
    assert np.all(fading > 0)


def test_fading_is_correlated_over_the_coherence_time() -> None:
    t_s = np.arange(100_000) * 1e-4
    x = np.log(draw_fading(t_s, 60.0, sigma2_zenith=0.1, coherence_time_s=1e-3, rng=3))
    x = x - x.mean()
    lag = 10  # 1 ms = one coherence time
    corr = np.dot(x[:-lag], x[lag:]) / np.dot(x, x)
    assert corr == pytest.approx(np.exp(-1.0), abs=0.05)


def test_fading_seeded_reproducible_and_zero_variance_is_ones() -> None:
    t_s = np.linspace(0.0, 10.0, 1000)
    el = np.linspace(15.0, 70.0, 1000)
    a = draw_fading(t_s, el, sigma2_zenith=0.03, coherence_time_s=0.01, rng=5)
    b = draw_fading(t_s, el, sigma2_zenith=0.03, coherence_time_s=0.01, rng=5)
    c = draw_fading(t_s, el, sigma2_zenith=0.03, coherence_time_s=0.01, rng=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(
        draw_fading(t_s, el, sigma2_zenith=0.0, coherence_time_s=0.01, rng=5), 1.0
    )


def test_fading_rejects_unsorted_times() -> None:
    with pytest.raises(InputError, match="t_s"):
        draw_fading(np.array([0.0, 2.0, 1.0]), 30.0, sigma2_zenith=0.1, coherence_time_s=1e-3)
    with pytest.raises(InputError, match="zenith_transmittance"):
        atmospheric_transmittance(30.0, 1.5)
