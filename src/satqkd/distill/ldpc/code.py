"""LDPC mother codes and their rate-adapted (punctured + shortened) use on key frames.

Rate adaptation follows Elkouss, Martinez-Mateo and Martin, "Information reconciliation for
quantum key distribution", Quantum Inf. Comput. 11, 226 (2011): a mother code of length
``n = F + d`` carries a key frame of ``F`` bits plus ``d = p + s`` extra positions, ``p`` of
them punctured (filled by Alice with fresh random bits, unknown to Bob) and ``s`` shortened
(fixed to 0, known to both). Alice sends the ``m`` syndrome bits; because the punctured bits
are uniform and their columns of H are independent, the syndrome reveals at most

    leak = m − p  bits about the key frame,   efficiency f = leak / (F · H(QBER)).

Punctured positions are "untainted" (Elkouss et al., ISIT 2011 §III): no two share a check,
so every punctured bit is recoverable from one check in one step and the punctured columns of
H are linearly independent (each owns checks no other punctured column touches), which is
what makes the ``m − p`` accounting exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from numba import njit

from satqkd.distill.ldpc import cache, decoder, qc_decoder, row_decoder
from satqkd.distill.ldpc.construction import (
    ParityCheckGraph,
    build_graph,
    graph_from_rows,
    untainted_select,
)
from satqkd.distill.ldpc.qc import (
    CONSTRUCTION_VERSION,
    LiftedGraph,
    build_lifted,
    can_lift,
    lift_graph,
)
from satqkd.errors import InputError

#: Identifies the message format of :meth:`RateAdaptedCode.describe`.
SCHEME = "satqkd.ldpc/1"
#: Default cap on sum-product iterations. Converging frames stop as soon as they meet the
#: syndrome (≈ 10–25 iterations at the design points), so the cap only costs time on frames
#: that fail; near the threshold some frames need 100–200 (100-kbit frames at QBER 2 %,
#: f = 1.10: mean 98 iterations), while beyond 200 hardly any more frames converge.
DEFAULT_MAX_ITERATIONS = 200
#: Frames decoded side by side (one per SIMD lane) by :meth:`RateAdaptedCode.decode_many`.
DEFAULT_LANES = 16
#: ``kernel="auto"`` decodes batches of fewer frames than this with the check-parallel
#: single-frame kernel (:mod:`.row_decoder`), larger ones with the frame-parallel one: the
#: latter computes all 16 lanes whatever the batch, so one frame alone costs as much as 16
#: (100-kbit frame at QBER 1 %: 0.8 Mbit/s alone, 6.7 Mbit/s with the row kernel; with 16
#: frames the lane kernel is faster per frame, 9.6 Mbit/s).
ROW_KERNEL_BELOW_FRAMES = decoder.MAX_LANES
#: The frame-parallel kernel hands a frame still unsolved after this many iterations to the
#: row kernel, which decodes it again from its priors (up to the iteration cap) at ≈ 1/12 of
#: the cost per iteration of a 16-lane sweep. Frames at the design points take 10–25
#: iterations on average and rarely over 40; without the hand-off one slow frame late in a
#: batch (QBER 2 %: 106 iterations) kept the kernel sweeping 16 lanes for it alone and cost
#: 60 % of the batch's time. A frame's result still depends only on its own inputs: it is
#: the lane kernel's if that kernel solves it within this many iterations, else the row
#: kernel's, and the two run the same sum-product (iterations reported: the row kernel's).
HANDOFF_ITERATIONS = 40


def binary_entropy(p: float) -> float:
    """H(p) = −p log2 p − (1−p) log2(1−p), in bits."""
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -p * math.log2(p) - (1.0 - p) * math.log2(1.0 - p)


def efficiency(leak_bits: int, frame_bits: int, qber: float) -> float:
    """Reconciliation efficiency f = leak / (F · H(QBER)); 1 is the Shannon limit."""
    return leak_bits / (frame_bits * binary_entropy(qber))


@dataclass(frozen=True)
class DecodeResult:
    """Bob's outcome for one frame.

    ``bits`` are his corrected key bits (``[frame_bits]`` uint8) and ``converged`` says
    whether they satisfy Alice's syndrome. A frame with ``converged=False`` must be
    discarded, never passed on. ``converged=True`` can still (rarely) be a wrong codeword:
    the verification hash catches that.
    """

    bits: np.ndarray
    converged: bool
    iterations: int


@dataclass(frozen=True)
class LdpcCode:
    """A mother LDPC code: an ``m × n`` parity-check graph built from a seed, lifted
    (quasi-cyclic, :mod:`.qc`) when ``lift`` > 1."""

    n: int
    m: int
    node_fractions: tuple[tuple[int, float], ...]
    seed: int
    graph: ParityCheckGraph = field(repr=False, compare=False)
    lift: int = 1
    lifted: LiftedGraph | None = field(default=None, repr=False, compare=False)

    @staticmethod
    def build(n: int, m: int, node_fractions: dict[int, float], seed: int,
              lift: int = 1) -> LdpcCode:
        """The (cached) code for these construction parameters; ``lift`` > 1 builds the
        quasi-cyclic code (sizes must allow it: :func:`.qc.can_lift`)."""
        if lift != 1 and not can_lift(int(n), int(m), int(lift)):
            raise ValueError(f"an {m} x {n} code cannot be lifted by {lift}")
        key = tuple(sorted((int(d), float(f)) for d, f in node_fractions.items()))
        return _build_cached(int(n), int(m), key, int(seed), int(lift))

    @property
    def rate(self) -> float:
        """Design rate 1 − m/n."""
        return 1.0 - self.m / self.n

    def syndromes(self, words: np.ndarray) -> np.ndarray:
        """H·x mod 2 for codeword-length words ``[frames, n]`` (uint8) → ``[frames, m]``."""
        words = np.ascontiguousarray(np.atleast_2d(words), dtype=np.uint8)
        return decoder.syndromes(self.graph.row_ptr, self.graph.col_idx, words)

    @property
    def puncture_order(self) -> np.ndarray:
        """Untainted variables in the order they are punctured (see module docstring)."""
        return _puncture_order(self)

    @property
    def shorten_order(self) -> np.ndarray:
        """A seeded permutation of all variables; shortened ones are taken from its front."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, self.n, self.m, 7]))
        return rng.permutation(self.n)


