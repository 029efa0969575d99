"""The Jinan-1 finite-key analysis: Chernoff bounds on every count, three-intensity decoy.

Statistics (Zhang et al., PRA 95, 012333 (2017), as used for Jinan-1, SPEC §8). For an
observed count X that is a sum of independent Bernoulli trials with unknown mean E,
the multiplicative Chernoff bound gives the confidence interval

    E_L = X/(1+δ1),  [e^δ1/(1+δ1)^(1+δ1)]^(X/(1+δ1)) = ξ
    E_U = X/(1−δ2),  [e^−δ2/(1−δ2)^(1−δ2)]^(X/(1−δ2)) = ξ,

each failing with probability ξ. Writing E for the unknown mean, both equations are
the same one, ``E − X + X ln(X/E) = ln(1/ξ)``, whose two roots are E_L < X < E_U.
With ``t = E/X`` it reads ``t − ln t = 1 + ln(1/ξ)/X``, solved in closed form by the two
real branches of the Lambert W function: ``E = −X·W(−exp(−1 − ln(1/ξ)/X))`` (branch 0
gives E_L, branch −1 gives E_U); for large X both roots are near t = 1, where they are
found by Newton's method on ``d − log1p(d) = ln(1/ξ)/X`` instead. For X = 0: E_L = 0,
E_U = ln(1/ξ).

Decoy bounds (re-derived; a_k, b_k, c_k are the Poisson photon-number probabilities of
ω, ν, μ; S_j, T_j the detections and errors of source j in one basis; y_k the expected
k-photon detections per unit source probability). From S_j/p_j = Σ_k j_k y_k, eliminating
y0 with the vacuum source and then y2 between the decoy and signal equations leaves a
remainder Σ_{k≥3} [...] y_k ≤ 0 (true for μ > ν + ω, ν > ω), hence

    s1_L = p_μ c1 a0 [ (a0c2 − c0a2) S_ν^L/p_ν − (a0b2 − b0a2) S_μ^U/p_μ − (c2b0 − b2c0) S_o^U/p_o ]
           / [ (a0c2 − c0a2)(a0b1 − b0a1) − (a0b2 − b0a2)(a0c1 − c0a1) ],

which is SPEC's formula with the factor p_o² p_ν p_μ divided out. Eliminating y1 between
the vacuum and decoy equations gives the zero-photon lower bound
``y0_L = (p_ν b1 S_o^L − p_o a1 S_ν^U) / (p_o p_ν (a0b1 − a1b0))`` (SPEC's ⟨S_ν⟩ there
must be the *upper* bound), and the decoy error equation with vacuum error rate 1/2 gives

    e1_U = (T_ν^U − p_ν b0 y0_L/2) · p_μ c1 / (p_ν b1 s1_L).

Sanity check (test_estimation_chernoff.py): exact expected counts for μ=0.8, ν=0.1,
ω=0.001, 0.5/0.25/0.25, η=1e-3, Y0=1e-6, e_d=1% give s1_L = 0.945 × the true signal
single-photon count and e1_U = 1.28 % against a true 1.05 % (SPEC quotes ≈0.94 and ≈1.2 %).

Which basis gives the key: both. Jinan-1 picks Z and X with equal probability, so
keeping only one basis would halve the key. The formulas are applied per basis (the
satellite's basis choice is independent of the intensity, so each basis is a valid
three-source decoy experiment); the Z key's phase error is the single-photon *bit*
error bound of the X basis, and vice versa, and the secret entropy is
Σ_B s1_L^B (1 − H(e1_U^{B'})). As in the published Jinan-1 analysis no random-sampling
gap is added between the other basis's bit error and this basis's phase error (the
``composable`` method adds one); the Chernoff widths on the decoy counts are far larger
than that gap at Jinan-1 block sizes. The bounds are on expected counts; the realised
single-photon count differs by O(√s1), far inside the Chernoff widths.

ε: 6 count bounds per basis (S_ν^L, S_μ^U, S_o^U, S_o^L, S_ν^U, T_ν^U), 12 in all, each ξ.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import lambertw

from satqkd.distill.estimation.counts import DECOY, SIGNAL, VACUUM, DecoyCounts, DecoySource, X, Z
from satqkd.distill.estimation.result import Estimate, key_bases_tuple, secret_bits

__all__ = [
    "BOUNDS_PER_BASIS",
    "chernoff_bounds",
    "decoy_single_photon_bounds",
    "estimate_chernoff",
]

BOUNDS_PER_BASIS = 6
_UNDERFLOW_EXPONENT = 700.0
_NEWTON_BELOW = 0.05


def chernoff_bounds(
    observed: ArrayLike, failure_probability: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Lower and upper confidence limits on the mean of each observed count.

    Parameters
    ----------
    observed:
        Observed counts X (any shape, ≥ 0; need not be integers).
    failure_probability:
        ξ, the probability that each limit fails (one-sided).

    Returns
    -------
    (E_L, E_U), arrays of the shape of ``observed``.
    """
    if not 0.0 < failure_probability < 1.0:
        raise ValueError(f"failure_probability must be in (0, 1), got {failure_probability!r}")
    x = np.asarray(observed, dtype=float)
    if np.any(~np.isfinite(x)) or np.any(x < 0.0):
        raise ValueError("observed counts must be finite and >= 0")
    log_inv = math.log(1.0 / failure_probability)
    lower = np.zeros_like(x)
    upper = np.full_like(x, log_inv)
    positive = x > 0.0
    xp = x[positive]
    u = log_inv / xp
    lower_ratio = np.empty_like(xp)
    upper_ratio = np.empty_like(xp)

    # Small u (large counts): both roots sit near the branch point t = 1, where W loses
    # precision; solve d − log1p(d) = u for t = 1 + d by Newton from the series start.
    near = u < _NEWTON_BELOW
    if np.any(near):
        root = np.sqrt(2.0 * u[near])
        for sign, out in ((-1.0, lower_ratio), (1.0, upper_ratio)):
            d = sign * root + 2.0 * u[near] / 3.0
            for _ in range(6):
                d = d - (d - np.log1p(d) - u[near]) * (1.0 + d) / d
            out[near] = 1.0 + d

    far = ~near
    if np.any(far):
        k = 1.0 + u[far]
        z = -np.exp(-np.minimum(k, _UNDERFLOW_EXPONENT))
        lower_ratio[far] = np.where(k < _UNDERFLOW_EXPONENT, -lambertw(z, 0).real, np.exp(-k))
        t = -lambertw(z, -1).real
        huge = k >= _UNDERFLOW_EXPONENT
        if np.any(huge):
            # t − ln t = k with k huge: the fixed point t = k + ln t converges in a few steps.
            t_huge = k[huge].copy()
            for _ in range(8):
                t_huge = k[huge] + np.log(t_huge)
            t[huge] = t_huge
        upper_ratio[far] = t
    lower[positive] = xp * lower_ratio
    upper[positive] = xp * upper_ratio
    return lower, upper


