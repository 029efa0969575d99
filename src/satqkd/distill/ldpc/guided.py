"""Guided blind reconciliation: the ground asks for the values of its least reliable bits.

After Kiktenko, Trushechkin, Lim, Kurochkin and Fedorov, "Symmetric blind information
reconciliation for quantum key distribution", Phys. Rev. Applied 8, 044017 (2017), one-way
variant (only Bob decodes). Blind reconciliation (:mod:`.blind`) reveals *punctured* bits in
a fixed order; here, after a failed attempt, Bob names the ``step_bits`` key positions whose
posterior |L| is smallest (the bits belief propagation is least sure of, where it is
stuck) and Alice discloses her values there:

1. Alice sends the syndrome of a rate-adapted one-way code at a low start leak
   (:class:`GuidedFamily`: below what almost every frame needs), its ``p`` punctured
   positions filled with fresh secret bits that are never revealed: leak ``m − p``.
2. Bob decodes (row kernel, warm restarts, early stop, as blind). While the syndrome is not
   met or the verification tag differs, he sends the positions of his ``step_bits`` least
   reliable key bits not disclosed yet (:meth:`GuidedCode.request_positions`); Alice
   answers with her bits there (:meth:`GuidedCode.reveal`); Bob sets their priors to
   ±LLR_MAX and continues decoding.
3. A frame that has not decoded once ``max_reveal_bits`` are disclosed is discarded.

Leak accounting. Each disclosed key bit is charged one bit: leak = ``m − p + r`` with ``r``
the disclosed count (the verification tag and the protocol's report bits come on top).
The *positions* are not charged: they are a function of Bob's error pattern e = x ⊕ y
alone, not of Alice's key. Sum-product is symmetric under flipping a bit's prior sign
together with the syndrome, so the magnitudes |L| Bob ranks by depend on (y, Hx) only
through e (the punctured priors are 0, so their secret values do not enter either), and
ties are broken by position; ``tests/distill/test_guided.py`` checks that flipping x
and y together leaves every request unchanged. In the phase-error security argument all
three estimation methods rest on, public information about where Bob's bit errors are (a
Z-type, error-only observable) leaves the phase-error bound untouched, as in Cascade's
usual accounting, which charges the parities Alice discloses and not the error positions
the binary searches reveal; the error count per packet is already public in this protocol
(:class:`~satqkd.protocol.messages.DecodeReport`). What costs key is what Alice discloses
about x: the syndrome and the revealed values, both charged.

Why it beats punctured reveals: a punctured reveal moves along the rate-compatible family
(the heavier the puncturing, the worse the threshold), while a bit Bob ranks least reliable
after a failed attempt is one he is nearly ignorant of (|L| ≈ 0, so it also buys about a
whole bit) and sits where the decoder is stuck. Revealing the same number of *random* key
bits instead needed f ≈ 1.39 at QBER 2 % (they buy only ≈ H(q) each) against 1.08 for the
guided choice (16 frames, start 1.04 · F·H, same steps, a scratch comparison).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from satqkd.distill.ldpc import decoder
from satqkd.distill.ldpc.blind import (
    BLIND_CONTINUE_ITERATIONS,
    BLIND_MAX_ITERATIONS,
    BLIND_STALL_ITERATIONS,
    BlindOutcome,
)
from satqkd.distill.ldpc.code import DecodeResult, RateAdaptedCode, binary_entropy
from satqkd.distill.ldpc.family import (
    DEFAULT_SAMPLE_BITS,
    CodeFamily,
    check_selection_inputs,
)
from satqkd.distill.ldpc.row_decoder import RowState
from satqkd.distill.ldpc.row_layers import row_layers
from satqkd.errors import InputError

#: Identifies the message format of :meth:`GuidedCode.describe`.
GUIDED_SCHEME = "satqkd.ldpc-guided/1"
#: Mean efficiency of guided reconciliation, f = mean leak / (F·H(QBER)) with the disclosed
#: bits and without the tag, against the true QBER, when the code is chosen from a
#: 20 000-bit QBER sample: ``benchmarks/reconciliation.py --blind --guided --frames 100
#: --pass-frames 10`` (100 frames of 100 kbit per QBER, FER 0/100 at every point). The
#: ``fast`` campaign fidelity uses it as the expected leak of a packet (an empirical model,
#: as :data:`.blind.BLIND_MEAN_EFFICIENCY`).
GUIDED_MEAN_EFFICIENCY: tuple[tuple[float, float], ...] = (
    (0.005, 1.132), (0.01, 1.091), (0.02, 1.061), (0.03, 1.052), (0.04, 1.050), (0.05, 1.049),
)


@dataclass(frozen=True)
class GuidedCode:
    """A rate-adapted code used with guided reveals: ``step_bits`` disclosed per request,
    at most ``max_reveal_bits`` per frame."""

    code: RateAdaptedCode
    step_bits: int
    max_reveal_bits: int

    def __post_init__(self) -> None:
        if self.step_bits < 1 or self.max_reveal_bits < self.step_bits:
            raise ValueError("need 1 <= step_bits <= max_reveal_bits")

    @property
    def steps(self) -> int:
        """Reveal requests a frame may make: ⌈max_reveal_bits / step_bits⌉."""
        return -(-self.max_reveal_bits // self.step_bits)

    def step_size(self, step: int) -> int:
        """Bits disclosed by request ``step`` (1-based; the last may be shorter)."""
        if not 1 <= step <= self.steps:
            raise ValueError(f"reveal step {step} outside 1..{self.steps}")
        return min(self.step_bits, self.max_reveal_bits - (step - 1) * self.step_bits)

    def leak_bits(self, revealed: int) -> int:
        """Syndrome leak after ``revealed`` disclosed bits: m − p + revealed (no tag)."""
        if not 0 <= revealed <= self.max_reveal_bits:
            raise ValueError(f"revealed={revealed} outside [0, {self.max_reveal_bits}]")
        return self.code.leak_bits + int(revealed)

    def describe(self) -> dict[str, object]:
        """JSON-able description from which :meth:`from_description` rebuilds this."""
        return {"scheme": GUIDED_SCHEME, "code": self.code.describe(),
                "step_bits": int(self.step_bits), "max_reveal_bits": int(self.max_reveal_bits)}

    @classmethod
    def from_description(cls, description: dict[str, object]) -> GuidedCode:
        """Rebuild the code of :meth:`describe` (e.g. on the ground station)."""
        source = "guided code description"
        if description.get("scheme") != GUIDED_SCHEME:
            raise InputError("unknown code scheme", source=source, field="scheme",
                             value=description.get("scheme"))
        inner = description.get("code")
        step, most = description.get("step_bits"), description.get("max_reveal_bits")
        if (not isinstance(inner, dict) or not isinstance(step, int)
                or not isinstance(most, int) or not 1 <= step <= most):
            raise InputError("malformed guided code description", source=source)
        return cls(RateAdaptedCode.from_description(inner), step, most)

    # ---- Alice -------------------------------------------------------------------------

    def encode(self, bits: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Syndromes ``[frames, m]`` of frames ``[frames, F]``; the punctured values are
        fresh secret bits (``rng`` as in :meth:`RateAdaptedCode.syndromes`), never revealed,
        so Alice need not keep them."""
        return self.code.syndromes(np.atleast_2d(np.asarray(bits, np.uint8)), rng)

    def reveal(self, key_bits: np.ndarray, positions: np.ndarray, step: int,
               earlier: np.ndarray) -> np.ndarray:
        """Alice's answer to request ``step``: her bits at ``positions`` (key-frame indices),
        after the ``earlier`` positions disclosed for this frame by steps 1 … step − 1.
        :class:`ValueError` for a request that does not fit the schedule (wrong size, out
        of range, repeated or disclosed before): the caller ignores it, so no more than
        ``max_reveal_bits`` ever leave."""
        positions = np.asarray(positions, np.int64)
        earlier = np.asarray(earlier, np.int64)
        if earlier.size != (step - 1) * self.step_bits or positions.size != self.step_size(step):
            raise ValueError("reveal request does not fit the schedule")
        if positions.size and (positions.min() < 0 or positions.max() >= self.code.frame_bits
                               or np.unique(positions).size != positions.size
                               or np.intersect1d(earlier, positions).size):
            raise ValueError("reveal positions out of range, repeated or disclosed before")
        return np.asarray(key_bits, np.uint8)[positions].copy()

    # ---- Bob ---------------------------------------------------------------------------

    def new_state(self) -> RowState:
        """An empty decoder state for one frame of this code (for warm restarts)."""
        return RowState.for_code(self.code.mother)

    def request_positions(self, state: RowState, disclosed: np.ndarray, step: int) -> np.ndarray:
        """Bob's request ``step``: the key positions (sorted) of the ``step_size(step)``
        smallest posterior magnitudes of his last attempt (``state``) among those not in
        ``disclosed`` (key-frame indices), ties broken by position — a function of his
        error pattern only (see module docstring)."""
        count = self.step_size(step)
        labels = row_layers(self.code.mother).labels
        magnitude = np.abs(state.L[labels[self.code.key_positions]]).astype(np.float64)
        magnitude[np.asarray(disclosed, np.int64)] = np.inf
        candidates = np.argpartition(magnitude, count - 1)[:count]
        cut = magnitude[candidates].max()
        # Every position strictly below the cut, then the lowest-numbered ones at the cut.
        below = np.flatnonzero(magnitude < cut)
        at_cut = np.flatnonzero(magnitude == cut)[: count - below.size]
        return np.sort(np.concatenate([below, at_cut])).astype(np.int64)

    def priors(self, noisy_bits: np.ndarray, qber: float | np.ndarray,
               positions: list[np.ndarray], values: list[np.ndarray]) -> np.ndarray:
        """Channel LLRs ``[frames, n]`` with frame i's disclosed key bits (``positions[i]``,
        key-frame indices, with Alice's ``values[i]``) set to ±LLR_MAX (0 → +, 1 → −)."""
        noisy_bits = np.atleast_2d(np.asarray(noisy_bits, np.uint8))
        priors = self.code.channel_llrs(noisy_bits, qber)
        for i, (pos, val) in enumerate(zip(positions, values, strict=True)):
            where = self.code.key_positions[np.asarray(pos, np.int64)]
            priors[i, where] = decoder.LLR_MAX * (1 - 2 * np.asarray(val, np.float32))
        return priors

    def decode_many(
        self, syndromes: np.ndarray, noisy_bits: np.ndarray, qber: float | np.ndarray,
        positions: list[np.ndarray], values: list[np.ndarray], max_iterations: int,
        states: list[RowState], stall_iterations: int = BLIND_STALL_ITERATIONS,
    ) -> list[DecodeResult]:
        """Bob's decode of frames given the bits disclosed so far, each continuing from its
        previous attempt (``states``, one :meth:`new_state` per frame, kept by the caller)."""
        return self.code.decode_llrs(syndromes, self.priors(noisy_bits, qber, positions, values),
                                     max_iterations, states=states,
                                     stall_iterations=stall_iterations)


