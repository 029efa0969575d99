"""The n-σ (Gaussian) finite-key analysis of the earlier missions (Micius, Tiangong-2).

SPEC §8 and Liao et al., Nature 549, 43 (2017), Methods; the decoy bounds are the
vacuum + weak decoy bounds of Ma, Qi, Zhao & Lo, PRA 72, 012326 (2005). Approximate
by construction: each count is assumed normally distributed.

Per basis B, with gains written in count units (Q_j = S_j/p_j; the number of pulses
cancels from every bound), every observed count X is widened to X ± n√X (Ma et al.:
Q(1 ± n/√(N Q)); a zero count is widened as if it were 1), then

    Y0_U = Q_ω^U e^ω                                     (Q_ω e^ω = Y0 + ωY1 + … ≥ Y0)
    Y0_L = max(0, (ν Q_ω^L e^ω − ω Q_ν^U e^ν)/(ν − ω))
    Y1_L = μ/(μν − ν²) · (Q_ν^L e^ν − (ν²/μ²) Q_μ^U e^μ − ((μ² − ν²)/μ²) Y0_U)
    n1_L = p_μ μ e^−μ Y1_L                               (single-photon signal detections)
    e1_U = ((E_ν Q_ν)^U e^ν − Y0_L/2) / (ν Y1_L).

The key comes from both bases (Micius practice): the Z key's phase error is the X
single-photon bit-error bound plus a random-sampling gap θ (Fung et al., PRA 81,
012318 (2010), in its Gaussian form: the error rates of two random subsets of sizes
n_Z, n_X of one pool differ by at most θ = n·sqrt(e(1−e)(n_Z + n_X)/(n_Z n_X))),
and vice versa. R = Σ_B n1_L^B (1 − H(e1_U^{B'} + θ)).

ε: with n standard deviations each bound fails with probability Φ(−n) (2.9e-7 for the
historical n = 5); 6 count bounds per basis plus one θ per key basis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

from satqkd.distill.estimation.counts import DECOY, SIGNAL, VACUUM, DecoyCounts, DecoySource, X, Z
from satqkd.distill.estimation.result import Estimate, key_bases_tuple, secret_bits

__all__ = ["BOUNDS_PER_BASIS", "estimate_gaussian", "n_sigma_for", "sampling_gap"]

BOUNDS_PER_BASIS = 6


def n_sigma_for(failure_probability: float) -> float:
    """Number of standard deviations n with one-sided Gaussian tail Φ(−n) = failure_probability."""
    if not 0.0 < failure_probability < 0.5:
        raise ValueError(f"failure_probability must be in (0, 0.5), got {failure_probability!r}")
    return float(-ndtri(failure_probability))


def sampling_gap(error_rate: float, n_key: float, n_test: float, n_sigma: float) -> float:
    """Gaussian random-sampling gap θ between a test set's error rate and a key set's.

    ``θ = n·sqrt(e(1−e)(n_key + n_test)/(n_key n_test))``; 0.5 when either set is empty.
    """
    if n_key <= 0.0 or n_test <= 0.0:
        return 0.5
    e = min(max(error_rate, 0.0), 0.5)
    return n_sigma * math.sqrt(e * (1.0 - e) * (n_key + n_test) / (n_key * n_test))


def _widen(count: NDArray[np.float64], n_sigma: float) -> tuple[NDArray, NDArray]:
    width = n_sigma * np.sqrt(np.maximum(count, 1.0))
    return np.maximum(count - width, 0.0), count + width


def _basis_bounds(
    detections: NDArray[np.float64],
    errors: NDArray[np.float64],
    source: DecoySource,
    n_sigma: float,
) -> tuple[float, float, float]:
    """(n1_L, e1_U, Y0_L) of one basis, in counts."""
    mu, nu, om = source.signal, source.decoy, source.vacuum
    p = source.probabilities
    s_low, s_up = _widen(detections, n_sigma)
    _, t_up = _widen(errors[DECOY : DECOY + 1], n_sigma)
    q_low, q_up = s_low / p, s_up / p
    y0_up = q_up[VACUUM] * math.exp(om)
    y0_low = max(
        0.0, (nu * q_low[VACUUM] * math.exp(om) - om * q_up[DECOY] * math.exp(nu)) / (nu - om)
    )
    y1_low = (
        mu
        / (mu * nu - nu**2)
        * (
            q_low[DECOY] * math.exp(nu)
            - nu**2 / mu**2 * q_up[SIGNAL] * math.exp(mu)
            - (mu**2 - nu**2) / mu**2 * y0_up
        )
    )
    n1_low = source.p_signal * mu * math.exp(-mu) * y1_low
    if y1_low > 0.0:
        eq_up = float(t_up[0]) / source.p_decoy
        e1_up = max((eq_up * math.exp(nu) - y0_low / 2.0) / (nu * y1_low), 0.0)
    else:
        e1_up = 0.5
    return float(n1_low), float(e1_up), float(y0_low)


def estimate_gaussian(
    counts: DecoyCounts,
    source: DecoySource,
    n_sigma: float = 5.0,
    key_bases: Sequence[int] = (Z, X),
) -> Estimate:
    """Micius-style n-σ decoy bounds (module docstring) for one block of counts.

    Parameters
    ----------
    counts:
        Sifted detections and errors per intensity and basis of the key block.
    source:
        Intensities and their probabilities.
    n_sigma:
        Width of every confidence interval in standard deviations (Micius: 5).
    key_bases:
        Bases whose bits form the key (default both).
    """
    if n_sigma <= 0.0:
        raise ValueError(f"n_sigma must be > 0, got {n_sigma!r}")
    n1 = np.zeros(2)
    e1 = np.zeros(2)
    y0 = np.zeros(2)
    for basis in (Z, X):
        n1[basis], e1[basis], y0[basis] = _basis_bounds(
            counts.detections[:, basis].astype(float),
            counts.errors[:, basis].astype(float),
            source,
            n_sigma,
        )
    theta = np.array(
        [sampling_gap(e1[1 - b], max(n1[b], 0.0), max(n1[1 - b], 0.0), n_sigma) for b in (Z, X)]
    )
    phase = e1[::-1] + theta
    bases = key_bases_tuple(key_bases)
    idx = list(bases)
    return Estimate(
        method="gaussian",
        key_bases=bases,
        single_photon_lower=(float(n1[Z]), float(n1[X])),
        single_photon_error_upper=(float(e1[Z]), float(e1[X])),
        phase_error_upper=(float(phase[Z]), float(phase[X])),
        zero_photon_lower=(0.0, 0.0),
        secret_bits=secret_bits(n1[idx], phase[idx], np.zeros(len(idx))),
        failure_per_bound=float(ndtr(-n_sigma)),
        n_bounds=2 * BOUNDS_PER_BASIS + len(bases),
        details={
            "n_sigma": n_sigma,
            "sampling_gap_Z": float(theta[Z]),
            "sampling_gap_X": float(theta[X]),
            "zero_photon_yield_lower_Z": float(y0[Z]),
            "zero_photon_yield_lower_X": float(y0[X]),
        },
    )
