"""What every parameter-estimation method returns: :class:`Estimate`.

All three methods (``chernoff``, ``gaussian``, ``composable``) report the same
quantities per basis, so the key-length step and the reports need not know which
one ran. Per-basis tuples are indexed by basis (0 = Z, 1 = X).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from satqkd.distill.estimation.counts import BASIS_NAMES

__all__ = ["Estimate", "binary_entropy", "key_bases_tuple", "secret_bits"]


def binary_entropy(p: float | np.ndarray) -> np.ndarray:
    """H(p) = −p log2 p − (1−p) log2(1−p), with H(0) = H(1) = 0; p is clipped to [0, 1]."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -p * np.log2(p) - (1.0 - p) * np.log2(1.0 - p)
    return np.nan_to_num(h, nan=0.0)


def key_bases_tuple(key_bases: Sequence[int]) -> tuple[int, ...]:
    """Sorted unique key bases; raises ValueError unless a non-empty subset of {0 (Z), 1 (X)}."""
    bases = tuple(sorted({int(b) for b in key_bases}))
    if not bases or not set(bases) <= {0, 1}:
        raise ValueError(f"key_bases must be a non-empty subset of (0, 1), got {key_bases!r}")
    return bases


def secret_bits(
    single_photon_lower: np.ndarray, phase_error_upper: np.ndarray, zero_photon_lower: np.ndarray
) -> float:
    """Σ over key bases of s0 + s1·(1 − H(e_ph)): the smooth min-entropy bound before leaks.

    A phase-error bound at or above 1/2 leaves nothing from that basis's single
    photons; negative lower bounds count as 0. The per-basis sum is valid (and no
    weaker than pooling the bases): Eve's phase-error pattern on the joint key lies
    in the product of the per-basis typical sets.
    """
    s1 = np.maximum(np.asarray(single_photon_lower, dtype=float), 0.0)
    e_ph = np.asarray(phase_error_upper, dtype=float)
    useful = np.where(e_ph < 0.5, 1.0 - binary_entropy(e_ph), 0.0)
    s0 = np.maximum(np.asarray(zero_photon_lower, dtype=float), 0.0)
    return float(np.sum(s0 + s1 * useful))


@dataclass(frozen=True)
class Estimate:
    """Decoy-state finite-key bounds of one block, before error-correction leakage.

    Attributes
    ----------
    method:
        ``"chernoff"``, ``"gaussian"`` or ``"composable"``.
    key_bases:
        The bases whose sifted bits form the key (both, on Jinan-1).
    single_photon_lower:
        Per basis, lower bound on the single-photon detections among the key bits
        of that basis (signal source for ``chernoff``/``gaussian``, all intensities
        for ``composable``).
    single_photon_error_upper:
        Per basis, upper bound on the bit error rate of those single-photon events.
    phase_error_upper:
        Per basis, upper bound on the phase error rate of the basis's single-photon
        key bits, estimated from the *other* basis's single-photon bit errors.
    zero_photon_lower:
        Per basis, lower bound on zero-photon detections counted as secret
        (``composable`` only; 0 otherwise).
    secret_bits:
        Σ over key bases of s0 + s1·(1 − H(e_ph)), in bits.
    failure_per_bound, n_bounds:
        Each statistical bound fails with probability ``failure_per_bound``;
        ``n_bounds`` of them were used, so ε_PE = their product.
    details:
        Method-specific intermediate values (sampling gaps, yields), for reports.
    """

    method: str
    key_bases: tuple[int, ...]
    single_photon_lower: tuple[float, float]
    single_photon_error_upper: tuple[float, float]
    phase_error_upper: tuple[float, float]
    zero_photon_lower: tuple[float, float]
    secret_bits: float
    failure_per_bound: float
    n_bounds: int
    details: Mapping[str, float] = field(default_factory=dict)

    @property
    def eps_pe(self) -> float:
        """ε_PE = failure_per_bound × n_bounds (union bound)."""
        return self.failure_per_bound * self.n_bounds

    @property
    def single_photon_lower_total(self) -> float:
        """Lower bound on single-photon key bits summed over the key bases (≥ 0)."""
        return float(sum(max(self.single_photon_lower[b], 0.0) for b in self.key_bases))

    @property
    def phase_error_upper_mean(self) -> float:
        """Phase-error bound of the key: per-basis bounds weighted by their s1 lower bounds."""
        weights = np.array([max(self.single_photon_lower[b], 0.0) for b in self.key_bases])
        values = np.array([self.phase_error_upper[b] for b in self.key_bases])
        if weights.sum() <= 0.0:
            return float(np.max(values))
        return float(np.sum(weights * values) / weights.sum())

    def as_dict(self) -> dict[str, object]:
        """JSON-ready view; per-basis values keyed by ``"Z"``/``"X"``."""

        def per_basis(values: tuple[float, float]) -> dict[str, float]:
            return {BASIS_NAMES[b]: float(values[b]) for b in (0, 1)}

        return {
            "method": self.method,
            "key_bases": [BASIS_NAMES[b] for b in self.key_bases],
            "single_photon_lower": self.single_photon_lower_total,
            "phase_error_upper": self.phase_error_upper_mean,
            "single_photon_lower_by_basis": per_basis(self.single_photon_lower),
            "single_photon_error_upper_by_basis": per_basis(self.single_photon_error_upper),
            "phase_error_upper_by_basis": per_basis(self.phase_error_upper),
            "zero_photon_lower_by_basis": per_basis(self.zero_photon_lower),
            "secret_bits_before_leak": self.secret_bits,
            "failure_per_bound": self.failure_per_bound,
            "n_bounds": self.n_bounds,
            "details": {k: float(v) for k, v in self.details.items()},
        }
