"""The engine's counts agree with the analytic expectation of the channel model.

Every expected count is a Poisson mean (or a binomial fraction) computed by
``expected_counts`` in conftest.py from the configuration and the channel model alone;
the simulated counts must lie within 5 standard deviations of it. Seeds are fixed, so a
failure is reproducible and means a real disagreement, not bad luck (5σ ≈ 6e-7).
"""

from __future__ import annotations

import numpy as np

from satqkd.config import Mission, Station
from satqkd.simulate.engine import SimulationResult
from satqkd.simulate.polarisation import contrast_error

CLASSES = ("signal", "decoy", "vacuum")
BASES = ("Z", "X")


def poisson_z(observed: float, expected: float) -> float:
    """Deviation of a Poisson count from its mean, in standard deviations."""
    return (observed - expected) / np.sqrt(expected)


def binomial_z(successes: int, trials: int, p: float) -> float:
    """Deviation of a binomial count from its mean, in standard deviations."""
    return (successes - trials * p) / np.sqrt(trials * p * (1.0 - p))


def counts_by_class_and_basis(result: SimulationResult, mask: np.ndarray | None = None
                              ) -> np.ndarray:
    """Ground detections ``[class, measured basis]`` (class from the truth), optionally masked."""
    cls = result.truth.intensity_class
    basis = result.ground.basis
    keep = np.ones(len(result.ground), dtype=bool) if mask is None else mask
    return np.array([[np.sum(keep & (cls == c) & (basis == b)) for b in range(2)]
                     for c in range(3)])


def test_counts_per_intensity_and_basis_low_rate(low_rate_run, low_rate_expectation) -> None:
    observed = counts_by_class_and_basis(low_rate_run)
    expected = low_rate_expectation.detections
    assert expected[0].sum() > 3e4  # enough statistics for a sub-percent check on the signal
    for c in range(3):
        for b in range(2):
            z = poisson_z(observed[c, b], expected[c, b])
            assert abs(z) < 5, (CLASSES[c], BASES[b], observed[c, b], expected[c, b])


def test_counts_per_intensity_and_basis_at_625_mhz(full_rate_run, full_rate_expectation) -> None:
    """At the real rate: dead time, index recovery and the 1.6 ns slots change nothing visible."""
    observed = counts_by_class_and_basis(full_rate_run)
    expected = full_rate_expectation.detections
    assert expected[0].sum() > 5e4
    for c in range(3):
        for b in range(2):
            z = poisson_z(observed[c, b], expected[c, b])
            assert abs(z) < 5, (CLASSES[c], BASES[b], observed[c, b], expected[c, b])


def test_signal_and_background_detections_separately(low_rate_run, low_rate_expectation) -> None:
    signal = low_rate_run.truth.signal_click
    observed_signal = counts_by_class_and_basis(low_rate_run, signal).sum()
    observed_background = counts_by_class_and_basis(low_rate_run, ~signal).sum()
    assert abs(poisson_z(observed_signal, low_rate_expectation.signal_detections.sum())) < 5
    expected_background = low_rate_expectation.background_detections.sum()
    assert expected_background > 100
    assert abs(poisson_z(observed_background, expected_background)) < 5


def test_gate_keeps_about_80_percent_of_signal(jinan1: Mission, jinan: Station,
                                               low_rate_expectation) -> None:
    """SPEC §2: the 800 ps gate keeps ~80% of the signal photons (the preset's jitter)."""
    assert 0.78 < low_rate_expectation.gate_acceptance < 0.82


def test_basis_choice_is_balanced(low_rate_run, jinan: Station) -> None:
    ground = low_rate_run.ground
    n_z = int(np.sum(ground.basis == 0))
    assert abs(binomial_z(n_z, len(ground), jinan.basis_split_ratio)) < 5
    prepared_z = int(np.sum(low_rate_run.truth.prepared_state < 2))
    assert abs(binomial_z(prepared_z, len(ground), 0.5)) < 5
    assert abs(binomial_z(int(low_rate_run.truth.basis_match.sum()), len(ground), 0.5)) < 5


def test_bits_are_balanced_in_the_sifted_key(low_rate_run) -> None:
    sifted = low_rate_run.truth.basis_match
    for b in range(2):
        in_basis = sifted & (low_rate_run.ground.basis == b)
        ones = int(np.sum(low_rate_run.ground.bit[in_basis] == 1))
        assert abs(binomial_z(ones, int(in_basis.sum()), 0.5)) < 5


def test_sifted_errors_match_polarisation_error_and_background(
    low_rate_run, low_rate_expectation
) -> None:
    """QBER ≈ polarisation error (contrast + residual misalignment) + background / 2."""
    truth = low_rate_run.truth
    errors = counts_by_class_and_basis(low_rate_run, truth.basis_match & truth.bit_error)
    expected = low_rate_expectation.sifted_errors
    for c in range(2):  # the vacuum class has only a handful of sifted events
        assert abs(poisson_z(errors[c].sum(), expected[c].sum())) < 5, (CLASSES[c], errors[c])
    sifted_signal = truth.basis_match & (truth.intensity_class == 0)
    qber = truth.bit_error[sifted_signal].mean()
    expected_qber = expected[0].sum() / (0.5 * low_rate_expectation.detections[0].sum())
    sigma = np.sqrt(expected_qber * (1 - expected_qber) / sifted_signal.sum())
    assert abs(qber - expected_qber) < 5 * sigma
    # Jinan-1's 25 dB contrast alone gives ~0.3%; the 50 MHz variant's background adds little.
    assert 0.003 < qber < 0.01


def test_polarisation_error_is_contrast_plus_misalignment(low_rate_run, jinan1: Mission) -> None:
    channel = low_rate_run.channel
    e_c = contrast_error(jinan1.satellite.payload.polarisation_contrast_db)
    assert abs(e_c - 0.0032) < 1e-4  # SPEC §3: 25 dB contrast alone gives roughly 0.3% QBER
    expected = e_c + (1 - 2 * e_c) * np.sin(np.radians(channel.misalignment_deg)) ** 2
    np.testing.assert_allclose(channel.error_z, expected, rtol=1e-12)
    np.testing.assert_allclose(channel.error_x, expected, rtol=1e-12)
    assert np.all(channel.error_z >= e_c)
