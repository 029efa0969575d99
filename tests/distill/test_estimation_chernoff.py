"""The Jinan-1 Chernoff analysis: the interval itself, SPEC's sanity check, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from satqkd.distill.estimation import (
    DECOY,
    SIGNAL,
    VACUUM,
    DecoyCounts,
    DecoySource,
    X,
    Z,
    chernoff_bounds,
    estimate_chernoff,
)
from satqkd.distill.estimation.chernoff import decoy_single_photon_bounds

XI = 1e-10


def expected_counts(
    source: DecoySource, pulses: float, eta: float, y0: float, e_d: float
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Exact expected sifted detections/errors per source (one basis) and the true s1, e1."""
    n_max = 40
    k = np.arange(n_max + 1)
    photon_p = source.poisson(n_max)
    no_photon = (1.0 - eta) ** k
    click = 1.0 - (1.0 - y0) * no_photon
    error = e_d * (1.0 - no_photon) + 0.5 * y0 * no_photon
    per_source = pulses * source.probabilities / 2.0 / 2.0  # one basis, matched ground basis
    detections = per_source * (photon_p * click).sum(1)
    errors = per_source * (photon_p * error).sum(1)
    s1_true = per_source[SIGNAL] * photon_p[SIGNAL, 1] * click[1]
    return detections, errors, s1_true, error[1] / click[1]


def test_interval_solves_the_spec_equations() -> None:
    x = np.array([1.0, 7.0, 350.0, 2.0e4, 1.0e6])
    lower, upper = chernoff_bounds(x, XI)
    delta1 = x / lower - 1.0
    delta2 = 1.0 - x / upper
    # [e^δ1/(1+δ1)^(1+δ1)]^(X/(1+δ1)) = ξ and [e^−δ2/(1−δ2)^(1−δ2)]^(X/(1−δ2)) = ξ, in logs:
    log_lhs1 = x / (1 + delta1) * (delta1 - (1 + delta1) * np.log1p(delta1))
    log_lhs2 = x / (1 - delta2) * (-delta2 - (1 - delta2) * np.log1p(-delta2))
    np.testing.assert_allclose(log_lhs1, math.log(XI), rtol=1e-9)
    np.testing.assert_allclose(log_lhs2, math.log(XI), rtol=1e-9)
    assert np.all(lower < x) and np.all(upper > x)


def test_interval_edge_cases() -> None:
    lower, upper = chernoff_bounds([0.0, 1e-6, 1e12], XI)
    assert lower[0] == 0.0 and upper[0] == pytest.approx(math.log(1 / XI))
    assert upper[1] == pytest.approx(math.log(1 / XI), rel=1e-3)  # continuous at 0
    # Large counts: width ≈ sqrt(2 X ln(1/ξ))
    assert upper[2] - 1e12 == pytest.approx(math.sqrt(2e12 * math.log(1 / XI)), rel=1e-2)
    with pytest.raises(ValueError):
        chernoff_bounds([-1.0], XI)
    with pytest.raises(ValueError):
        chernoff_bounds([1.0], 0.0)


def test_interval_covers_the_mean_of_poisson_counts() -> None:
    """At ξ = 1e-3, the interval misses the true mean in at most ~ξ of 20 000 draws per side."""
    rng = np.random.default_rng(3)
    for mean in (3.0, 80.0, 5000.0):
        x = rng.poisson(mean, 20_000).astype(float)
        lower, upper = chernoff_bounds(x, 1e-3)
        assert np.mean(upper < mean) <= 2e-3
        assert np.mean(lower > mean) <= 2e-3


def test_spec_sanity_check_exact_expected_counts() -> None:
    """SPEC §8: s1_L ≈ 0.94 × the true single-photon count, e1_U ≈ 1.2 % against ≈ 1 %.

    Measured: s1_L/s1 = 0.9446, e1_U = 1.280 % against a true 1.049 %.
    """
    source = DecoySource.jinan1()
    det, err, s1_true, e1_true = expected_counts(source, 1e10, eta=1e-3, y0=1e-6, e_d=0.01)
    s1_low, e1_up, _ = decoy_single_photon_bounds(det, det, err[DECOY], source)
    assert s1_low / s1_true == pytest.approx(0.9446, abs=5e-4)
    assert e1_true == pytest.approx(0.01049, abs=1e-5)
    assert e1_up == pytest.approx(0.0128, abs=1e-4)
    assert 0.93 < s1_low / s1_true < 0.96 and 0.011 < e1_up < 0.0135


def test_finite_key_bounds_approach_the_asymptotic_ones() -> None:
    source = DecoySource.jinan1()
    ratios = []
    for pulses in (1e9, 1e11, 1e13):
        det, err, s1_true, _ = expected_counts(source, pulses, eta=1e-3, y0=1e-6, e_d=0.01)
        counts = DecoyCounts(np.round(np.stack([det, det], 1)), np.round(np.stack([err, err], 1)))
        est = estimate_chernoff(counts, source, XI)
        ratios.append(est.single_photon_lower[Z] / s1_true)
    assert ratios[0] < ratios[1] < ratios[2] < 0.9446 + 1e-3
    assert ratios[2] > 0.93


def test_estimate_reports_per_basis_and_epsilon() -> None:
    source = DecoySource.jinan1()
    det, err, _, _ = expected_counts(source, 2e10, eta=1e-4, y0=2e-7, e_d=0.008)
    counts = DecoyCounts(
        np.round(np.stack([det, det * 1.1], 1)), np.round(np.stack([err, err * 1.5], 1))
    )
    est = estimate_chernoff(counts, source, XI)
    assert est.method == "chernoff" and est.n_bounds == 12 and est.eps_pe == pytest.approx(1.2e-9)
    # X has more errors: the Z key (phase error from X) pays for it
    assert est.single_photon_error_upper[X] > est.single_photon_error_upper[Z]
    assert est.phase_error_upper == (est.single_photon_error_upper[X],
                                     est.single_photon_error_upper[Z])  # fmt: skip
    z_only = estimate_chernoff(counts, source, XI, key_bases=(Z,))
    assert 0 < z_only.secret_bits < est.secret_bits
    assert z_only.single_photon_lower_total == pytest.approx(est.single_photon_lower[Z])


def test_no_detections_gives_no_key() -> None:
    source = DecoySource.jinan1()
    est = estimate_chernoff(DecoyCounts.zeros(), source, XI)
    assert est.secret_bits == 0.0
    assert all(s <= 0 for s in est.single_photon_lower)


def test_vacuum_heavy_counts_give_no_key() -> None:
    """Background as bright as the signal: the decoy bound correctly finds no single photons."""
    source = DecoySource.jinan1()
    det = np.array([[1000, 1000], [1000, 1000], [1000, 1000]])
    err = det // 2
    est = estimate_chernoff(DecoyCounts(det, err), source, XI)
    assert est.secret_bits == 0.0
    assert VACUUM == 2
