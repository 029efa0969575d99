"""Time-gate efficiency for signal and background."""

from __future__ import annotations

import numpy as np
import pytest

from satqkd.link import (
    background_gate_fraction,
    combined_jitter_fwhm_ps,
    gate_efficiency,
    jitter_fwhm_for_gate_efficiency,
)


def test_jinan1_gate_keeps_80_percent_for_735_ps_total_jitter() -> None:
    # SPEC §2: Jinan-1's 800 ps gate keeps ~80% of the signal. That needs a total Gaussian
    # jitter of 735 ps FWHM; the detector (350 ps) and sync (100 ps) alone would keep 99%.
    assert jitter_fwhm_for_gate_efficiency(800.0, 0.8) == pytest.approx(735.0, abs=1.0)
    assert gate_efficiency(800.0, 735.0) == pytest.approx(0.80, abs=1e-3)
    assert gate_efficiency(800.0, combined_jitter_fwhm_ps(350.0, 100.0)) > 0.98


def test_jinan1_gate_halves_background() -> None:
    # 800 ps per 1.6 ns pulse period at 625 MHz: 3 dB.
    assert -10 * np.log10(background_gate_fraction(800.0, 625e6)) == pytest.approx(3.01, abs=0.01)
    assert background_gate_fraction(2000.0, 1e9) == 1.0


def test_gate_efficiency_matches_sampled_gaussian_arrivals() -> None:
    rng = np.random.default_rng(2)
    fwhm_ps = 500.0
    arrivals_ps = rng.normal(0.0, fwhm_ps / 2.3548, 400_000)
    kept = np.mean(np.abs(arrivals_ps) < 300.0)
    assert gate_efficiency(600.0, fwhm_ps) == pytest.approx(kept, abs=3e-3)


def test_gate_limits() -> None:
    assert gate_efficiency(800.0, 0.0) == 1.0
    widths = gate_efficiency(np.array([100.0, 400.0, 1600.0]), 700.0)
    assert np.all(np.diff(widths) > 0)
    # Micius: 350 ps detector + 529 ps sync in a 2 ns window: ~100%.
    assert gate_efficiency(2000.0, combined_jitter_fwhm_ps(350.0, 529.0)) > 0.999
