"""One-way LDPC information reconciliation (SPEC §7 step 3–4).

The satellite (Alice) picks a rate-adapted code from the sampled QBER and sends the
syndrome of each sifted frame; the ground station (Bob) recovers her frame with sum-product
belief propagation from the syndrome and his own noisy bits. Frames that do not meet the
syndrome are reported as not converged and must be discarded.
"""

from satqkd.distill.ldpc.code import (
    DecodeResult,
    LdpcCode,
    RateAdaptedCode,
    binary_entropy,
    efficiency,
)
from satqkd.distill.ldpc.family import CodeFamily

__all__ = [
    "CodeFamily",
    "DecodeResult",
    "LdpcCode",
    "RateAdaptedCode",
    "binary_entropy",
    "efficiency",
]
