"""The composable ε budget of one block of final key.

A final key is ε-secure when the real protocol can be told apart from an ideal
one (perfectly uniform, identical, secret keys) with advantage at most ε. The
project accounts for ε the way the Jinan-1 analysis does: every step that can
fail contributes its failure probability and the contributions add (union bound):

* parameter estimation, ``ε_PE = ξ × (number of statistical bounds)`` — each
  decoy-state bound (a count's confidence limit, a sampling gap) fails with
  probability at most ξ;
* error correction / verification, ``ε_EC`` — the probability that the two keys
  differ although their verification tags agree (a universal hash or CRC of
  ``t`` bits gives ``ε_EC = 2^-t``);
* privacy amplification, ``ε_PA`` — the leftover-hash-lemma distance of the
  hashed key from uniform, paid for with ``2·log2(1/(2·ε_PA))`` bits;
* authentication of the classical channel, ``ε_auth`` — the forgery probability
  of the message authentication (reported by the authentication stage).

``total`` is their sum. Entropic-uncertainty proofs (Tomamichel et al., Nat.
Commun. 3, 634 (2012)) turn a parameter-estimation failure probability into a
trace-distance smoothing parameter ``sqrt(ε_PE)``; :attr:`EpsilonBudget.secrecy_trace_distance`
gives that stricter reading (``2·sqrt(ε_PE) + ε_PA``) for users who need it.

Other stages (verification, privacy amplification, authentication) report their
ε values; this module only holds and adds them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

__all__ = ["EpsilonBudget"]


def _check_probability(name: str, value: float, *, positive: bool = False) -> None:
    low_ok = value > 0.0 if positive else value >= 0.0
    if not (low_ok and value < 1.0):  # also rejects NaN
        interval = "(0, 1)" if positive else "[0, 1)"
        raise ValueError(f"{name} must be a probability in {interval}, got {value!r}")


@dataclass(frozen=True)
class EpsilonBudget:
    """Failure probabilities of every step of one final-key block (dimensionless).

    Parameters
    ----------
    pe_per_bound:
        ξ, the failure probability of each statistical bound of the parameter
        estimation (1e-10 on Jinan-1).
    pe_bounds:
        How many such bounds the estimate used (the estimate reports it).
    error_correction:
        ε_EC, probability that a block passes verification although the two
        keys differ.
    privacy_amplification:
        ε_PA of the leftover hash lemma.
    authentication:
        ε_auth, forgery probability of the classical-channel authentication.
    """

    pe_per_bound: float = 1e-10
    pe_bounds: int = 0
    error_correction: float = 1e-10
    privacy_amplification: float = 1e-10
    authentication: float = 1e-10

    def __post_init__(self) -> None:
        _check_probability("pe_per_bound", self.pe_per_bound)
        _check_probability("error_correction", self.error_correction, positive=True)
        _check_probability("privacy_amplification", self.privacy_amplification, positive=True)
        _check_probability("authentication", self.authentication)
        if self.pe_bounds < 0:
            raise ValueError(f"pe_bounds must be >= 0, got {self.pe_bounds!r}")

    @property
    def parameter_estimation(self) -> float:
        """ε_PE = ξ × number of bounds (union bound over all statistical bounds)."""
        return self.pe_per_bound * self.pe_bounds

    @property
    def total(self) -> float:
        """ε_PE + ε_EC + ε_PA + ε_auth: the block's overall failure probability."""
        return (
            self.parameter_estimation
            + self.error_correction
            + self.privacy_amplification
            + self.authentication
        )

    @property
    def secrecy_trace_distance(self) -> float:
        """Secrecy in the smooth-min-entropy reading: 2·sqrt(ε_PE) + ε_PA."""
        return 2.0 * math.sqrt(self.parameter_estimation) + self.privacy_amplification

    @property
    def privacy_amplification_bits(self) -> float:
        """Leftover-hash-lemma cost of ε_PA: 2·log2(1/(2·ε_PA)) bits (0 if ε_PA ≥ 1/2)."""
        return max(0.0, 2.0 * math.log2(1.0 / (2.0 * self.privacy_amplification)))

    @property
    def verification_bits(self) -> float:
        """Shortest verification tag that gives ε_EC: log2(1/ε_EC) bits."""
        return math.log2(1.0 / self.error_correction)

    def with_parameter_estimation(self, pe_per_bound: float, pe_bounds: int) -> EpsilonBudget:
        """A copy with the parameter-estimation terms replaced (as reported by an estimate)."""
        return replace(self, pe_per_bound=pe_per_bound, pe_bounds=pe_bounds)

    def as_dict(self) -> dict[str, float]:
        """Every term and the total, for JSON output and reports."""
        return {
            "pe_per_bound": self.pe_per_bound,
            "pe_bounds": float(self.pe_bounds),
            "parameter_estimation": self.parameter_estimation,
            "error_correction": self.error_correction,
            "privacy_amplification": self.privacy_amplification,
            "authentication": self.authentication,
            "total": self.total,
            "secrecy_trace_distance": self.secrecy_trace_distance,
        }