@dataclass(frozen=True)
class GuidedFamily:
    """Alice's choice of code, step and reveal budget for guided reconciliation.

    Start leak ``⌈start_factor · F · H(q_low)⌉`` with ``q_low = q̂ − start_sigmas · σ_N``
    (σ_N of the QBER sample, 0 if known): the first one-way mother code
    (:class:`.CodeFamily`) whose m reaches it, the surplus punctured. Step
    ``⌈step_fraction · F · H(q̂)⌉`` bits (≈ 1 % of f per round). Budget: the one-way leak
    at ``q_top = q̂ + budget_sigmas · σ_N``, ``⌈f_design(q_top) · F · H(q_top)⌉`` disclosed
    bits at most (more than one-way would have sent in all is never worth asking for).

    Chosen on synthetic 100-kbit BSC frames only, QBER known (never on a pass): on 16
    frames, start 1.0 against 1.04 and 1.08 × F·H gave f = 1.092 / 1.100 / 1.115 at 1 %
    (9 / 6 / 3.5 rounds); a 0.5 % step gained nothing at 1 % (1.093, 10 rounds) and 0.004
    at 2 % for twice the rounds; a code with nothing punctured at the start gave the same f.
    On 20 frames (``benchmarks/reconciliation.py --blind --guided``) start 0.95 against 1.0
    gave f = 1.075 / 1.059 against 1.083 / 1.065 at QBER 1 / 2 %, for 12.5 / 10.9 instead of
    8.3 / 6.5 rounds: the default takes the lower leak and the extra round trips.
    """

    start_factor: float = 0.95
    start_sigmas: float = 1.0
    step_fraction: float = 0.01
    budget_sigmas: float = 3.0
    #: Supplies the mother codes and f_design(q), which sets the budget.
    one_way: CodeFamily = field(default_factory=CodeFamily.default)

    @classmethod
    def default(cls) -> GuidedFamily:
        """The guided settings shipped with satqkd."""
        return cls()

    def select(self, qber_estimate: float, frame_bits: int = 100_000, *,
               sample_bits: int | None = DEFAULT_SAMPLE_BITS) -> GuidedCode:
        """Alice's guided code for a frame given the sampled QBER (see class docstring)."""
        check_selection_inputs(qber_estimate, frame_bits)
        family = self.one_way
        sigma = family.sample_sigma(qber_estimate, sample_bits)
        q_low = max(qber_estimate - self.start_sigmas * sigma, 0.5 * qber_estimate)
        q_top = min(qber_estimate + self.budget_sigmas * sigma, 0.49)
        start = max(math.ceil(self.start_factor * frame_bits * binary_entropy(q_low)),
                    family.checks(0, frame_bits))
        if start > family.checks(family.count - 1, frame_bits):
            raise InputError(f"QBER estimate {qber_estimate:.4f} is beyond the code family",
                             field="qber", value=qber_estimate)
        index = family.first_reaching(start, frame_bits)
        mother = family.mother(index, frame_bits)
        punctured = min(mother.m - start, mother.n - frame_bits)
        code = RateAdaptedCode(mother, frame_bits, punctured, qber_estimate, index)
        step = max(1, math.ceil(self.step_fraction * frame_bits * binary_entropy(qber_estimate)))
        budget = math.ceil(family.design_efficiency(q_top) * frame_bits * binary_entropy(q_top))
        return GuidedCode(code, step, max(step, budget))


