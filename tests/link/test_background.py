"""Background counts: dark counts, night sky by site class, the Moon, gating."""

from __future__ import annotations

import numpy as np
import pytest

from satqkd.errors import InputError
from satqkd.link import (
    background_counts,
    fov_solid_angle_sr,
    moon_radiance,
    phase_angle_from_illuminated_fraction,
    sky_radiance,
    sky_zenith_radiance,
)
from satqkd.link.background import ARCSEC2_PER_SR

JINAN1 = dict(
    rx_aperture_m=0.28, fov_urad=100.0, filter_width_nm=4.0, rx_optical_efficiency=0.49,
    detector_efficiency=0.6, dark_count_hz=100.0, gate_ps=800.0, rep_rate_hz=625e6,
)


def _counts(**changes: object) -> np.ndarray:
    return background_counts(**{**JINAN1, "dark_count_hz": 0.0, **changes}).sky_hz


def test_sky_classes_urban_tens_of_times_brighter_than_mountain() -> None:
    ratio = sky_zenith_radiance("urban") / sky_zenith_radiance("mountain")
    assert 10.0 < ratio < 100.0
    assert sky_zenith_radiance("mountain") < sky_zenith_radiance("rural") < sky_zenith_radiance(
        "urban"
    )
    assert sky_zenith_radiance("urban", 2.0) == pytest.approx(2 * sky_zenith_radiance("urban"))
    # I = 19.5 mag/arcsec² through the Vega zero point: ~3e10 photons/(s m² sr nm).
    assert sky_zenith_radiance("mountain") == pytest.approx(3.0e10, rel=0.05)


def test_sky_brightens_towards_horizon() -> None:
    radiance = sky_radiance(np.array([90.0, 45.0, 20.0, 10.0]), "rural")
    assert np.all(np.diff(radiance) > 0)


def test_background_linear_in_solid_angle_filter_and_gate() -> None:
    base = _counts()
    assert _counts(filter_width_nm=8.0) == pytest.approx(2 * base)
    # Solid angle: quadrupled by doubling the field of view (small angles).
    omega_ratio = fov_solid_angle_sr(200.0) / fov_solid_angle_sr(100.0)
    assert _counts(fov_urad=200.0) == pytest.approx(base * omega_ratio)
    assert omega_ratio == pytest.approx(4.0, rel=1e-6)
    assert fov_solid_angle_sr(100.0) == pytest.approx(np.pi * (50e-6) ** 2, rel=1e-6)
    # Gated rate linear in the gate width; per-gate probability too (while small).
    short = background_counts(**JINAN1)
    long = background_counts(**{**JINAN1, "gate_ps": 1200.0})
    assert long.gated_hz == pytest.approx(short.gated_hz * 1.5)
    assert long.probability_per_gate == pytest.approx(short.probability_per_gate * 1.5, rel=1e-5)
    assert short.gated_hz == pytest.approx(short.total_hz / 2)  # Jinan-1: halves background


def test_dark_counts_add_per_detector_and_sky_splits_over_detectors() -> None:
    b = background_counts(**JINAN1)
    assert b.total_hz == pytest.approx(b.sky_hz + 100.0)
    four = _counts()
    two = _counts(n_detectors=2)
    assert two == pytest.approx(2 * four)


def test_photon_bookkeeping_by_hand() -> None:
    # Urban zenith, 0.28 m, 100 µrad, 4 nm, 0.49 × 0.6, four detectors.
    radiance = sky_zenith_radiance("urban")
    area = np.pi * 0.14**2
    expected = radiance * area * fov_solid_angle_sr(100.0) * 4.0 * 0.49 * 0.6 / 4
    assert _counts(elevation_deg=90.0) == pytest.approx(expected)


def test_tiangong2_background_order_of_magnitude() -> None:
    # SPEC §2: Tiangong-2, 1.2 m receiver, ~7 dB receiver optics, background ~300 counts/s
    # including dark counts. Field of view and filter are not in SPEC: assumed 100 µrad and
    # 5 nm, detectors 50% with 25 Hz dark counts, mountain site (Nanshan), 35° elevation.
    # A consistency check, not a reproduction: within a factor of 3 (model: ~310 /s).
    b = background_counts(
        rx_aperture_m=1.2, fov_urad=100.0, filter_width_nm=5.0,
        rx_optical_efficiency=10 ** -0.7, detector_efficiency=0.5, dark_count_hz=25.0,
        gate_ps=2000.0, rep_rate_hz=50e6, elevation_deg=35.0, sky_class="mountain",
    )
    total_all_detectors = 4 * float(b.total_hz)
    assert 100.0 < total_all_detectors < 900.0


def test_moon_adds_more_when_closer_and_fuller() -> None:
    closer = moon_radiance(np.array([5.0, 20.0, 60.0, 120.0]), 40.0, 0.0, 45.0)
    assert np.all(np.diff(closer) < 0)
    fuller = moon_radiance(30.0, 40.0, np.array([0.0, 45.0, 90.0, 150.0]), 45.0)
    assert np.all(np.diff(fuller) < 0)
    assert moon_radiance(30.0, -2.0, 0.0, 45.0) == 0.0  # below the horizon
    with_moon = background_counts(**JINAN1, moon_separation_deg=np.array([10.0, 40.0]),
                                  moon_elevation_deg=40.0, moon_phase_angle_deg=0.0,
                                  elevation_deg=45.0)
    without = background_counts(**JINAN1, elevation_deg=45.0)
    assert np.all(with_moon.total_hz > without.total_hz)
    assert with_moon.moon_hz[0] > with_moon.moon_hz[1]


def test_moon_brightness_against_krisciunas_schaefer_v_band() -> None:
    # Full Moon at 60° elevation, 30° from a line of sight at 45°, V-band extinction
    # 0.172 mag/airmass: K&S give B ≈ 3.2e3 nL, i.e. V ≈ 17.6 mag/arcsec².
    t_zenith = 10 ** (-0.4 * 0.172)
    radiance = moon_radiance(30.0, 60.0, 0.0, 45.0, zenith_transmittance=t_zenith)
    v_zero_photons = 3.63e-11 * 545e-9 / (6.62607015e-34 * 299_792_458.0) * ARCSEC2_PER_SR
    v_mag = -2.5 * np.log10(radiance / v_zero_photons)
    assert v_mag == pytest.approx(17.57, abs=0.05)


def test_phase_angle_from_illuminated_fraction() -> None:
    np.testing.assert_allclose(phase_angle_from_illuminated_fraction([1.0, 0.5, 0.0]),
                               [0.0, 90.0, 180.0], atol=1e-9)


def test_background_input_errors() -> None:
    with pytest.raises(InputError, match="sky_class"):
        background_counts(**JINAN1, sky_class="suburban")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="moon"):
        background_counts(**JINAN1, moon_separation_deg=10.0)