@lru_cache(maxsize=32)
def _build_cached(
    n: int, m: int, fractions: tuple[tuple[int, float], ...], seed: int, lift: int
) -> LdpcCode:
    if lift > 1:
        return _build_lifted(n, m, fractions, seed, lift)
    key = ("graph", n, m, fractions, seed)
    stored = cache.load(key, m)
    if stored is not None:
        graph = graph_from_rows(n, *stored)
    else:
        graph = build_graph(n, m, dict(fractions), seed)
        cache.store(key, graph.row_ptr, graph.col_idx)
    return LdpcCode(n=n, m=m, node_fractions=fractions, seed=seed, graph=graph)


def _build_lifted(
    n: int, m: int, fractions: tuple[tuple[int, float], ...], seed: int, lift: int
) -> LdpcCode:
    key = ("qc-graph", CONSTRUCTION_VERSION, n, m, fractions, seed, lift)
    stored = cache.load_with_shifts(key, m // lift)
    if stored is not None and stored[2] is not None:
        base = graph_from_rows(n // lift, stored[0], stored[1])
        lifted = lift_graph(base, stored[2], lift)
    else:
        lifted = build_lifted(n, m, dict(fractions), seed, lift)
        cache.store(key, lifted.base.row_ptr, lifted.base.col_idx, lifted.shifts)
    return LdpcCode(n=n, m=m, node_fractions=fractions, seed=seed, graph=lifted.graph,
                    lift=lift, lifted=lifted)


@lru_cache(maxsize=32)
def _puncture_order(code: LdpcCode) -> np.ndarray:
    graph = code.graph
    rng = np.random.default_rng(np.random.SeedSequence([code.seed, code.n, code.m, 3]))
    degrees = graph.variable_degrees()
    order = np.lexsort((rng.random(code.n), degrees))
    return untainted_select(order.astype(np.int64), graph.var_ptr, graph.var_checks, code.m)


class RateAdaptedCode:
    """A mother code used on ``frame_bits`` key bits with ``punctured`` + ``shortened`` extras.

    Alice calls :meth:`syndrome`; Bob calls :meth:`decode` (or :meth:`decode_many`). Both
    build the object from the same :meth:`describe` dictionary, so they agree on which
    positions carry key bits, which are punctured and which are shortened.
    """

    def __init__(
        self,
        mother: LdpcCode,
        frame_bits: int,
        punctured: int,
        qber_design: float,
        family_index: int = -1,
    ) -> None:
        extra = mother.n - frame_bits
        if not 0 <= punctured <= extra:
            raise ValueError(f"punctured={punctured} outside [0, {extra}]")
        self.mother = mother
        self.frame_bits = int(frame_bits)
        self.punctured = int(punctured)
        self.shortened = int(extra - punctured)
        self.qber_design = float(qber_design)
        self.family_index = int(family_index)
        order = mother.puncture_order
        if order.size < self.punctured:
            raise ValueError(f"only {order.size} untainted positions for {punctured} punctures")
        self.punctured_positions = np.sort(order[: self.punctured])
        taken = np.zeros(mother.n, np.bool_)
        taken[self.punctured_positions] = True
        candidates = mother.shorten_order[~taken[mother.shorten_order]]
        self.shortened_positions = np.sort(candidates[: self.shortened])
        taken[self.shortened_positions] = True
        self.key_positions = np.flatnonzero(~taken)

    @property
    def leak_bits(self) -> int:
        """Bits revealed about the key frame: syndrome length minus punctured bits."""
        return self.mother.m - self.punctured

    @property
    def syndrome_bits(self) -> int:
        """Length of the syndrome message."""
        return self.mother.m

    @property
    def rate(self) -> float:
        """Effective rate 1 − leak/F."""
        return 1.0 - self.leak_bits / self.frame_bits

    @property
    def code_id(self) -> str:
        """Short readable identifier of the code and its adaptation."""
        mc = self.mother
        lift = f"-z{mc.lift}" if mc.lift > 1 else ""
        return f"ldpc-n{mc.n}-m{mc.m}-s{mc.seed}{lift}-p{self.punctured}-F{self.frame_bits}"

    def efficiency(self, qber: float) -> float:
        """f = leak / (F · H(qber)) for the given (true or estimated) QBER."""
        return efficiency(self.leak_bits, self.frame_bits, qber)

    def describe(self) -> dict[str, object]:
        """JSON-able description from which :meth:`from_description` rebuilds this code."""
        mc = self.mother
        return {
            "scheme": SCHEME,
            "code_id": self.code_id,
            "frame_bits": self.frame_bits,
            "mother_n": mc.n,
            "mother_m": mc.m,
            "seed": mc.seed,
            "degree_distribution": [[d, f] for d, f in mc.node_fractions],
            "lift": mc.lift,
            "punctured_bits": self.punctured,
            "shortened_bits": self.shortened,
            "qber_design": self.qber_design,
            "family_index": self.family_index,
        }

    @classmethod
    def from_description(cls, description: dict[str, object]) -> RateAdaptedCode:
        """Rebuild the code described by :meth:`describe` (e.g. on the ground station)."""
        return _from_description(description)

    # ---- Alice -------------------------------------------------------------------------

    def syndrome(self, bits: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Alice's syndrome (``[m]`` uint8) of one key frame ``[frame_bits]`` (uint8).

        Punctured positions get fresh uniform bits from ``rng`` (default: seeded from the
        operating system's entropy); they must stay secret, which is what lets them cancel
        ``p`` bits of the leak. Pass a seeded generator only for reproducible tests.
        """
        return self.syndromes(np.atleast_2d(bits), rng)[0]

    def syndromes(self, bits: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Syndromes ``[frames, m]`` of several frames ``[frames, frame_bits]``."""
        bits = np.asarray(bits)
        if bits.ndim != 2 or bits.shape[1] != self.frame_bits:
            raise ValueError(f"expected frames of {self.frame_bits} bits, got shape {bits.shape}")
        rng = rng if rng is not None else np.random.default_rng()
        words = np.zeros((bits.shape[0], self.mother.n), np.uint8)
        words[:, self.key_positions] = bits & 1
        words[:, self.punctured_positions] = rng.integers(
            0, 2, size=(bits.shape[0], self.punctured), dtype=np.uint8
        )
        return self.mother.syndromes(words)

    # ---- Bob ---------------------------------------------------------------------------

    def decode(
        self,
        syndrome: np.ndarray,
        noisy_bits: np.ndarray,
        qber: float,
        max_iterations: int = DEFAULT_MAX_ITERATIONS,
    ) -> DecodeResult:
        """Bob's estimate of Alice's frame from her syndrome and his noisy bits.

        ``qber`` sets the channel LLR ln((1−q)/q); use the announced estimate.
        """
        return self.decode_many(
            np.atleast_2d(syndrome), np.atleast_2d(noisy_bits), qber, max_iterations
        )[0]

    def decode_many(
        self,
        syndromes: np.ndarray,
        noisy_bits: np.ndarray,
        qber: float | np.ndarray,
        max_iterations: int = DEFAULT_MAX_ITERATIONS,
        lanes: int = DEFAULT_LANES,
        kernel: str = "auto",
    ) -> list[DecodeResult]:
        """Decode frames ``[k, frame_bits]`` against syndromes ``[k, m]``, several at once.

        ``qber`` is one value for every frame or one per frame (``[k]``). ``kernel``:
        "qc" (lifted codes only: one frame at a time, 16 checks of a circulant per vector,
        :mod:`.qc_decoder`, the fastest), "lanes" (frames in SIMD lanes, :mod:`.decoder`; a
        frame it has not solved in :data:`HANDOFF_ITERATIONS` iterations is decoded again
        by the row kernel), "rows" (one frame at a time, checks in SIMD lanes,
        :mod:`.row_decoder`) or "auto" ("qc" for a lifted code, else "rows" for fewer than
        :data:`ROW_KERNEL_BELOW_FRAMES` frames and "lanes" for more). For a given kernel each
        frame's result depends only on its own inputs, not on the others decoded with it;
        the two kernels order the checks differently, so their iteration counts can differ
        slightly (same FER and mean iterations on 100 frames near the threshold).
        """
        syndromes = np.ascontiguousarray(syndromes, dtype=np.uint8)
        noisy_bits = np.asarray(noisy_bits, dtype=np.uint8)
        frames = noisy_bits.shape[0]
        if noisy_bits.shape != (frames, self.frame_bits):
            raise ValueError(
                f"noisy_bits shape {noisy_bits.shape}, expected (k, {self.frame_bits})"
            )
        if syndromes.shape != (frames, self.mother.m):
            raise ValueError(f"syndromes shape {syndromes.shape}, expected (k, {self.mother.m})")
        q = np.asarray(qber, dtype=np.float64)
        if q.ndim > 1 or (q.ndim == 1 and q.size != frames):
            raise ValueError(f"qber shape {q.shape}, expected () or ({frames},)")
        if not np.all((q > 0.0) & (q < 0.5)):
            raise ValueError(f"qber must be in (0, 0.5), got {qber}")
        return self.decode_llrs(syndromes, self.channel_llrs(noisy_bits, qber),
                                max_iterations, lanes, kernel)

    def decode_llrs(
        self,
        syndromes: np.ndarray,
        priors: np.ndarray,
        max_iterations: int = DEFAULT_MAX_ITERATIONS,
        lanes: int = DEFAULT_LANES,
        kernel: str = "auto",
        states: list[row_decoder.RowState] | None = None,
        stall_iterations: int = 0,
    ) -> list[DecodeResult]:
        """Decode frames from their prior LLRs ``[k, n]`` (float32, e.g. :meth:`channel_llrs`
        with some punctured priors set to ±LLR_MAX once their values are revealed, as blind
        reconciliation does) against syndromes ``[k, m]``; ``kernel`` as in
        :meth:`decode_many`. ``states`` (warm restart) and ``stall_iterations`` (early stop)
        as in :func:`.row_decoder.decode`; either selects the "rows" kernel."""
        syndromes = np.ascontiguousarray(syndromes, dtype=np.uint8)
        priors = np.ascontiguousarray(priors, dtype=np.float32)
        frames = priors.shape[0]
        if priors.shape != (frames, self.mother.n) or syndromes.shape != (frames, self.mother.m):
            raise ValueError(f"priors {priors.shape} / syndromes {syndromes.shape} do not fit "
                             f"(k, {self.mother.n}) / (k, {self.mother.m})")
        out = np.zeros((frames, self.mother.n), np.uint8)
        iters = np.zeros(frames, np.int64)
        conv = np.zeros(frames, np.bool_)
        if kernel not in ("auto", "rows", "lanes", "qc"):
            raise ValueError(f"kernel must be 'auto', 'qc', 'rows' or 'lanes', got {kernel!r}")
        stateful = states is not None or stall_iterations > 0
        if stateful and kernel in ("lanes", "qc"):
            raise ValueError("decoder states and early stop need the 'rows' kernel")
        lifted = self.mother.lifted
        if kernel == "qc" and lifted is None:
            raise ValueError("the 'qc' kernel needs a lifted (quasi-cyclic) mother code")
        if kernel == "qc" or (kernel == "auto" and lifted is not None and not stateful):
            assert lifted is not None
            qc_decoder.decode_frames_qc(lifted.base.row_ptr, lifted.base.col_idx,
                                        lifted.shifts, priors, syndromes,
                                        int(max_iterations), out, iters, conv)
            return self._results(out, iters, conv)
        if stateful or kernel == "rows" or (kernel == "auto" and frames < ROW_KERNEL_BELOW_FRAMES):
            row_decoder.decode(self.mother, priors, syndromes, max_iterations, out, iters, conv,
                               states, stall_iterations)
            return self._results(out, iters, conv)
        lanes = int(max(1, min(lanes, 1 << (frames - 1).bit_length())))
        decoder.decode_frames(
            self.mother.graph.row_ptr,
            self.mother.graph.col_idx,
            priors,
            syndromes,
            int(max_iterations),
            lanes,
            out,
            iters,
            conv,
            HANDOFF_ITERATIONS,
        )
        handed = np.flatnonzero(iters < 0)
        if handed.size:
            h_out = np.zeros((handed.size, self.mother.n), np.uint8)
            h_iters = np.zeros(handed.size, np.int64)
            h_conv = np.zeros(handed.size, np.bool_)
            row_decoder.decode(self.mother, priors[handed], syndromes[handed],
                               max_iterations, h_out, h_iters, h_conv)
            out[handed], iters[handed], conv[handed] = h_out, h_iters, h_conv
        return self._results(out, iters, conv)

    def _results(self, out: np.ndarray, iters: np.ndarray, conv: np.ndarray) -> list[DecodeResult]:
        key = out[:, self.key_positions]
        return [
            DecodeResult(bits=key[i], converged=bool(conv[i]), iterations=int(iters[i]))
            for i in range(out.shape[0])
        ]

    def channel_llrs(self, noisy_bits: np.ndarray, qber: float | np.ndarray) -> np.ndarray:
        """Prior LLRs ``[frames, n]`` (float32): key bits ±ln((1−q)/q), punctured 0,
        shortened +LLR_MAX (known zeros); ``qber`` scalar or one per frame."""
        frames = noisy_bits.shape[0]
        if np.ndim(qber) == 0:
            llr = np.float32(math.log((1.0 - float(qber)) / float(qber)))
        else:
            # The scalar formula per frame, so a frame gets the same priors either way.
            llr = np.array([math.log((1.0 - float(x)) / float(x)) for x in np.ravel(qber)],
                           dtype=np.float32)[:, None]
        llrs = np.broadcast_to(np.asarray(llr, np.float32).reshape(-1), (frames,))
        priors = np.empty((frames, self.mother.n), np.float32)
        _fill_priors(np.ascontiguousarray(noisy_bits, np.uint8), np.ascontiguousarray(llrs),
                     self.key_positions, self.shortened_positions, self.punctured_positions,
                     decoder.LLR_MAX, priors)
        return priors


@njit(cache=True)
def _fill_priors(noisy_bits: np.ndarray, llrs: np.ndarray, key_positions: np.ndarray,
                 shortened: np.ndarray, punctured: np.ndarray, llr_max: np.float32,
                 priors: np.ndarray) -> None:
    """priors[f, key_positions[i]] = ±llrs[f] (+ for bit 0), +llr_max at the shortened
    positions, 0 at the punctured ones (what numpy fancy indexing did, ≈ 10× faster)."""
    for f in range(priors.shape[0]):
        row = priors[f]
        llr = llrs[f]
        for i in range(key_positions.size):
            row[key_positions[i]] = -llr if noisy_bits[f, i] else llr
        for i in range(shortened.size):
            row[shortened[i]] = llr_max
        for i in range(punctured.size):
            row[punctured[i]] = 0.0


def _from_description(d: dict[str, object]) -> RateAdaptedCode:
    source = "ldpc code description"
    if d.get("scheme") != SCHEME:
        raise InputError(
            "unknown code scheme", source=source, field="scheme", value=d.get("scheme")
        )
    try:
        n = int(d["mother_n"])  # type: ignore[call-overload]
        m = int(d["mother_m"])  # type: ignore[call-overload]
        frame_bits = int(d["frame_bits"])  # type: ignore[call-overload]
        punctured = int(d["punctured_bits"])  # type: ignore[call-overload]
        shortened = int(d["shortened_bits"])  # type: ignore[call-overload]
        seed = int(d["seed"])  # type: ignore[call-overload]
        fractions = {int(k): float(v) for k, v in d["degree_distribution"]}  # type: ignore[union-attr]
        qber_design = float(d.get("qber_design", 0.0))  # type: ignore[arg-type]
        index = int(d.get("family_index", -1))  # type: ignore[call-overload]
        lift = int(d.get("lift", 1))  # type: ignore[call-overload]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"malformed code description ({exc})", source=source) from exc
    if not (0 < m < n and 0 < frame_bits <= n and punctured + shortened == n - frame_bits):
        raise InputError("inconsistent code sizes", source=source, value=(n, m, frame_bits))
    if punctured < 0 or shortened < 0:
        raise InputError(
            "negative puncturing/shortening", source=source, value=(punctured, shortened)
        )
    if lift != 1 and not can_lift(n, m, lift):
        raise InputError("code sizes cannot be lifted", source=source, field="lift", value=lift)
    mother = LdpcCode.build(n, m, fractions, seed, lift)
    code = RateAdaptedCode(mother, frame_bits, punctured, qber_design, index)
    if "code_id" in d and d["code_id"] != code.code_id:
        raise InputError("code_id does not match the rebuilt code", source=source, field="code_id")
    return code