def reconcile_guided(
    code: GuidedCode,
    alice_bits: np.ndarray,
    bob_bits: np.ndarray,
    qber_decoder: float,
    rng: np.random.Generator | None = None,
    verify: Callable[[int, np.ndarray], bool] | None = None,
    *,
    max_iterations: int = BLIND_MAX_ITERATIONS,
    continue_iterations: int = BLIND_CONTINUE_ITERATIONS,
    stall_iterations: int = BLIND_STALL_ITERATIONS,
) -> BlindOutcome:
    """Run guided reconciliation on synthetic frames (both sides in one process, talking
    only through positions and values). ``verify`` as in :func:`.blind.reconcile_blind`
    (default: equals Alice's frame). ``revealed_bits`` of the outcome counts disclosed key
    bits."""
    alice_bits = np.atleast_2d(np.asarray(alice_bits, np.uint8))
    bob_bits = np.atleast_2d(np.asarray(bob_bits, np.uint8))
    frames = alice_bits.shape[0]
    if verify is None:
        def verify(i: int, bits: np.ndarray) -> bool:
            return bool(np.array_equal(bits, alice_bits[i]))
    syndromes = code.encode(alice_bits, rng)
    positions: list[list[np.ndarray]] = [[] for _ in range(frames)]
    values: list[list[np.ndarray]] = [[] for _ in range(frames)]
    states = [code.new_state() for _ in range(frames)]
    attempts = np.zeros(frames, np.int64)
    iterations = np.zeros(frames, np.int64)
    ok = np.zeros(frames, np.bool_)
    out = np.zeros_like(alice_bits)
    active = np.arange(frames)
    decode_s = 0.0

    def disclosed(i: int) -> tuple[np.ndarray, np.ndarray]:
        return (np.concatenate([np.zeros(0, np.int64), *positions[i]]),
                np.concatenate([np.zeros(0, np.uint8), *values[i]]))

    while active.size:
        cap = continue_iterations if attempts[active[0]] else max_iterations
        pos, val = zip(*(disclosed(int(i)) for i in active), strict=True)
        t0 = time.perf_counter()
        results = code.decode_many(syndromes[active], bob_bits[active], qber_decoder,
                                   list(pos), list(val), cap, [states[i] for i in active],
                                   stall_iterations)
        decode_s += time.perf_counter() - t0
        still = []
        for i, res, done in zip(active, results, pos, strict=True):
            attempts[i] += 1
            iterations[i] += res.iterations
            out[i] = res.bits
            step = len(positions[i]) + 1
            if res.converged and verify(int(i), res.bits):
                ok[i] = True
            elif step <= code.steps:
                ask = code.request_positions(states[i], done, step)
                positions[i].append(ask)
                values[i].append(code.reveal(alice_bits[i], ask, step, done))
                still.append(i)
        active = np.array(still, dtype=np.int64)
    revealed = np.array([disclosed(i)[0].size for i in range(frames)], np.int64)
    leak = np.array([code.leak_bits(int(r)) for r in revealed], np.int64)
    return BlindOutcome(out, ok, attempts, revealed, leak, iterations, decode_s)
