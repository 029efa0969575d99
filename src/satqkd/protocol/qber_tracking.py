"""The satellite's QBER estimate for the next packet's LDPC code (SPEC §7 step 3).

Reconciliation stays one-way per packet: the satellite chooses a packet's code once, from
what it already knows, and sends its syndrome once. Two sources of information go in:

* the **in-span sample**: the sampled sifted detections of the batches whose key bits make
  up this packet (a batch split between two packets counts in proportion to its key bits in
  each). It is unbiased for this packet's QBER even while the QBER moves, but small
  (≈ 11 000 bits for a 100-kbit packet at a 10 % sampling fraction);
* the **exact counts**: the ground reports, for every packet it has decoded, the number of
  errors it corrected (:class:`~satqkd.protocol.messages.DecodeReport`). These are large
  (100 000 bits) but older: they describe earlier packets.

The rule (:func:`packet_qber`); its few constants (c, the window, the satellite's report
lag) were compared on other passes than the reference one (notes/protocol.md, protocol2):

1. in-span: q_s = (e_s + 1)/(n_s + 2), variance q_s(1 − q_s)/n_s;
2. exact: level q_L of the latest reported packet, trend b = least-squares slope of the
   exact QBERs of the last :data:`EXACT_WINDOW` reported packets against their mid-times.
   The level is carried to this packet's mid-time t: q_x = q_L + max(b, 0)·Δt (a rising
   QBER is extrapolated; a falling one is not, so the error there is on the safe side),
   with variance q_L(1 − q_L)/n_L + (b·Δt)² + β²: the drift allowance (b·Δt)² treats the
   extrapolation as uncertain by its own size, in either direction, and β² = max(0,
   (q_s − q_x)² − c(var_s + var_L)) is the part of the two branches' disagreement that their
   noise does not explain (an empirical-Bayes estimate of the exact branch's bias: a drift
   the trend has not seen yet, e.g. where the QBER starts to rise; c = 1 when the sample is
   above, c = 9, a 3σ threshold, when it is below, since following a sample that is low by
   chance makes the packet fail). An exact count from long ago, or from a fast-changing
   part of the pass, or contradicted by the packet's own sample, therefore weighs little;
3. the two are combined by inverse-variance weighting: q̂ = Σ wᵢqᵢ / Σ wᵢ, variance 1/Σ wᵢ,
   and the effective sample size N = q̂(1 − q̂)·Σ wᵢ goes to
   :meth:`~satqkd.distill.ldpc.CodeFamily.select`, which adds its own z-sigma margin.

At the end of a pass, where the QBER rises quickly, the drift allowance grows and the
in-span sample dominates; in the flat middle the exact counts dominate and the margin
shrinks to that of ≈ 100 kbit of exact counts instead of a 20 000-bit sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: How many of the most recent exact reports enter the level and trend.
EXACT_WINDOW = 3
#: The disagreement counts as bias beyond this many times the two branches' variance when
#: the sample is above the exact counts: 1, the positive-part (empirical-Bayes) estimate of
#: the bias. A 2σ threshold (4) was tried too; see notes/protocol.md, "protocol2".
BIAS_NOISE_FACTOR = 1.0
#: The same when the sample is *below* the exact counts (3σ): following a sample that is low
#: by chance makes the packet fail, which costs far more than a leak a little too large.
BIAS_NOISE_FACTOR_DOWN = 9.0


@dataclass(frozen=True)
class ExactCount:
    """A decoded packet's corrected error count, as the ground reported it."""

    t_mid_s: float
    bits: int
    errors: int

    @property
    def qber(self) -> float:
        """errors / bits."""
        return self.errors / self.bits


@dataclass(frozen=True)
class QberEstimate:
    """The estimate handed to code selection: point value and effective sample size."""

    qber: float
    sample_bits: int
    in_span_bits: float
    exact_weight: float  # share of the exact branch in the combination (0 … 1)


def packet_qber(
    span_bits: float, span_errors: float, t_mid_s: float, exact: list[ExactCount],
    window: int = EXACT_WINDOW,
) -> QberEstimate:
    """The QBER estimate of a packet (see the module docstring for the rule).

    ``span_bits``/``span_errors``: the in-span sample (possibly fractional, from batches
    shared with the neighbouring packet); ``t_mid_s``: the packet's mid-time (pass s);
    ``exact``: the exact counts reported so far, oldest first.
    """
    n_s = max(float(span_bits), 1.0)
    q_s = (float(span_errors) + 1.0) / (n_s + 2.0)
    w_s = n_s / (q_s * (1.0 - q_s))
    recent = [c for c in exact if c.bits > 0][-window:]
    if not recent:
        return QberEstimate(q_s, max(1, round(n_s)), n_s, 0.0)
    last = recent[-1]
    q_l = max(last.qber, 1.0 / last.bits)
    slope = 0.0
    if len(recent) >= 2:
        t = np.array([c.t_mid_s for c in recent])
        q = np.array([c.qber for c in recent])
        if np.ptp(t) > 0:
            slope = float(np.polyfit(t, q, 1)[0])
    dt_s = max(0.0, t_mid_s - last.t_mid_s)
    q_x = q_l + max(slope, 0.0) * dt_s
    var_stat = q_l * (1.0 - q_l) / last.bits
    var_s = 1.0 / w_s
    # Disagreement with the in-span sample beyond both branches' noise: a drift the trend
    # missed (e.g. where the QBER starts to rise); counted as the exact branch's bias².
    factor = BIAS_NOISE_FACTOR if q_s > q_x else BIAS_NOISE_FACTOR_DOWN
    bias2 = max(0.0, (q_s - q_x) ** 2 - factor * (var_s + var_stat))
    var_x = var_stat + (slope * dt_s) ** 2 + bias2
    w_x = 1.0 / var_x
    q_hat = (w_s * q_s + w_x * q_x) / (w_s + w_x)
    n_eff = q_hat * (1.0 - q_hat) * (w_s + w_x)
    return QberEstimate(float(q_hat), max(1, int(n_eff)), n_s, float(w_x / (w_s + w_x)))
