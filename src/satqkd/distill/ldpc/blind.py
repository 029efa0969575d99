"""Blind (incremental) LDPC reconciliation: the leak adapts to each frame's realised errors.

After Martinez-Mateo, Elkouss and Martin, "Blind reconciliation", Quantum Inf. Comput. 12,
791 (2012). One-way reconciliation (:meth:`.CodeFamily.select`) fixes the leak before Bob
decodes, so it must cover both the QBER-sample uncertainty and the frames with the most
errors (the binomial quantile). Blind reconciliation starts low and pays only what each frame
needs:

1. Alice (satellite) takes a mother code whose ``p`` untainted punctured positions span the
   leaks ``m − p`` (start, below what most frames need) … ``m`` (about the one-way leak at
   an upper bound of the QBER, see :class:`BlindFamily`), fills them with fresh secret
   random bits and sends the syndrome: leak ``m − p``.
2. Bob (ground) decodes; if the syndrome is not met (or the verification hash does not
   match), he asks for the next reveal step and Alice discloses the values of the next
   ``step_bits`` punctured positions (:meth:`BlindCode.reveal_positions`, the punctured
   positions in reverse puncture order). Bob sets their priors to ±LLR_MAX, like shortened
   bits, and decodes again.
3. This repeats until the frame decodes or every punctured bit is revealed (then the frame is
   discarded).

Leak accounting. The punctured columns are untainted (no two share a check), hence linearly
independent, and their values are uniform and secret, so the syndrome of a frame with
``p − r`` still-secret punctured bits tells at most ``m − (p − r)`` bits about the key:
leak = ``m − p + r`` with ``r`` the revealed count (the verification tag and the protocol's
report bits come on top, as for one-way). After ``r`` reveals the code is exactly the
rate-adapted code with ``p − r`` punctured positions (the first ones of the puncture order),
which is why the reveal order is the reverse puncture order. A revealed punctured bit is one
Bob knew nothing about, so each leaked bit buys a full bit of Bob's uncertainty; revealing
key bits instead would buy only H(q) ≪ 1 each.

Both sides rebuild the code and the reveal schedule from :meth:`BlindCode.describe`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from satqkd.distill.ldpc import decoder, row_decoder
from satqkd.distill.ldpc.code import (
    DEFAULT_MAX_ITERATIONS,
    DecodeResult,
    LdpcCode,
    RateAdaptedCode,
    binary_entropy,
)
from satqkd.distill.ldpc.distributions import node_fractions
from satqkd.distill.ldpc.family import (
    DEFAULT_SAMPLE_BITS,
    CodeFamily,
    check_selection_inputs,
    first_reaching,
)
from satqkd.errors import InputError

#: Identifies the message format of :meth:`BlindCode.describe`.
BLIND_SCHEME = "satqkd.ldpc-blind/1"
#: Iteration cap of one blind decode attempt. A failed attempt runs to the cap, and a frame
#: needs several attempts, so the cap is lower than one-way's 200: a frame that would need
#: ~100 iterations at some leak converges in fewer after one more reveal step. On 16
#: 100-kbit frames at QBER 1 % (known) the mean f was 1.150 with cap 200 (from f = 1.0) and
#: 1.145 with cap 60 (from 1.08): no loss within the noise, ≈ 6× fewer iterations.
BLIND_MAX_ITERATIONS = 60
#: Iteration cap of an attempt that continues a failed one after a reveal (warm restart:
#: the check messages are kept, see :func:`.row_decoder.decode_frame_warm`). A lower cap
#: alone costs leak: on 20 100-kbit frames at QBER 2 % (known) warm with cap 30 gave
#: f = 1.133 against 1.122 cold (cap 60); warm with cap 60 gave 1.121.
BLIND_CONTINUE_ITERATIONS = 60
#: Early stop: an attempt gives up once its (approximate, per sweep) count of unsatisfied
#: checks has not reached a new minimum for this many iterations (0: off), so the reveal is
#: asked for sooner. Chosen on 20 100-kbit BSC frames per QBER (known), warm: at QBER
#: 1/2/3 % f = 1.164/1.122/1.120 and 80/139/172 iterations per frame, against
#: 1.163/1.122/1.121 and 121/207/280 cold without early stop; 10 saved a little more
#: (69/123/153) but cost f + 0.003 at 1 %.
BLIND_STALL_ITERATIONS = 15


#: Mean efficiency of blind reconciliation, f = mean leak / (F·H(QBER)) with the revealed
#: bits and without the tag, against the true QBER, when the code is chosen from a
#: 20 000-bit QBER sample: ``benchmarks/reconciliation.py --blind --frames 100
#: --pass-frames 10`` (100 frames of 100 kbit per QBER, FER 0/100 at every point). The
#: ``fast`` campaign fidelity uses it as the expected leak of a packet (an empirical model:
#: measured at these points, interpolated between them, held constant outside).
BLIND_MEAN_EFFICIENCY: tuple[tuple[float, float], ...] = (
    (0.005, 1.237), (0.01, 1.152), (0.02, 1.118), (0.03, 1.098), (0.04, 1.097), (0.05, 1.072),
)


def expected_blind_leak_bits(
    qber: float, frame_bits: int,
    table: tuple[tuple[float, float], ...] = BLIND_MEAN_EFFICIENCY,
) -> float:
    """Expected syndrome + revealed bits of a blind-reconciled frame at QBER ``qber``
    (``table``, default :data:`BLIND_MEAN_EFFICIENCY`, × F·H(qber); the verification tag
    not included; :data:`.guided.GUIDED_MEAN_EFFICIENCY` for guided reveals)."""
    q, f = np.array(table).T
    return float(np.interp(qber, q, f)) * frame_bits * binary_entropy(qber)


@dataclass(frozen=True)
class BlindCode:
    """A rate-adapted code used blindly: ``code`` at its most punctured, plus the reveal
    step. Reveal step ``k`` (1, 2, …) discloses ``reveal_order[(k−1)·step : k·step]``."""

    code: RateAdaptedCode
    step_bits: int

    def __post_init__(self) -> None:
        if self.step_bits < 1:
            raise ValueError("step_bits must be at least 1")

    @property
    def punctured(self) -> int:
        """Punctured positions at the start (the most that can be revealed)."""
        return self.code.punctured

    @property
    def steps(self) -> int:
        """Reveal steps available: ⌈p / step⌉ (a frame gets at most steps + 1 attempts)."""
        return -(-self.punctured // self.step_bits)

    @property
    def reveal_order(self) -> np.ndarray:
        """The punctured positions in the order they are revealed (reverse puncture order)."""
        return self.code.mother.puncture_order[: self.punctured][::-1].copy()

    def revealed_after(self, steps: int) -> int:
        """Punctured bits revealed after ``steps`` reveal steps."""
        return min(self.punctured, max(0, steps) * self.step_bits)

    def step_size(self, step: int) -> int:
        """Bits revealed by step ``step`` (1-based; the last may be shorter)."""
        self._check_step(step)
        return self.revealed_after(step) - self.revealed_after(step - 1)

    def _check_step(self, step: int) -> None:
        if not 1 <= step <= self.steps:
            raise ValueError(f"reveal step {step} outside 1..{self.steps}")

    def reveal_positions(self, step: int) -> np.ndarray:
        """Mother-code positions whose values reveal step ``step`` (1-based) discloses."""
        self._check_step(step)
        return self.reveal_order[self.revealed_after(step - 1): self.revealed_after(step)]

    def leak_bits(self, revealed: int) -> int:
        """Syndrome leak after ``revealed`` reveals: m − p + revealed (tag not included)."""
        if not 0 <= revealed <= self.punctured:
            raise ValueError(f"revealed={revealed} outside [0, {self.punctured}]")
        return self.code.mother.m - self.punctured + int(revealed)

    def describe(self) -> dict[str, object]:
        """JSON-able description from which :meth:`from_description` rebuilds this."""
        return {"scheme": BLIND_SCHEME, "code": self.code.describe(),
                "step_bits": int(self.step_bits)}

    @classmethod
    def from_description(cls, description: dict[str, object]) -> BlindCode:
        """Rebuild the blind code of :meth:`describe` (e.g. on the ground station)."""
        source = "blind code description"
        if description.get("scheme") != BLIND_SCHEME:
            raise InputError("unknown code scheme", source=source, field="scheme",
                             value=description.get("scheme"))
        inner = description.get("code")
        step = description.get("step_bits")
        if not isinstance(inner, dict) or not isinstance(step, int) or step < 1:
            raise InputError("malformed blind code description", source=source)
        return cls(RateAdaptedCode.from_description(inner), step)

    # ---- Alice -------------------------------------------------------------------------

    def encode(
        self, bits: np.ndarray, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Syndromes ``[frames, m]`` of frames ``[frames, F]`` and the secret punctured
        values ``[frames, p]`` in reveal order, which Alice keeps until the frame is
        resolved. ``rng`` as in :meth:`RateAdaptedCode.syndromes` (default: OS entropy)."""
        bits = np.atleast_2d(np.asarray(bits, dtype=np.uint8))
        if bits.ndim != 2 or bits.shape[1] != self.code.frame_bits:
            raise ValueError(f"expected frames of {self.code.frame_bits} bits, got {bits.shape}")
        rng = rng if rng is not None else np.random.default_rng()
        values = rng.integers(0, 2, size=(bits.shape[0], self.punctured), dtype=np.uint8)
        words = np.zeros((bits.shape[0], self.code.mother.n), np.uint8)
        words[:, self.code.key_positions] = bits & 1
        words[:, self.reveal_order] = values
        return self.code.mother.syndromes(words), values

    def reveal(self, values: np.ndarray, step: int) -> np.ndarray:
        """The values (uint8) that reveal step ``step`` discloses, from one frame's
        :meth:`encode` values."""
        self._check_step(step)
        return np.asarray(values, np.uint8)[self.revealed_after(step - 1):
                                            self.revealed_after(step)].copy()

    # ---- Bob ---------------------------------------------------------------------------

    def priors(
        self, noisy_bits: np.ndarray, qber: float | np.ndarray, revealed: list[np.ndarray]
    ) -> np.ndarray:
        """Channel LLRs ``[frames, n]`` with frame i's first ``len(revealed[i])`` reveal
        positions set to ±LLR_MAX by the revealed values (0 → +, 1 → −); nothing else of
        :meth:`RateAdaptedCode.channel_llrs` changes."""
        noisy_bits = np.atleast_2d(np.asarray(noisy_bits, dtype=np.uint8))
        if len(revealed) != noisy_bits.shape[0]:
            raise ValueError("one revealed array per frame expected")
        priors = self.code.channel_llrs(noisy_bits, qber)
        order = self.reveal_order
        for i, values in enumerate(revealed):
            values = np.asarray(values, np.uint8)
            if values.size > self.punctured:
                raise ValueError(f"{values.size} revealed values for {self.punctured} punctured")
            priors[i, order[: values.size]] = decoder.LLR_MAX * (1 - 2 * values.astype(np.float32))
        return priors

    def decode_many(
        self,
        syndromes: np.ndarray,
        noisy_bits: np.ndarray,
        qber: float | np.ndarray,
        revealed: list[np.ndarray],
        max_iterations: int = DEFAULT_MAX_ITERATIONS,
        states: list[row_decoder.RowState] | None = None,
        stall_iterations: int = 0,
    ) -> list[DecodeResult]:
        """Bob's decode of frames given the punctured values revealed so far (per frame, in
        reveal order: ``revealed[i]`` holds the first values of frame i's schedule).

        ``states`` (one :meth:`new_state` per frame, kept by the caller between attempts):
        each frame continues from its previous attempt (warm restart) instead of from zero.
        ``stall_iterations``: early stop of an attempt that stopped improving."""
        q = np.asarray(qber, dtype=np.float64)
        if not np.all((q > 0.0) & (q < 0.5)):
            raise ValueError(f"qber must be in (0, 0.5), got {qber}")
        return self.code.decode_llrs(
            syndromes, self.priors(noisy_bits, qber, revealed), max_iterations,
            states=states, stall_iterations=stall_iterations,
        )

    def new_state(self) -> row_decoder.RowState:
        """An empty decoder state for one frame of this code (for warm restarts)."""
        return row_decoder.RowState.for_code(self.code.mother)


