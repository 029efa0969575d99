"""Decoy-state finite-key parameter estimation and the final key length.

Three methods, one interface (:func:`estimate`): ``chernoff`` (Jinan-1, SPEC §8),
``gaussian`` (n-σ analysis of Micius/Tiangong-2) and ``composable`` (Lim et al. 2014
decoy bounds with tagged-count Chernoff statistics and a random-sampling phase-error
gap). Each returns an :class:`Estimate`; :func:`final_key_length` turns it, the error
correction leak and an :class:`~satqkd.distill.security.EpsilonBudget` into bits.
"""

from __future__ import annotations

from collections.abc import Sequence

from satqkd.distill.estimation.chernoff import chernoff_bounds, estimate_chernoff
from satqkd.distill.estimation.composable import estimate_composable
from satqkd.distill.estimation.counts import (
    BASIS_NAMES,
    DECOY,
    INTENSITY_NAMES,
    SIGNAL,
    VACUUM,
    DecoyCounts,
    DecoySource,
    X,
    Z,
)
from satqkd.distill.estimation.gaussian import estimate_gaussian, n_sigma_for
from satqkd.distill.estimation.keylength import KeyLength, final_key_length
from satqkd.distill.estimation.result import Estimate, binary_entropy

__all__ = [
    "BASIS_NAMES",
    "DECOY",
    "INTENSITY_NAMES",
    "METHODS",
    "SIGNAL",
    "VACUUM",
    "DecoyCounts",
    "DecoySource",
    "Estimate",
    "KeyLength",
    "X",
    "Z",
    "binary_entropy",
    "chernoff_bounds",
    "estimate",
    "estimate_chernoff",
    "estimate_composable",
    "estimate_gaussian",
    "final_key_length",
]

METHODS: tuple[str, ...] = ("chernoff", "gaussian", "composable")

DEFAULT_FAILURE_PROBABILITY = 1e-10


def estimate(
    counts: DecoyCounts,
    source: DecoySource,
    method: str = "chernoff",
    *,
    failure_probability: float | None = None,
    key_bases: Sequence[int] = (Z, X),
) -> Estimate:
    """Decoy-state bounds of one block (or of any accumulation of counts).

    Parameters
    ----------
    counts:
        Detections and errors per intensity class and basis of the bits that enter
        privacy amplification.
    source:
        Intensities and their probabilities.
    method:
        ``"chernoff"``, ``"gaussian"`` or ``"composable"``.
    failure_probability:
        Failure probability of each statistical bound (ξ). Default 1e-10 for
        ``chernoff``/``composable``; for ``gaussian`` it sets n = Φ⁻¹(1 − ξ), and the
        default is the historical n = 5 σ.
    key_bases:
        Bases whose bits form the key (default both Z and X).
    """
    if method == "chernoff":
        xi = DEFAULT_FAILURE_PROBABILITY if failure_probability is None else failure_probability
        return estimate_chernoff(counts, source, xi, key_bases)
    if method == "composable":
        xi = DEFAULT_FAILURE_PROBABILITY if failure_probability is None else failure_probability
        return estimate_composable(counts, source, xi, key_bases)
    if method == "gaussian":
        n_sigma = 5.0 if failure_probability is None else n_sigma_for(failure_probability)
        return estimate_gaussian(counts, source, n_sigma, key_bases)
    raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