def decoy_single_photon_bounds(
    detections_lower: NDArray[np.float64],
    detections_upper: NDArray[np.float64],
    decoy_errors_upper: float,
    source: DecoySource,
) -> tuple[float, float, float]:
    """The decoy algebra of one basis on already-bounded expected counts.

    Parameters
    ----------
    detections_lower, detections_upper:
        ``[3]`` lower and upper bounds on the expected detections of the signal, decoy
        and vacuum sources (pass the exact expectations as both for the asymptotic case).
    decoy_errors_upper:
        Upper bound on the expected errors of the decoy source.
    source:
        Intensities and their probabilities.

    Returns
    -------
    (s1_L, e1_U, y0_L): single-photon detections of the signal source, their bit error
    rate (0.5 when s1_L ≤ 0) and the zero-photon detections per unit source probability.
    """
    c, b, a = source.poisson(2)  # rows: signal μ, decoy ν, vacuum ω
    a0, a1, a2 = a
    b0, b1, b2 = b
    c0, c1, c2 = c
    p_mu, p_nu, p_o = source.p_signal, source.p_decoy, source.p_vacuum
    s_low, s_up = detections_lower, detections_upper

    numerator = a0 * (
        (a0 * c2 - c0 * a2) * s_low[DECOY] / p_nu
        - (a0 * b2 - b0 * a2) * s_up[SIGNAL] / p_mu
        - (c2 * b0 - b2 * c0) * s_up[VACUUM] / p_o
    )
    denominator = (a0 * c2 - c0 * a2) * (a0 * b1 - b0 * a1) - (a0 * b2 - b0 * a2) * (
        a0 * c1 - c0 * a1
    )
    s1_low = p_mu * c1 * numerator / denominator

    y0_low = (p_nu * b1 * s_low[VACUUM] - p_o * a1 * s_up[DECOY]) / (
        p_o * p_nu * (a0 * b1 - a1 * b0)
    )
    y0_low = max(y0_low, 0.0)
    if s1_low > 0.0:
        e1_up = (decoy_errors_upper - p_nu * b0 * y0_low / 2.0) * p_mu * c1 / (p_nu * b1 * s1_low)
        e1_up = max(e1_up, 0.0)
    else:
        e1_up = 0.5
    return float(s1_low), float(e1_up), float(y0_low)


def estimate_chernoff(
    counts: DecoyCounts,
    source: DecoySource,
    failure_probability: float = 1e-10,
    key_bases: Sequence[int] = (Z, X),
) -> Estimate:
    """Jinan-1 decoy-state bounds (module docstring) for one block of counts.

    Parameters
    ----------
    counts:
        Sifted detections and errors per intensity and basis of the key block.
    source:
        Intensities and their probabilities.
    failure_probability:
        ξ of every Chernoff bound (Jinan-1: 1e-10).
    key_bases:
        Bases whose bits form the key (default both).
    """
    s1 = np.zeros(2)
    e1 = np.zeros(2)
    y0 = np.zeros(2)
    for basis in (Z, X):
        s_low, s_up = chernoff_bounds(counts.detections[:, basis], failure_probability)
        _, t_up = chernoff_bounds(counts.errors[DECOY, basis], failure_probability)
        s1[basis], e1[basis], y0[basis] = decoy_single_photon_bounds(
            s_low, s_up, float(t_up), source
        )
    phase = e1[::-1].copy()  # Z key ← X single-photon bit errors, and vice versa
    bases = key_bases_tuple(key_bases)
    idx = list(bases)
    return Estimate(
        method="chernoff",
        key_bases=bases,
        single_photon_lower=(float(s1[Z]), float(s1[X])),
        single_photon_error_upper=(float(e1[Z]), float(e1[X])),
        phase_error_upper=(float(phase[Z]), float(phase[X])),
        zero_photon_lower=(0.0, 0.0),
        secret_bits=secret_bits(s1[idx], phase[idx], np.zeros(len(idx))),
        failure_per_bound=failure_probability,
        n_bounds=2 * BOUNDS_PER_BASIS,
        details={"zero_photon_yield_lower_Z": y0[Z], "zero_photon_yield_lower_X": y0[X]},
    )