@dataclass(frozen=True)
class BlindFamily:
    """Mother codes for blind reconciliation and Alice's choice of start leak and step.

    Mother code ``k`` has ``m_k = ⌈c_0 ρ^k F⌉`` checks (a grid twice as fine as
    :class:`.CodeFamily`'s, ρ = 1.03, same span) and ``d_k = ⌈extra_fraction · m_k⌉`` extra
    positions: ``p`` of them punctured (untainted, ≈ 37–39 % of m available at rates
    0.75–0.9), the rest shortened, so one code spans leaks ``m_k − p … m_k``. Selection
    (deterministic in ``(q̂, N, F)``, so both parties rebuild the same code):

    * top leak ``⌈top_factor · f_design(q_top) · F · H(q_top)⌉`` with ``q_top = q̂ +
      √((top_sigmas · σ_N)² + (frame_sigmas · σ_F)²)``: σ_N = √(q̂(1−q̂)/N) of the QBER
      sample (0 for a known QBER) and σ_F = √(q̂(1−q̂)/F) of the frame's own error count
      (f_design was calibrated at 100 kbit; the σ_F term is what gives shorter frames their
      larger margin); the first mother code whose ``m_k`` reaches it;
    * start leak ``⌈start_factor · f_design(q_low) · F · H(q_low)⌉`` with ``q_low = q̂ −
      start_sigmas · σ_N`` (a fraction of the one-way leak, which covers the frames with the
      most errors, so most frames need less than it and some need more); punctured
      ``p = min(d_k, m_k − start, untainted)``, the rest of ``d_k`` shortened;
    * step ``⌈step_fraction · F · H(q̂)⌉`` bits (≈ ``step_fraction`` of f per round).

    What sets the efficiency is the mother code's ``m`` relative to what a frame needs: a
    frame decodes at leak ``m − (punctured still secret)``, and the more of ``m`` is still
    punctured there, the worse the code's threshold. So the top (hence ``m``) sits just
    above the frames with the most errors, on a fine grid so ``m`` cannot land far above the
    top; the extra positions beyond ``p`` are shortened and cost nothing. Chosen on
    synthetic 100-kbit BSC frames only (``benchmarks/reconciliation.py --blind``, 100 frames
    per point, one estimate per 10 frames; never on a pass): against the previous defaults
    (ρ = 1.06, top_factor 1.05, top_sigmas = frame_sigmas = 3) f went from
    1.158/1.118/1.120 to 1.158/1.112/1.089 at QBER 1/2/3 % known and from 1.166/1.124/1.123
    to 1.154/1.113/1.101 from a 20 000-bit sample, FER 0/100 in both, with fewer reveal
    rounds; with the estimate 2σ_N below the true QBER no frame of 50 failed at 1/2/3 %
    (f = 1.153/1.109/1.095, ≈ 8–10 rounds). On 50 frames (known): top_factor 0.95 on the
    fine grid (m ≈ 1.125 f at 3 %) lost a frame; extra_fraction 0.22 instead of 0.34
    changed nothing (it only shortens fewer positions) but would cap the range the sampled
    case needs at QBER 0.5 % (p ≈ 0.32 m); step_fraction 0.01 gained only ≈ 0.005 in f for
    1.7× the rounds; start_factor 0.85 gained 0.007 at 1 % for 5× the rounds. The σ_F
    margin (frame_sigmas 3) is kept for short frames: at 4 kbit, QBER 3 %, 1 of 32 frames
    still fails with every punctured bit revealed (f_design holds at 100 kbit only).
    """

    seed: int = 20250601
    c0: float = 0.035
    ratio: float = 1.03
    count: int = 94
    extra_fraction: float = 0.34
    start_factor: float = 0.92
    start_sigmas: float = 1.0
    top_sigmas: float = 2.0
    frame_sigmas: float = 3.0
    top_factor: float = 1.0
    step_fraction: float = 0.02
    #: Supplies f_design(q), the one-way leak the blind range is placed around.
    one_way: CodeFamily = field(default_factory=CodeFamily.default)

    @classmethod
    def default(cls) -> BlindFamily:
        """The blind family shipped with satqkd."""
        return cls()

    def checks(self, index: int, frame_bits: int) -> int:
        """m_k for a frame of ``frame_bits``."""
        return math.ceil(self.c0 * self.ratio**index * frame_bits)

    def mother(self, index: int, frame_bits: int) -> LdpcCode:
        """Mother code ``index`` for ``frame_bits`` key bits (built once, cached on disk)."""
        m = self.checks(index, frame_bits)
        n = frame_bits + math.ceil(self.extra_fraction * m)
        return LdpcCode.build(n, m, node_fractions(1.0 - m / n), self.seed + index)

    def select(
        self, qber_estimate: float, frame_bits: int = 100_000, *,
        sample_bits: int | None = DEFAULT_SAMPLE_BITS,
    ) -> BlindCode:
        """Alice's blind code for a frame given the sampled QBER (see class docstring)."""
        check_selection_inputs(qber_estimate, frame_bits)
        sample_sigma = CodeFamily.sample_sigma(qber_estimate, sample_bits)
        # The frame's own error rate scatters around the QBER too (binomial in F bits).
        frame_sigma = math.sqrt(qber_estimate * (1.0 - qber_estimate) / frame_bits)
        q_top = qber_estimate + math.hypot(self.top_sigmas * sample_sigma,
                                           self.frame_sigmas * frame_sigma)
        q_low = max(qber_estimate - self.start_sigmas * sample_sigma, 0.5 * qber_estimate)
        top = math.ceil(self.top_factor * self.one_way.design_efficiency(q_top) * frame_bits
                        * binary_entropy(q_top))
        if top > self.checks(self.count - 1, frame_bits):
            raise InputError(f"QBER bound {q_top:.4f} is beyond the blind code family",
                             field="qber", value=qber_estimate)
        index = first_reaching(self.checks, top, frame_bits)
        mother = self.mother(index, frame_bits)
        start = math.ceil(self.start_factor * self.one_way.design_efficiency(q_low)
                          * frame_bits * binary_entropy(q_low))
        extra = mother.n - frame_bits
        punctured = max(0, min(extra, mother.m - start, mother.puncture_order.size))
        code = RateAdaptedCode(mother, frame_bits, punctured, qber_estimate, index)
        step = max(1, math.ceil(self.step_fraction * frame_bits * binary_entropy(qber_estimate)))
        return BlindCode(code, step)


