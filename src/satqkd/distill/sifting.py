"""Sifting, the QBER sample and the decoy counts: steps 2–4 of SPEC §7 on arrays.

The ground station detects, time-tags and recovers the pulse index of every
detection; it keeps a random 10 % of the detections as a QBER sample (their bits are
disclosed) and 90 % for the key. The satellite looks up, by pulse index, the basis,
bit and intensity class it used, keeps the detections whose bases match (sifting)
and both sides count detections and errors per intensity class and basis for the
decoy-state estimate.

Conventions: basis 0 = Z (H/V), 1 = X (D/A); bit 0/1; intensity class 0 = signal μ,
1 = decoy ν, 2 = vacuum ω; pulse indices are ``uint64``. Every function is a pure
numpy function on ``[n]`` arrays of one detection each.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from satqkd.distill.estimation.counts import DecoyCounts

__all__ = [
    "choose_sample",
    "count_by_class",
    "lookup_by_pulse",
    "sample_qber",
    "sift",
]

SeedLike = int | np.random.Generator | None


def lookup_by_pulse(
    pulse_index: ArrayLike, table: ArrayLike, first_pulse_index: int = 0
) -> NDArray:
    """The satellite's value (basis, bit or intensity) for each detected pulse.

    Parameters
    ----------
    pulse_index:
        ``[n]`` uint64 pulse indices of the detections.
    table:
        ``[m]`` values the satellite used, for pulses ``first_pulse_index`` …
        ``first_pulse_index + m − 1`` (its cache of random numbers).
    first_pulse_index:
        Pulse index of ``table[0]``.

    Raises ``IndexError`` when a detection's index is outside the cached range.
    """
    index = np.asarray(pulse_index, dtype=np.uint64)
    values = np.asarray(table)
    if index.size and (
        int(index.min()) < first_pulse_index or int(index.max()) >= first_pulse_index + len(values)
    ):
        raise IndexError(
            f"pulse indices {int(index.min())}..{int(index.max())} outside the cached range "
            f"{first_pulse_index}..{first_pulse_index + len(values) - 1}"
        )
    return values[(index - np.uint64(first_pulse_index)).astype(np.intp)]


def sift(ground_basis: ArrayLike, sat_basis: ArrayLike) -> NDArray[np.bool_]:
    """``[n]`` mask of the detections whose ground and satellite bases agree."""
    ground = np.asarray(ground_basis)
    sat = np.asarray(sat_basis)
    if ground.shape != sat.shape:
        raise ValueError(f"basis arrays differ in shape: {ground.shape} vs {sat.shape}")
    return ground == sat


def choose_sample(n: int, fraction: float = 0.1, seed: SeedLike = None) -> NDArray[np.bool_]:
    """``[n]`` mask selecting exactly ``round(fraction·n)`` detections uniformly at random.

    The ground station draws it (from its own random numbers) before it discloses the
    sample's bits; sampling without replacement, so the sample's QBER is an unbiased
    estimate of the key's, with hypergeometric fluctuations.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n!r}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction!r}")
    rng = np.random.default_rng(seed)
    k = round(fraction * n)
    mask = np.zeros(n, dtype=bool)
    mask[rng.choice(n, size=k, replace=False)] = True
    return mask


def sample_qber(
    sat_bits: ArrayLike, ground_bits: ArrayLike, sample_mask: ArrayLike
) -> tuple[int, int, float]:
    """(errors, sample size, QBER) of the disclosed sample; QBER is NaN for an empty sample."""
    sat = np.asarray(sat_bits)
    ground = np.asarray(ground_bits)
    mask = np.asarray(sample_mask, dtype=bool)
    if not (sat.shape == ground.shape == mask.shape):
        raise ValueError("sat_bits, ground_bits and sample_mask must have the same shape")
    n = int(mask.sum())
    errors = int(np.count_nonzero(sat[mask] != ground[mask]))
    return errors, n, (errors / n if n else float("nan"))


def count_by_class(
    intensity: ArrayLike,
    basis: ArrayLike,
    errors_mask: ArrayLike | None = None,
    pulses_sent: int | None = None,
) -> DecoyCounts:
    """Detections and errors per intensity class and basis of sifted detections.

    Parameters
    ----------
    intensity:
        ``[n]`` intensity class (0 signal, 1 decoy, 2 vacuum) of each sifted detection.
    basis:
        ``[n]`` basis (0 Z, 1 X) of each sifted detection.
    errors_mask:
        ``[n]`` True where the two bits differ (known exactly after error correction);
        None counts no errors.
    pulses_sent:
        Pulses the satellite sent for this block, if known.
    """
    cls = np.asarray(intensity)
    bas = np.asarray(basis)
    if cls.shape != bas.shape:
        raise ValueError(f"intensity and basis differ in shape: {cls.shape} vs {bas.shape}")
    if cls.size and (cls.min() < 0 or cls.max() > 2 or bas.min() < 0 or bas.max() > 1):
        raise ValueError("intensity classes must be 0, 1, 2 and bases 0, 1")
    cell = cls.astype(np.intp) * 2 + bas.astype(np.intp)
    detections = np.bincount(cell.ravel(), minlength=6).reshape(3, 2)
    if errors_mask is None:
        errors = np.zeros((3, 2), np.int64)
    else:
        err = np.asarray(errors_mask, dtype=bool)
        if err.shape != cls.shape:
            raise ValueError(f"errors_mask shape {err.shape} differs from {cls.shape}")
        errors = np.bincount(cell[err], minlength=6).reshape(3, 2)
    return DecoyCounts(detections, errors, pulses_sent)
