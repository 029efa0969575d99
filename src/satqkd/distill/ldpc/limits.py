"""The least leak any one-way reconciliation of an n-bit frame can have at a given FER.

Why: issue-level goals such as "f ≤ 1.08 at QBER 1 % on 100-kbit frames with FER ≤ 1 %"
should be read against what is possible at all at that frame length, not against the
asymptotic f = 1. This module gives that floor exactly, so the benchmark can print it next
to the measured efficiency.

**Converse (exact).** In a one-way scheme Alice sends Bob L bits computed from her frame X
(an LDPC syndrome or anything else); Bob holds Y = X ⊕ E, E the channel's error pattern,
independent of X (uniform X). For every message m and every y Bob decodes to one frame, i.e.
to one error pattern, so for each y at most 2^L error patterns can be corrected: whatever the
code and the decoder, P(success) is at most the probability of the 2^L most likely error
patterns. Over a binary symmetric channel with crossover q < ½ those are the patterns of
lowest weight. :func:`min_leak_bits` returns the least L for which they reach 1 − FER
(the weight class at the boundary counted in part), so every one-way code of that length
needs at least that leak; no code reaches it exactly (the bound assumes an ideal code that
corrects precisely the lightest patterns). Randomised encoders do not help (average over
the randomness). Blind / interactive schemes are not covered: their leak adapts to the
realised error count.

**Normal approximation** (:func:`normal_approximation_leak_bits`): n·h(q) + √(n V)·Q⁻¹(FER)
− ½ log₂ n with the dispersion V = q(1−q) log₂²((1−q)/q) (Strassen; Kontoyiannis & Verdú,
IEEE Trans. IT 60, 777 (2014), for fixed-length lossless coding), a check of the exact
figure and a formula to reason with: the √n term is the frame's own error-count spread.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln, logsumexp
from scipy.stats import binom, norm

from satqkd.distill.ldpc.code import binary_entropy
from satqkd.errors import InputError


def _check(qber: float, frame_bits: int, fer: float) -> None:
    if not 0.0 < qber < 0.5:
        raise InputError("QBER outside (0, 0.5)", field="qber", value=qber)
    if frame_bits < 1:
        raise InputError("frame length must be positive", field="frame_bits", value=frame_bits)
    if not 0.0 < fer < 1.0:
        raise InputError("frame error rate outside (0, 1)", field="fer", value=fer)


def min_leak_bits(qber: float, frame_bits: int, fer: float) -> float:
    """log₂ of the fewest error patterns of an n-bit frame that together have probability
    ≥ 1 − ``fer`` over a BSC(``qber``): the least leak in bits (not rounded up) with which
    any one-way scheme can reconcile ``frame_bits``-bit frames at that frame error rate."""
    _check(qber, frame_bits, fer)
    n = frame_bits
    target = 1.0 - fer
    # The boundary weight class K: P(weight < K) < target ≤ P(weight ≤ K).
    K = int(binom.ppf(target, n, qber))
    while K > 0 and binom.cdf(K - 1, n, qber) >= target:  # guard ppf's rounding
        K -= 1
    below = float(binom.cdf(K - 1, n, qber)) if K > 0 else 0.0
    log_pattern = K * math.log(qber) + (n - K) * math.log1p(-qber)  # ln P(one pattern of K)
    log_partial = math.log(target - below) - log_pattern  # patterns of weight K still needed
    k = np.arange(K)
    log_counts = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)  # ln C(n, k), k < K
    log_total = float(logsumexp(np.append(log_counts, log_partial)))
    return log_total / math.log(2.0)


def normal_approximation_leak_bits(qber: float, frame_bits: int, fer: float) -> float:
    """n·h(q) + √(nV)·Q⁻¹(FER) − ½ log₂ n: the normal approximation of :func:`min_leak_bits`."""
    _check(qber, frame_bits, fer)
    n = frame_bits
    v = qber * (1.0 - qber) * math.log2((1.0 - qber) / qber) ** 2
    return (n * binary_entropy(qber) + math.sqrt(n * v) * float(norm.isf(fer))
            - 0.5 * math.log2(n))


def min_efficiency(qber: float, frame_bits: int, fer: float) -> float:
    """The least efficiency f = leak / (n·h(q)) of any one-way scheme on ``frame_bits``-bit
    frames at frame error rate ``fer`` (:func:`min_leak_bits`, rounded up to whole bits)."""
    leak = math.ceil(min_leak_bits(qber, frame_bits, fer) - 1e-9)
    return leak / (frame_bits * binary_entropy(qber))
