"""Monte Carlo density evolution of sum-product decoding over the BSC (offline design tool).

Population dynamics (Richardson and Urbanke, "Modern Coding Theory", §4.4): the density of
variable-to-check LLR messages of an infinitely long code with edge-perspective degree
distributions λ (variables) and ρ (checks) is represented by ``population`` samples, under
the all-zero-codeword assumption (valid: channel and decoder are symmetric, and syndrome
decoding of the error pattern is the same decoder). One iteration draws, for each sample,
a check degree from ρ and combines ``d − 1`` random samples with the tanh rule, then a
variable degree from λ and adds ``d − 1`` such check messages to the channel LLR.

:func:`threshold` bisects the largest crossover probability p* at which the error fraction
falls to zero (below ``1/population``; a run also stops as failed after 60 iterations without
a new lowest error fraction); the asymptotic efficiency of a rate-R ensemble is
``(1 − R)/H(p*)``. It is a coarse tool: with 10 000–20 000 samples the estimated f* of a
high-rate (R ≈ 0.9) ensemble scatters by up to ±3 % between seeds, enough to reject poor
distributions, not to fine-tune good ones (for that, finite-length trials decide). Checked
against the regular (3, 6) ensemble, whose BP threshold on the BSC is p* ≈ 0.084
(Richardson and Urbanke, IEEE Trans. Inf. Theory 47, 599 (2001)).
``benchmarks/reconciliation.py --design`` prints the thresholds of the shipped
distributions; nothing here runs during a pass.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Magnitude cap of LLR samples (tanh(15) = 1 − 2e-13: saturated in float64).
_LLR_CAP = 30.0


@njit(cache=True)
def _evolve(
    p: float,
    var_deg: np.ndarray,
    var_cdf: np.ndarray,
    chk_deg: np.ndarray,
    chk_cdf: np.ndarray,
    population: int,
    max_iterations: int,
    seed: int,
) -> tuple[bool, int, float]:
    """Run DE at crossover ``p``; (converged, iterations, final error fraction)."""
    np.random.seed(seed)
    llr = math.log((1.0 - p) / p)
    v = np.empty(population)
    for i in range(population):
        v[i] = -llr if np.random.random() < p else llr
    t = np.empty(population)
    c = np.empty(population)
    best = 1.0
    stall = 0
    err = 1.0
    for it in range(max_iterations):
        for i in range(population):
            t[i] = math.tanh(0.5 * v[i])
        for i in range(population):
            d = chk_deg[np.searchsorted(chk_cdf, np.random.random())]
            prod = 1.0
            for _ in range(d - 1):
                prod *= t[np.random.randint(population)]
            prod = min(max(prod, -1.0 + 1e-15), 1.0 - 1e-15)
            c[i] = min(max(2.0 * math.atanh(prod), -_LLR_CAP), _LLR_CAP)
        bad = 0.0
        for i in range(population):
            d = var_deg[np.searchsorted(var_cdf, np.random.random())]
            s = -llr if np.random.random() < p else llr
            for _ in range(d - 1):
                s += c[np.random.randint(population)]
            v[i] = min(max(s, -_LLR_CAP), _LLR_CAP)
            if s < 0.0:
                bad += 1.0
            elif s == 0.0:
                bad += 0.5
        err = bad / population
        if err == 0.0:
            return True, it + 1, 0.0
        if err < best:
            best = err
            stall = 0
        else:
            stall += 1
            if stall >= 60:
                return False, it + 1, err
    return False, max_iterations, err


def _table(fractions: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    degrees = np.array(sorted(fractions), np.int64)
    weights = np.array([fractions[d] for d in sorted(fractions)], np.float64)
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    return degrees, cdf


def edge_from_node(node_fractions: dict[int, float]) -> dict[int, float]:
    """λ_i = i Λ_i / Σ_j j Λ_j: fraction of edges on degree-i nodes."""
    total = sum(d * f for d, f in node_fractions.items())
    return {d: d * f / total for d, f in node_fractions.items()}


def concentrated_checks(node_fractions: dict[int, float], rate: float) -> dict[int, float]:
    """Edge-perspective check distribution with all check degrees within one of the mean."""
    mean_dv = sum(d * f for d, f in node_fractions.items())
    mean_dc = mean_dv / (1.0 - rate)
    low = math.floor(mean_dc)
    frac_high = mean_dc - low  # node fraction of degree low + 1
    nodes = {low: 1.0 - frac_high, low + 1: frac_high}
    return edge_from_node({d: f for d, f in nodes.items() if f > 0})


def converges(
    p: float,
    node_fractions: dict[int, float],
    rate: float,
    population: int = 50_000,
    max_iterations: int = 400,
    seed: int = 1,
) -> bool:
    """Does DE of the ensemble (Λ, concentrated checks, rate) decode at crossover ``p``?"""
    vd, vc = _table(edge_from_node(node_fractions))
    cd, cc = _table(concentrated_checks(node_fractions, rate))
    ok, _, _ = _evolve(p, vd, vc, cd, cc, population, max_iterations, seed)
    return bool(ok)


def threshold(
    node_fractions: dict[int, float],
    rate: float,
    population: int = 50_000,
    steps: int = 9,
    seed: int = 1,
    f_range: tuple[float, float] = (1.0, 1.6),
) -> float:
    """Largest BSC crossover p* (bisection in H(p)) at which the ensemble decodes.

    The bisection runs on the efficiency f = (1 − R)/H(p) over ``f_range`` (f = 1 is the
    Shannon limit; the upper end is assumed to decode).
    """
    from satqkd.distill.ldpc.code import binary_entropy

    hi_f, lo_f = f_range  # lo_f: decodes, hi_f: cannot decode
    for _ in range(steps):
        mid = 0.5 * (lo_f + hi_f)
        p = _inverse_entropy((1.0 - rate) / mid)
        if converges(p, node_fractions, rate, population, seed=seed):
            lo_f = mid
        else:
            hi_f = mid
    p_star = _inverse_entropy((1.0 - rate) / lo_f)
    assert binary_entropy(p_star) > 0
    return p_star


def _inverse_entropy(h: float) -> float:
    """p in (0, 1/2) with H(p) = h (bisection)."""
    from satqkd.distill.ldpc.code import binary_entropy

    lo, hi = 1e-9, 0.5
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if binary_entropy(mid) < h:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def threshold_efficiency(
    node_fractions: dict[int, float],
    rate: float,
    population: int = 50_000,
    seed: int = 1,
    steps: int = 9,
    f_range: tuple[float, float] = (1.0, 1.6),
) -> float:
    """Asymptotic efficiency (1 − R)/H(p*) of the ensemble."""
    from satqkd.distill.ldpc.code import binary_entropy

    p_star = threshold(node_fractions, rate, population, steps, seed, f_range)
    return (1.0 - rate) / binary_entropy(p_star)
