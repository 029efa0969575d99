"""Discretised density evolution of sum-product decoding over the BSC (offline design tool).

Deterministic counterpart of :mod:`.density_evolution` (Richardson and Urbanke, "Modern
Coding Theory", §4.5; Chung et al., IEEE Commun. Lett. 5, 58 (2001)): the density of the
variable-to-check LLR messages (all-zero codeword, symmetric channel) lives on the uniform
grid x_i = (i − H) Δ, |x| ≤ ``llr_max``.

* Check node: the quantised pairwise rule ``Q(a ⊞ b)`` tabulated once on the grid; the
  density of ``d − 1`` i.i.d. messages combined is a binary power of that pairwise
  operation (exact for the quantised decoder).
* Variable node: sums of independent messages are linear convolutions, done by FFT on a
  grid long enough to hold the whole sum, then saturated at ±``llr_max``.
* Channel: mass (1 − p) at +ln((1−p)/p), p at its negative, each split linearly between
  its two neighbouring grid points.

With Δ = 0.1 the BSC threshold of the regular (3, 6) ensemble comes out at p* ≈ 0.084, the
published value (Richardson and Urbanke, IEEE Trans. Inf. Theory 47, 599 (2001)). Unlike the
Monte Carlo version it has no sampling noise, so small profile changes can be ranked.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from satqkd.distill.ldpc.density_evolution import (
    _inverse_entropy,
    concentrated_checks,
    edge_from_node,
)


class Grid:
    """LLR grid and its tabulated, quantised check-node rule."""

    def __init__(self, step: float = 0.1, llr_max: float = 25.0) -> None:
        self.step = float(step)
        self.half = round(llr_max / step)
        self.size = 2 * self.half + 1
        x = (np.arange(self.size) - self.half) * self.step
        self.x = x
        t = np.tanh(0.5 * x)
        prod = np.clip(np.outer(t, t), -1.0 + 1e-15, 1.0 - 1e-15)
        out = 2.0 * np.arctanh(prod)
        self.table = np.clip(np.rint(out / self.step) + self.half, 0, self.size - 1).astype(
            np.int32
        )

    def channel(self, p: float) -> np.ndarray:
        """Density of the BSC(p) channel LLR on the grid."""
        dens = np.zeros(self.size)
        pos = math.log((1.0 - p) / p) / self.step
        lo = math.floor(pos)
        w = pos - lo
        for sign, mass in ((1, 1.0 - p), (-1, p)):
            for offset, weight in ((lo, 1.0 - w), (lo + 1, w)):
                idx = min(max(self.half + sign * offset, 0), self.size - 1)
                dens[idx] += mass * weight
        return dens


@njit(cache=True)
def _boxplus(a: np.ndarray, b: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Density of Q(X ⊞ Y) for independent X ~ a, Y ~ b."""
    n = a.size
    out = np.zeros(n)
    for i in range(n):
        ai = a[i]
        if ai < 1e-300:
            continue
        row = table[i]
        for j in range(n):
            out[row[j]] += ai * b[j]
    return out


def _check_power(dens: np.ndarray, count: int, table: np.ndarray) -> np.ndarray:
    """Density of ``count`` i.i.d. messages ⊞-combined (count ≥ 1), by binary powers."""
    result = None
    base = dens
    while count:
        if count & 1:
            result = base if result is None else _boxplus(result, base, table)
        count >>= 1
        if count:
            base = _boxplus(base, base, table)
    assert result is not None
    return result


def evolve(
    p: float,
    node_fractions: dict[int, float],
    rate: float,
    grid: Grid,
    max_iterations: int = 400,
    target_error: float = 1e-7,
) -> tuple[bool, int, float]:
    """Run DE at crossover ``p``: (converged, iterations, final bit-message error).

    Converged: error probability of the variable messages below ``target_error``; failed:
    20 iterations without a new lowest error, or ``max_iterations``.
    """
    lam = edge_from_node(node_fractions)
    rho = concentrated_checks(node_fractions, rate)
    n, half = grid.size, grid.half
    channel = grid.channel(p)
    vmax = max(lam)
    fft_len = 1 << math.ceil(math.log2(vmax * (n - 1) + 1))
    ch_f = np.fft.rfft(channel, fft_len)
    msg = channel.copy()
    best, stall, err = 1.0, 0, 1.0
    for it in range(max_iterations):
        chk = np.zeros(n)
        for d, w in rho.items():
            chk += w * _check_power(msg, d - 1, grid.table)
        chk_f = np.fft.rfft(chk, fft_len)
        new = np.zeros(n)
        for d, w in lam.items():
            full = np.fft.irfft(ch_f * chk_f ** (d - 1), fft_len)[: d * (n - 1) + 1]
            full = np.maximum(full, 0.0)
            # Index k of the sum of d grid messages is x = (k − d·H)Δ; saturate at ±llr_max.
            shift = (d - 1) * half
            lo = shift
            hi = shift + n - 1
            part = np.zeros(n)
            part[:] = full[lo : hi + 1]
            part[0] += full[:lo].sum()
            part[-1] += full[hi + 1 :].sum()
            new += w * part
        msg = new / new.sum()
        err = msg[:half].sum() + 0.5 * msg[half]
        if err < target_error:
            return True, it + 1, float(err)
        if err < best * (1.0 - 1e-6):
            best, stall = err, 0
        else:
            stall += 1
            if stall >= 20:
                return False, it + 1, float(err)
    return False, max_iterations, float(err)


def threshold_efficiency(
    node_fractions: dict[int, float],
    rate: float,
    grid: Grid | None = None,
    steps: int = 10,
    f_range: tuple[float, float] = (1.0, 1.4),
    max_iterations: int = 400,
) -> float:
    """Asymptotic efficiency f* = (1 − R)/H(p*) by bisection over f in ``f_range``."""
    grid = grid if grid is not None else Grid()
    lo_f, hi_f = f_range[1], f_range[0]  # lo_f decodes (assumed), hi_f does not
    for _ in range(steps):
        mid = 0.5 * (lo_f + hi_f)
        p = _inverse_entropy((1.0 - rate) / mid)
        ok, _, _ = evolve(p, node_fractions, rate, grid, max_iterations)
        if ok:
            lo_f = mid
        else:
            hi_f = mid
    return lo_f
