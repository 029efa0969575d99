"""ε budget, final key length, the method dispatcher and the package's public names."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

import satqkd.distill.estimation as estimation
from satqkd.distill.estimation import (
    METHODS,
    DecoyCounts,
    DecoySource,
    binary_entropy,
    estimate,
    final_key_length,
)
from satqkd.distill.estimation.composable import sampling_gap_lim
from satqkd.distill.estimation.gaussian import n_sigma_for, sampling_gap
from satqkd.distill.security import EpsilonBudget

# One 500-kbit block of the example pass (Jinan-like, QBER ≈ 1 %), per basis.
BLOCK = DecoyCounts(
    detections=np.array([[236_800, 237_200], [15_070, 14_900], [406, 396]]),
    errors=np.array([[2_307, 2_296], [268, 251], [133, 138]]),
    pulses_sent=46_875_000_000,
)
SOURCE = DecoySource.jinan1()


def test_public_names_exist() -> None:
    assert len(set(estimation.__all__)) == len(estimation.__all__)  # order: ruff RUF022
    for name in estimation.__all__:
        assert hasattr(estimation, name)


def test_epsilon_budget_sums_and_validates() -> None:
    eps = EpsilonBudget(
        pe_per_bound=1e-10,
        pe_bounds=12,
        error_correction=2e-10,
        privacy_amplification=3e-10,
        authentication=4e-10,
    )
    assert eps.parameter_estimation == pytest.approx(1.2e-9)
    assert eps.total == pytest.approx(1.2e-9 + 9e-10)
    assert eps.secrecy_trace_distance == pytest.approx(2 * math.sqrt(1.2e-9) + 3e-10)
    assert eps.privacy_amplification_bits == pytest.approx(2 * math.log2(1 / 6e-10))
    assert eps.verification_bits == pytest.approx(math.log2(5e9))
    assert eps.as_dict()["total"] == eps.total
    with pytest.raises(AttributeError):
        eps.authentication = 0.0  # type: ignore[misc]
    for bad in ({"error_correction": 0.0}, {"privacy_amplification": 1.0},
                {"authentication": -1e-3}, {"pe_bounds": -1},
                {"pe_per_bound": float("nan")}):  # fmt: skip
        with pytest.raises(ValueError):
            EpsilonBudget(**bad)  # type: ignore[arg-type]


def test_binary_entropy() -> None:
    np.testing.assert_allclose(binary_entropy([0.0, 0.5, 1.0, 0.11]), [0, 1, 0, 0.49992], atol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_final_key_length_subtracts_every_term(method: str) -> None:
    est = estimate(BLOCK, SOURCE, method)
    eps = EpsilonBudget(error_correction=2.0**-40, privacy_amplification=1e-10)
    leak = 1.2 * BLOCK.total_detections * float(binary_entropy(BLOCK.qber))
    result = final_key_length(est, leak, verification_bits=32, eps=eps)
    # a 32-bit tag is too short for ε_EC = 2^-40: charged 40 bits
    assert result.verification_bits == pytest.approx(40.0)
    pa = 2 * math.log2(1 / 2e-10)
    assert result.privacy_amplification_bits == pytest.approx(pa)
    assert result.final_key_bits == math.floor(est.secret_bits - leak - 40.0 - pa)
    assert 0.1 * BLOCK.total_detections < result.final_key_bits < 0.35 * BLOCK.total_detections
    # the ε budget reports the estimate's parameter-estimation terms
    assert result.eps.pe_bounds == est.n_bounds and result.eps.pe_per_bound == est.failure_per_bound
    assert result.eps.total == pytest.approx(est.eps_pe + 2.0**-40 + 1e-10 + 1e-10)
    out = result.as_dict()
    for key in ("final_key_bits", "single_photon_lower", "phase_error_upper", "ec_leak_bits",
                "method", "epsilon"):  # fmt: skip
        assert key in out
    # a longer tag is charged as disclosed
    assert final_key_length(est, leak, 64, eps).verification_bits == 64.0


def test_final_key_length_clips_at_zero_and_validates() -> None:
    est = estimate(BLOCK, SOURCE)
    result = final_key_length(est, 10 * est.secret_bits, 64, EpsilonBudget())
    assert result.final_key_bits == 0
    with pytest.raises(ValueError):
        final_key_length(est, -1.0, 64, EpsilonBudget())
    with pytest.raises(ValueError):
        final_key_length(est, 0.0, float("inf"), EpsilonBudget())


def test_dispatcher_methods_and_failure_probability() -> None:
    assert estimate(BLOCK, SOURCE, "gaussian").failure_per_bound == pytest.approx(2.867e-7, 1e-3)
    tight = estimate(BLOCK, SOURCE, "gaussian", failure_probability=1e-3)
    assert tight.details["n_sigma"] == pytest.approx(n_sigma_for(1e-3))
    assert tight.secret_bits > estimate(BLOCK, SOURCE, "gaussian").secret_bits
    loose = estimate(BLOCK, SOURCE, "chernoff", failure_probability=1e-20)
    assert loose.secret_bits < estimate(BLOCK, SOURCE, "chernoff").secret_bits
    with pytest.raises(ValueError, match="unknown method"):
        estimate(BLOCK, SOURCE, "asymptotic")
    with pytest.raises(ValueError):
        estimate(BLOCK, SOURCE, key_bases=(2,))
    with pytest.raises(ValueError):
        estimate(BLOCK, SOURCE, key_bases=())


def test_composable_reports_its_terms() -> None:
    est = estimate(BLOCK, SOURCE, "composable")
    assert est.n_bounds == 16 and est.eps_pe == pytest.approx(1.6e-9)
    assert all(s0 > 0 for s0 in est.zero_photon_lower)
    gap_z = est.details["sampling_gap_Z"]
    assert est.phase_error_upper[0] == pytest.approx(est.single_photon_error_upper[1] + gap_z)
    assert 0 < gap_z < 0.01


def test_sampling_gaps_shrink_with_size() -> None:
    small = sampling_gap_lim(1e-10, 0.01, 1e4, 1e4)
    large = sampling_gap_lim(1e-10, 0.01, 1e6, 1e6)
    assert large < small / 5
    assert sampling_gap_lim(1e-10, 0.01, 0.0, 1e6) == 0.5
    assert sampling_gap(0.01, 1e6, 1e6, 5.0) == pytest.approx(5 * math.sqrt(0.0099 * 2e-6))
    assert sampling_gap(0.01, 0.0, 1e6, 5.0) == 0.5


def test_source_validation() -> None:
    with pytest.raises(ValueError):
        DecoySource(0.1, 0.8, 0.0, 0.5, 0.25, 0.25)
    with pytest.raises(ValueError):
        DecoySource(0.8, 0.1, 0.0, 0.5, 0.25, 0.3)
    with pytest.raises(ValueError):
        DecoySource(0.8, 0.1, 0.0, 1.0, 0.0, 0.0)
    micius = DecoySource(0.8, 0.1, 0.0, 0.5, 0.25, 0.25)  # true vacuum is allowed
    assert micius.poisson(2)[2].tolist() == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("method", METHODS)
def test_estimate_of_one_block_is_fast(method: str) -> None:
    estimate(BLOCK, SOURCE, method)
    start = time.perf_counter()
    for _ in range(200):
        estimate(BLOCK, SOURCE, method)
    per_call_s = (time.perf_counter() - start) / 200
    print(f"\nestimate({method}) of one 500-kbit block: {per_call_s * 1e6:.0f} µs")
    assert per_call_s < 5e-3