@dataclass(frozen=True)
class BlindOutcome:
    """Per-frame results of :func:`reconcile_blind` (arrays of length ``frames``)."""

    bits: np.ndarray  #: Bob's final key bits ``[frames, F]`` (meaningless where not ok)
    ok: np.ndarray  #: syndrome met and verification passed (bool)
    attempts: np.ndarray  #: decode attempts (1 + reveal rounds requested)
    revealed_bits: np.ndarray  #: bits revealed (punctured values; guided: key bits)
    leak_bits: np.ndarray  #: m − p + revealed (verification tag not included)
    iterations: np.ndarray  #: decoder iterations over all attempts
    decode_s: float  #: wall time in the decoder over all attempts

    @property
    def reveal_rounds(self) -> np.ndarray:
        """Reveal requests per frame (attempts − 1)."""
        return self.attempts - 1


def reconcile_blind(
    code: BlindCode,
    alice_bits: np.ndarray,
    bob_bits: np.ndarray,
    qber_decoder: float,
    rng: np.random.Generator | None = None,
    max_iterations: int = BLIND_MAX_ITERATIONS,
    verify: Callable[[int, np.ndarray], bool] | None = None,
    *,
    warm: bool = True,
    continue_iterations: int = BLIND_CONTINUE_ITERATIONS,
    stall_iterations: int = BLIND_STALL_ITERATIONS,
) -> BlindOutcome:
    """Run blind reconciliation on synthetic frames (both sides in one process).

    Each round decodes only the frames still failing, together (``decode_many``). A frame
    is resolved when it meets the syndrome and ``verify(i, bits)`` holds (default: equals
    Alice's frame, standing in for the protocol's verification hash; a wrong codeword then
    asks for more reveals, as a hash mismatch would); it fails once all ``p`` punctured
    values are revealed and it still does not decode. The first attempt runs at most
    ``max_iterations``; with ``warm`` each later one continues from the frame's previous
    attempt for at most ``continue_iterations`` (without, it restarts from zero with
    ``max_iterations``). ``stall_iterations`` > 0 stops an attempt early (see
    :data:`BLIND_STALL_ITERATIONS`).
    """
    alice_bits = np.atleast_2d(np.asarray(alice_bits, np.uint8))
    bob_bits = np.atleast_2d(np.asarray(bob_bits, np.uint8))
    frames = alice_bits.shape[0]
    if verify is None:
        def verify(i: int, bits: np.ndarray) -> bool:
            return bool(np.array_equal(bits, alice_bits[i]))
    syndromes, values = code.encode(alice_bits, rng)
    steps_done = np.zeros(frames, np.int64)
    attempts = np.zeros(frames, np.int64)
    iterations = np.zeros(frames, np.int64)
    ok = np.zeros(frames, np.bool_)
    out = np.zeros_like(alice_bits)
    active = np.arange(frames)
    states = [code.new_state() for _ in range(frames)] if warm else None
    decode_s = 0.0
    while active.size:
        revealed = [values[i, : code.revealed_after(int(steps_done[i]))] for i in active]
        cap = continue_iterations if warm and attempts[active[0]] else max_iterations
        t0 = time.perf_counter()
        results = code.decode_many(
            syndromes[active], bob_bits[active], qber_decoder, revealed, cap,
            [states[i] for i in active] if states is not None else None, stall_iterations)
        decode_s += time.perf_counter() - t0
        still = []
        for i, res in zip(active, results, strict=True):
            attempts[i] += 1
            iterations[i] += res.iterations
            out[i] = res.bits
            if res.converged and verify(int(i), res.bits):
                ok[i] = True
            elif steps_done[i] < code.steps:
                steps_done[i] += 1
                still.append(i)
        active = np.array(still, dtype=np.int64)
    revealed_bits = np.array([code.revealed_after(int(s)) for s in steps_done], np.int64)
    leak = np.array([code.leak_bits(int(r)) for r in revealed_bits], np.int64)
    return BlindOutcome(out, ok, attempts, revealed_bits, leak, iterations, decode_s)
