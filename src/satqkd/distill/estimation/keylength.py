"""From an estimate and the reconciliation leak to the final key length of one block.

    ℓ = ⌊ S − L_EC − max(t, log2(1/ε_EC)) − 2·log2(1/(2·ε_PA)) ⌋, clipped at 0,

where S is the estimate's secret entropy Σ_B [s0 + s1(1 − H(e_ph))] (SPEC §8's
R = s1(1 − H(e1)) − L_EC, plus the composable terms), L_EC the bits disclosed by error
correction (syndromes, and anything else revealed), t the length of the verification
tag actually disclosed — charged at least log2(1/ε_EC), the tag length that makes the
verification ε_EC-correct — and the last term the leftover-hash-lemma cost of ε_PA.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from satqkd.distill.estimation.result import Estimate
from satqkd.distill.security import EpsilonBudget

__all__ = ["KeyLength", "final_key_length"]


@dataclass(frozen=True)
class KeyLength:
    """The final key length of one block and every term that went into it (bits).

    ``eps`` carries the parameter-estimation terms of ``estimate`` together with the
    error-correction, privacy-amplification and authentication terms passed in.
    """

    final_key_bits: int
    secret_bits: float
    ec_leak_bits: float
    verification_bits: float
    privacy_amplification_bits: float
    eps: EpsilonBudget
    estimate: Estimate

    def as_dict(self) -> dict[str, object]:
        """JSON-ready view: the key length, its terms, the estimate and the ε budget."""
        out: dict[str, object] = {
            "final_key_bits": self.final_key_bits,
            "secret_bits_before_leak": self.secret_bits,
            "ec_leak_bits": self.ec_leak_bits,
            "verification_bits": self.verification_bits,
            "privacy_amplification_bits": self.privacy_amplification_bits,
        }
        out.update({k: v for k, v in self.estimate.as_dict().items() if k not in out})
        out["epsilon"] = self.eps.as_dict()
        return out


def final_key_length(
    estimate: Estimate,
    leak_ec_bits: float,
    verification_bits: float,
    eps: EpsilonBudget,
) -> KeyLength:
    """Final key length of one block (module docstring), clipped at 0.

    Parameters
    ----------
    estimate:
        Decoy-state bounds of the block; its ``failure_per_bound`` and ``n_bounds``
        replace the parameter-estimation terms of ``eps``.
    leak_ec_bits:
        Bits disclosed by error correction (LDPC syndrome length, plus any retries).
    verification_bits:
        Length of the verification tag disclosed (hash or CRC bits).
    eps:
        ε of error correction, privacy amplification and authentication.
    """
    if not math.isfinite(leak_ec_bits) or leak_ec_bits < 0.0:
        raise ValueError(f"leak_ec_bits must be finite and >= 0, got {leak_ec_bits!r}")
    if not math.isfinite(verification_bits) or verification_bits < 0.0:
        raise ValueError(f"verification_bits must be finite and >= 0, got {verification_bits!r}")
    budget = eps.with_parameter_estimation(estimate.failure_per_bound, estimate.n_bounds)
    verification_charged = max(float(verification_bits), budget.verification_bits)
    pa_bits = budget.privacy_amplification_bits
    length = estimate.secret_bits - leak_ec_bits - verification_charged - pa_bits
    return KeyLength(
        final_key_bits=max(0, math.floor(length)),
        secret_bits=estimate.secret_bits,
        ec_leak_bits=float(leak_ec_bits),
        verification_bits=verification_charged,
        privacy_amplification_bits=pa_bits,
        eps=budget,
        estimate=estimate,
    )
