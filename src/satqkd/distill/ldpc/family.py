"""The shipped family of mother codes and the satellite's choice of code from a sampled QBER.

Mother code ``k`` of a family has ``m_k = ⌈c_k F⌉`` checks for a frame of ``F`` key bits, with
syndrome fractions on a fixed geometric grid ``c_k = c_0 ρ^k`` (ρ = 1.06), and
``d_k = m_k − m_{k−1}`` extra positions, so that puncturing 0…d_k of them reaches every leak
between ``m_{k−1}`` and ``m_k``: any target leak is met to the bit, while the QBER estimate
drifting over a pass only moves between a few neighbouring mother codes (≈ 5 % of leak each).
Where the code is large enough (:func:`.qc.can_lift`: every 100-kbit code) it is built
quasi-cyclic with lift 16 (:mod:`.qc`), m_k and n rounded up to multiples of 16 (the extra
checks become extra positions too, so the punctured range still reaches m_{k−1}): the same
leaks and the same FER at the design points, decoded 2–3× faster (:mod:`.qc_decoder`).
Codes are built on first use from a seed and cached in memory and on disk (:mod:`.cache`),
so a second run builds nothing.

Selection (Alice, :meth:`CodeFamily.select`), the explicit rule:

1. ``q_up = q̂ + z √(q̂(1−q̂)/N)``: upper confidence bound of the sampled QBER q̂ from ``N =
   sample_bits`` sampled bits (``z = confidence_sigmas``, default :data:`DEFAULT_SIGMAS`);
2. leak ``= ⌈f_design(q_up) · F · H(q_up)⌉``, where ``f_design`` (:data:`DEFAULT_F_DESIGN`)
   is the efficiency at which the family's 100-kbit codes decode ≥ 99 % of frames when the
   QBER equals the design value exactly; it was measured on synthetic BSC frames only
   (``benchmarks/reconciliation.py --known``, 100 frames per point), never on a pass;
3. the mother code is the first whose ``m_k`` reaches the leak; the surplus is punctured.

z was tuned on synthetic BSC frames only (``benchmarks/reconciliation.py --sigmas z``, QBER
2 %, N = 20 000, 96 frames with a fresh estimate every 2 frames): z = 1, 1.5, 2 gave f =
1.203, 1.223, 1.251 against the true QBER with 1, 0, 0 failed frames. Counting a failed frame
as the loss of its whole ≈ 69 % secret fraction, the net key per frame (1 − FER)(1 − (1 + f)
H(q)) is largest at z = 1.5 (0.686 against 0.682 at z = 1 and z = 2); with one failure in 96
frames this ranking is indicative only. The margin can be small because ``f_design`` already
carries the FER ≤ 1 % margin at the design point and the FER rises smoothly, not as a step,
when the true QBER is above q_up. Pass the true sample size: the margin scales as 1/√N (the
default, :data:`DEFAULT_SAMPLE_BITS`, is the protocol's 20 000-bit sampling window).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from satqkd.distill.ldpc.code import LdpcCode, RateAdaptedCode, binary_entropy
from satqkd.distill.ldpc.distributions import node_fractions
from satqkd.distill.ldpc.qc import LIFT, can_lift
from satqkd.errors import InputError

#: (QBER, design efficiency f) points, linearly interpolated (clamped at the ends).
DEFAULT_F_DESIGN: tuple[tuple[float, float], ...] = (
    # benchmarks/reconciliation.py --known, 100 synthetic 100-kbit frames per point, 200
    # iterations: the FER at the tabulated f was ≤ 1 % (0 of 100), while at the next lower
    # trial f it was 2–4 %: 0.5 % (1.28: 2 %), 1 % (1.20: 3 %), 2 % (1.14: 2 %),
    # 3 % (1.11: 2 %), 4 % (1.10: 4 %), 5 % (1.08: 6 % of 48); at 0.5 % 1.32 still gave 1 %.
    (0.005, 1.34),
    (0.01, 1.235),
    (0.02, 1.16),
    (0.03, 1.13),
    (0.04, 1.125),
    (0.05, 1.10),
    (0.08, 1.10),  # not measured: the 5 % value carried on
)
#: Default z of the QBER upper confidence bound (tuned on synthetic frames, see above).
DEFAULT_SIGMAS = 1.5
#: Default QBER sample size assumed by :meth:`CodeFamily.select`: the satellite's sampling
#: window (``protocol.satellite.SAMPLE_WINDOW``); pass the real one where it is known.
DEFAULT_SAMPLE_BITS = 20_000


def check_selection_inputs(qber_estimate: float, frame_bits: int,
                           zero_allowed: bool = False) -> None:
    """:class:`InputError` (naming the field) for a QBER estimate outside (0, 0.5) —
    [0, 0.5) if ``zero_allowed`` — or a frame too short for LDPC reconciliation."""
    low_ok = qber_estimate >= 0.0 if zero_allowed else qber_estimate > 0.0
    if not (low_ok and qber_estimate < 0.5):
        bounds = "[0, 0.5)" if zero_allowed else "(0, 0.5)"
        raise InputError(f"QBER estimate outside {bounds}", field="qber", value=qber_estimate)
    if frame_bits < 256:
        raise InputError("frame too short for LDPC reconciliation", field="frame_bits",
                         value=frame_bits)


def first_reaching(checks: Callable[[int, int], int], leak_bits: int, frame_bits: int) -> int:
    """Index of the first mother code of a family whose ``checks(index, frame_bits)`` reaches
    ``leak_bits`` (the caller checks that the family's last one does)."""
    index = 0
    while checks(index, frame_bits) < leak_bits:
        index += 1
    return index


@dataclass(frozen=True)
class CodeFamily:
    """Grid of mother codes covering syndrome fractions ``c_0 … c_0 ρ^(count−1)``."""

    seed: int = 20250101
    c0: float = 0.035
    ratio: float = 1.06
    count: int = 48
    f_design: tuple[tuple[float, float], ...] = DEFAULT_F_DESIGN
    #: Circulant size of the quasi-cyclic mother codes (1: unlifted). Codes too small to
    #: lift (:func:`.qc.can_lift`) are built unlifted whatever this is.
    lift: int = LIFT

    @classmethod
    def default(cls) -> CodeFamily:
        """The family shipped with satqkd (QBER ≈ 0.5 % … 8 %)."""
        return cls()

    def syndrome_fraction(self, index: int) -> float:
        """c_k: checks per key bit of mother code ``index``."""
        return self.c0 * self.ratio**index

    def _sizes(self, index: int, frame_bits: int) -> tuple[int, int, int]:
        """``(m, n, lift)`` of mother code ``index``: m_k = ⌈c_k F⌉ and n = F + m_k − m_{k−1},
        both rounded up to multiples of the lift when the code is lifted (the extra checks
        become extra positions too, so the punctured range still reaches m_{k−1})."""
        m = math.ceil(self.syndrome_fraction(index) * frame_bits)
        previous = math.ceil(self.c0 * self.ratio ** (index - 1) * frame_bits)
        n = frame_bits + m - previous
        z = self.lift
        if z > 1:
            m_lift = z * math.ceil(m / z)
            n_lift = z * math.ceil((n + m_lift - m) / z)
            if can_lift(n_lift, m_lift, z):
                return m_lift, n_lift, z
        return m, n, 1

    def checks(self, index: int, frame_bits: int) -> int:
        """m_k (syndrome bits) of mother code ``index`` for a frame of ``frame_bits``."""
        return self._sizes(index, frame_bits)[0]

    def extra_positions(self, index: int, frame_bits: int) -> int:
        """d_k: punctured + shortened positions of mother code ``index``."""
        return self._sizes(index, frame_bits)[1] - frame_bits

    def mother(self, index: int, frame_bits: int) -> LdpcCode:
        """Mother code ``index`` sized for ``frame_bits`` key bits (built once, cached)."""
        m, n, z = self._sizes(index, frame_bits)
        return LdpcCode.build(n, m, node_fractions(1.0 - m / n), self.seed + index, z)

    def first_reaching(self, leak_bits: int, frame_bits: int) -> int:
        """Index of the first mother code whose m_k reaches ``leak_bits`` (the caller
        checks that the last one does)."""
        return first_reaching(self.checks, leak_bits, frame_bits)

    def design_efficiency(self, qber: float) -> float:
        """f_design(qber), interpolated from :attr:`f_design`."""
        q, f = np.array(self.f_design).T
        return float(np.interp(qber, q, f))

    @staticmethod
    def sample_sigma(qber_estimate: float, sample_bits: int | None) -> float:
        """σ_N = √(q̂(1−q̂)/N) of a QBER sample of N bits, with q̂ floored at 1/N so a
        zero-error sample still has margin; 0 without a sample (QBER known)."""
        if not sample_bits:
            return 0.0
        q = max(qber_estimate, 1.0 / sample_bits)
        return math.sqrt(q * (1.0 - q) / sample_bits)

    def upper_qber(self, qber_estimate: float, sample_bits: int | None, sigmas: float) -> float:
        """q̂ + z σ_N (:meth:`sample_sigma`)."""
        if not sample_bits:
            return qber_estimate
        return qber_estimate + sigmas * self.sample_sigma(qber_estimate, sample_bits)

    def select(
        self,
        qber_estimate: float,
        frame_bits: int = 100_000,
        *,
        sample_bits: int | None = DEFAULT_SAMPLE_BITS,
        confidence_sigmas: float = DEFAULT_SIGMAS,
    ) -> RateAdaptedCode:
        """Alice's code for a frame, given the sampled QBER (see module docstring).

        ``sample_bits`` is the size of the QBER sample (``None``: trust the estimate as
        exact, e.g. when the QBER is known from a simulation).
        """
        check_selection_inputs(qber_estimate, frame_bits, zero_allowed=True)
        q_up = self.upper_qber(qber_estimate, sample_bits, confidence_sigmas)
        target = math.ceil(self.design_efficiency(q_up) * frame_bits * binary_entropy(q_up))
        top = self.checks(self.count - 1, frame_bits)
        if target > top:
            raise InputError(
                f"QBER upper bound {q_up:.4f} is beyond the code family (max leak {top} bits)",
                field="qber",
                value=qber_estimate,
            )
        index = self.first_reaching(target, frame_bits)
        mother = self.mother(index, frame_bits)
        punctured = max(0, mother.m - target)
        punctured = min(punctured, mother.n - frame_bits)
        return RateAdaptedCode(mother, frame_bits, punctured, q_up, index)
