"""LDPC reconciliation benchmark: efficiency, frame error rate and decoder throughput.

Default mode ("protocol"): for each true QBER, Alice's random 100-kbit frames go through a
BSC; per "pass" of ``--pass-frames`` frames the satellite estimates the QBER from a
``--sample-bits`` sample (binomial, as the protocol's ~20 000-bit window), picks a code with
:meth:`CodeFamily.select` and Bob decodes the pass in one ``decode_many`` call. Reported: f
against the TRUE QBER (mean over frames), frame error rate (not converged or wrong), mean
iterations, single-thread throughput (frame bits decoded per second of decoder wall time) and
the number of distinct mother codes used.

``--known f1,f2,...`` mode (calibration of ``f_design``): the QBER is known exactly and the
leak is set to f · F · H(QBER) for each listed f; reported is the FER per f.

``--blind`` mode: blind reconciliation (:mod:`satqkd.distill.ldpc.blind`): per QBER, QBER
known and QBER from a ``--sample-bits`` sample (one estimate per ``--pass-frames`` frames):
mean f = mean leak / (F · H(QBER)) with leak = m − p + revealed bits (the verification tag
excluded, as in the one-way figures), FER (not decoded after every reveal), mean reveal
rounds, and decoder throughput on one core (frame bits per second of decoder wall time over
all attempts, failed ones included). ``--blind-extra/-start/-step/-top/-top-sigmas/-ratio``
override :class:`.BlindFamily` fields for parameter studies; the QBER estimates and frames
do not depend on them (common random numbers), so settings compare on the same frames.
``--blind --guided``: the same rows for guided reconciliation
(:mod:`satqkd.distill.ldpc.guided`: the ground names its least reliable key bits, the
satellite discloses them; leak = m − p + disclosed bits); ``--blind-start/-step`` override
:class:`.GuidedFamily` fields.

``--throughput`` mode: decoder speed at the design points (QBER known, leak from
``f_design``), single thread, process CPU time: Mbit/s of key frames over ``--frames`` frames
in one ``decode_many`` call, and the kernel's marginal cost per edge and iteration (best of
8 runs of 12 iterations less best of 8 of 2, so frame loading cancels). ``--kernel qc``
(default; the shipped 100-kbit mother codes are quasi-cyclic): one frame after another, as
the ground station decodes packets as they arrive, 16 checks of a circulant per vector
(:mod:`satqkd.distill.ldpc.qc_decoder`). ``--kernel lanes``: 16 frames side by side (cost
per edge, frame and iteration). ``--kernel rows``: the check-parallel single-frame kernel
with gathers. ``--unlifted`` uses the same family without the lift (the codes before
quasi-cyclic lifting), for comparison. Run with ``NUMBA_NUM_THREADS=1``.

Every mode first prints the *one-way floor*: the least f that any one-way scheme (any code,
any decoder) can have on frames of this length at FER 1 % and 0.1 %
(:func:`satqkd.distill.ldpc.limits.min_efficiency`, an exact converse), the yardstick for
the measured f (blind reconciliation is interactive and not bound by it).

The reference is PyPI ``ldpc`` v2 ``BpDecoder`` (product_sum, serial schedule, same max
iterations) decoding the error pattern from s_A ⊕ H·y on the same codes; it is much slower,
so it runs on ``--reference-frames`` only.

Default run (32 frames per QBER at 0.5–5 %, 2 reference frames at 1, 2, 3 %) takes minutes
on this 2-core machine; ``--frames 100 --pass-frames 10`` gives the ≥100-frame figures.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import numpy as np

from satqkd.distill.ldpc import CodeFamily, RateAdaptedCode, binary_entropy
from satqkd.distill.ldpc.family import DEFAULT_SIGMAS

FRAME_BITS = 100_000
SAMPLE_BITS = 20_000


def _frames(rng: np.random.Generator, count: int, qber: float) -> tuple[np.ndarray, np.ndarray]:
    alice = rng.integers(0, 2, size=(count, FRAME_BITS), dtype=np.uint8)
    return alice, alice ^ (rng.random((count, FRAME_BITS)) < qber).astype(np.uint8)


def _sampled_qber(rng: np.random.Generator, sample_bits: int, qber: float) -> float:
    """The satellite's QBER estimate from a binomial sample of ``sample_bits`` sifted bits
    (errors + 1)/(N + 2), as the protocol computes it."""
    return (rng.binomial(sample_bits, qber) + 1.0) / (sample_bits + 2.0)


def _decode_frames(
    code: RateAdaptedCode, alice: np.ndarray, bob: np.ndarray, syndromes: np.ndarray,
    qber_decoder: float, max_iter: int,
) -> tuple[int, list[int], float]:
    """Failures, iterations and decoder seconds of our decoder on the given frames."""
    t0 = time.perf_counter()
    results = code.decode_many(syndromes, bob, qber_decoder, max_iter)
    elapsed = time.perf_counter() - t0
    failures = sum(
        not (r.converged and np.array_equal(r.bits, sent))
        for sent, r in zip(alice, results, strict=True)
    )
    return failures, [r.iterations for r in results], elapsed


def _decode(
    code: RateAdaptedCode, rng: np.random.Generator, count: int, qber: float,
    qber_decoder: float, max_iter: int,
) -> tuple[int, list[int], float]:
    """Failures, iterations and decoder seconds for ``count`` frames through a BSC(qber)."""
    alice, bob = _frames(rng, count, qber)
    syndromes = code.syndromes(alice, rng)
    return _decode_frames(code, alice, bob, syndromes, qber_decoder, max_iter)


def run_ours(
    qber: float, frames: int, pass_frames: int, sample_bits: int, max_iter: int, seed: int,
    sigmas: float = DEFAULT_SIGMAS,
) -> dict:
    """Efficiency / FER / throughput with the protocol's sampled-QBER code choice."""
    rng = np.random.default_rng(seed)
    family = CodeFamily.default()
    failures = 0
    leaks: list[int] = []
    iterations: list[int] = []
    mothers: set[int] = set()
    decode_s = select_s = 0.0
    done = 0
    while done < frames:
        count = min(pass_frames, frames - done)
        estimate = _sampled_qber(rng, sample_bits, qber)
        t0 = time.perf_counter()
        code = family.select(
            estimate, FRAME_BITS, sample_bits=sample_bits, confidence_sigmas=sigmas
        )
        select_s += time.perf_counter() - t0
        fails, iters, seconds = _decode(code, rng, count, qber, estimate, max_iter)
        failures += fails
        iterations += iters
        decode_s += seconds
        leaks += [code.leak_bits] * count
        mothers.add(code.family_index)
        done += count
    return {
        "f": float(np.mean(leaks)) / (FRAME_BITS * binary_entropy(qber)),
        "fer": failures / frames,
        "iterations": float(np.mean(iterations)),
        "mbit_s": frames * FRAME_BITS / decode_s / 1e6,
        "mothers": len(mothers),
        "select_s": select_s,
    }


def run_known(qber: float, f: float, frames: int, max_iter: int, seed: int) -> dict:
    """FER when the leak is exactly f · F · H(qber) and the decoder knows the QBER."""
    family = CodeFamily(f_design=((0.0, f), (0.5, f)))
    code = family.select(qber, FRAME_BITS, sample_bits=None)
    failures, iters, _ = _decode(code, np.random.default_rng(seed), frames, qber, qber, max_iter)
    return {"f": code.efficiency(qber), "fer": failures / frames,
            "iterations": float(np.mean(iters)), "punctured": code.punctured}


def run_blind(qber: float, frames: int, pass_frames: int, sample_bits: int | None,
              max_iter: int, seed: int, family_options: dict | None = None,
              guided: bool = False, **options: object) -> dict:
    """Blind reconciliation with a code chosen per pass from the known or sampled QBER;
    ``family_options`` override :class:`.BlindFamily` fields (extra_fraction, start_factor,
    step_fraction, top_factor), ``options`` go to :func:`reconcile_blind` (warm,
    continue_iterations, stall_iterations). The QBER estimates and frames come from their
    own generator, so every family setting sees the same frames (common random numbers).
    ``guided``: guided reveals (:mod:`satqkd.distill.ldpc.guided`, :class:`.GuidedFamily`
    fields) instead of punctured ones."""
    from dataclasses import replace

    from satqkd.distill.ldpc.blind import BlindFamily, reconcile_blind
    from satqkd.distill.ldpc.guided import GuidedFamily, reconcile_guided

    rng = np.random.default_rng(seed)
    code_rng = np.random.default_rng(seed + 1_000_000)  # punctured values: varies with p
    family = replace(GuidedFamily.default() if guided else BlindFamily.default(),
                     **(family_options or {}))
    leaks: list[int] = []
    ok: list[bool] = []
    rounds: list[int] = []
    iterations: list[int] = []
    decode_s = 0.0
    done = 0
    while done < frames:
        count = min(pass_frames, frames - done)
        estimate = (qber if sample_bits is None
                    else _sampled_qber(rng, sample_bits, qber))
        code = family.select(estimate, FRAME_BITS, sample_bits=sample_bits)
        alice, bob = _frames(rng, count, qber)
        if guided:
            out = reconcile_guided(code, alice, bob, estimate, code_rng, max_iterations=max_iter,
                                   **options)
        else:
            out = reconcile_blind(code, alice, bob, estimate, code_rng, max_iter, **options)
        leaks += out.leak_bits.tolist()
        ok += out.ok.tolist()
        rounds += out.reveal_rounds.tolist()
        iterations += out.iterations.tolist()
        decode_s += out.decode_s
        done += count
    return {"f": float(np.mean(leaks)) / (FRAME_BITS * binary_entropy(qber)),
            "fer": 1.0 - float(np.mean(ok)), "rounds": float(np.mean(rounds)),
            "max_rounds": int(max(rounds)), "iterations": float(np.mean(iterations)),
            "mbit_s": frames * FRAME_BITS / decode_s / 1e6}


def run_reference(code: RateAdaptedCode, qber: float, frames: int, max_iter: int) -> dict:
    """PyPI ldpc BpDecoder (product_sum) on the same code, syndrome decoding of e."""
    import scipy.sparse as sp
    from ldpc import BpDecoder

    graph = code.mother.graph
    h = sp.csr_matrix(
        (np.ones(graph.edges, np.uint8), graph.col_idx, graph.row_ptr), shape=(graph.m, graph.n)
    )
    probs = np.full(graph.n, qber)
    probs[code.punctured_positions] = 0.5
    probs[code.shortened_positions] = 1e-9
    decoder = BpDecoder(
        h, channel_probs=probs, max_iter=max_iter, bp_method="product_sum", schedule="serial"
    )
    rng = np.random.default_rng(99)
    alice, bob = _frames(rng, frames, qber)
    syndromes = code.syndromes(alice, rng)
    ours_failures, ours_iterations, ours_s = _decode_frames(
        code, alice, bob, syndromes, qber, max_iter
    )
    failures = 0
    iterations = []
    t0 = time.perf_counter()
    for i in range(frames):
        word = np.zeros(graph.n, np.uint8)
        word[code.key_positions] = bob[i]
        error = decoder.decode((syndromes[i] ^ (h @ word) % 2).astype(np.uint8))
        ok = decoder.converge and np.array_equal((word ^ error)[code.key_positions], alice[i])
        failures += not ok
        iterations.append(decoder.iter)
    elapsed = time.perf_counter() - t0
    return {
        "fer": failures / frames,
        "iterations": float(np.mean(iterations)),
        "mbit_s": frames * FRAME_BITS / elapsed / 1e6,
        "fer_ours": ours_failures / frames,
        "iterations_ours": float(np.mean(ours_iterations)),
        "mbit_s_ours": frames * FRAME_BITS / ours_s / 1e6,
    }


def run_throughput(
    qber: float, frames: int, max_iter: int, seed: int, kernel: str = "qc", lift: int = 16
) -> dict:
    """Single-thread decoder CPU time at the design point of ``qber`` (``kernel``: "qc",
    one frame at a time on the lifted code; "lanes", 16 frames side by side; "rows", one
    frame at a time, checks gathered)."""
    from satqkd.distill.ldpc import decoder, qc_decoder, row_decoder

    code = CodeFamily(lift=lift).select(qber, FRAME_BITS, sample_bits=None)
    rng = np.random.default_rng(seed)
    alice, bob = _frames(rng, frames, qber)
    syndromes = code.syndromes(alice, rng)
    if kernel == "rows":
        row_decoder.row_layers(code.mother)  # built once per code, like the graph: not timed
    t0 = time.process_time()
    results = code.decode_many(syndromes, bob, qber, max_iter, kernel=kernel)
    cpu_s = time.process_time() - t0
    failures = sum(
        not (r.converged and np.array_equal(r.bits, sent))
        for sent, r in zip(alice, results, strict=True)
    )
    graph = code.mother.graph
    lanes = 16 if kernel == "lanes" else 1
    priors = code.channel_llrs(bob[:lanes], qber)
    out = np.zeros((lanes, graph.n), np.uint8)
    iters = np.zeros(lanes, np.int64)
    conv = np.zeros(lanes, np.bool_)
    # Syndromes of other frames: the lanes do not converge, so all run ``sweeps`` times.
    wrong = syndromes[::-1][:lanes].copy()

    def timed(sweeps: int) -> float:
        best = math.inf
        for _ in range(8):
            t0 = time.process_time()
            if kernel == "qc":
                lifted = code.mother.lifted
                qc_decoder.decode_frames_qc(lifted.base.row_ptr, lifted.base.col_idx,
                                            lifted.shifts, priors, wrong, sweeps, out, iters,
                                            conv)
            elif kernel == "rows":
                row_decoder.decode(code.mother, priors, wrong, sweeps, out, iters, conv)
            else:
                decoder.decode_frames(graph.row_ptr, graph.col_idx, priors, wrong, sweeps,
                                      lanes, out, iters, conv)
            best = min(best, time.process_time() - t0)
        return best

    # Marginal cost of an iteration: 12 sweeps less 2 (frame loading cancels out).
    sweep_s = (timed(12) - timed(2)) / 10
    iterations = [r.iterations for r in results]
    return {"f": code.efficiency(qber), "fer": failures / frames,
            "iterations": float(np.mean(iterations)), "max_iterations": int(max(iterations)),
            "mbit_s": frames * FRAME_BITS / cpu_s / 1e6,
            "ns_edge": sweep_s / (lanes * graph.edges) * 1e9, "edges": graph.edges}


def _print_floor(qbers: list[float], frame_bits: int) -> None:
    """The least f any one-way scheme can have on these frames at FER 1 % and 0.1 %
    (:mod:`satqkd.distill.ldpc.limits`, exact converse), the yardstick for the f below."""
    from satqkd.distill.ldpc.limits import min_efficiency

    floors = " / ".join(f"{min_efficiency(q, frame_bits, 0.01):.3f}" for q in qbers)
    strict = " / ".join(f"{min_efficiency(q, frame_bits, 0.001):.3f}" for q in qbers)
    print(f"one-way floor, any code, {frame_bits}-bit frames, QBER "
          f"{' / '.join(f'{q:g}' for q in qbers)}: f >= {floors} at FER 1 %, {strict} at 0.1 %")


def _print_design() -> None:
    """Asymptotic thresholds of the shipped distributions: Monte Carlo DE (two seeds) and
    discretised DE (deterministic, Δ = 0.1)."""
    from satqkd.distill.ldpc import density_evolution, discretised_de
    from satqkd.distill.ldpc.distributions import EDGE_DISTRIBUTIONS, node_fractions

    grid = discretised_de.Grid(0.1, 25.0)
    print(f"{'rate':>6} {'f* seed1':>9} {'f* seed2':>9} {'f* discr.':>10}   "
          "(Monte Carlo DE with 20 000 samples; discretised DE)")
    for rate in sorted(EDGE_DISTRIBUTIONS, reverse=True):
        fractions = node_fractions(rate)
        f1, f2 = (density_evolution.threshold_efficiency(fractions, rate, 20_000, seed=s)
                  for s in (1, 2))
        fd = discretised_de.threshold_efficiency(fractions, rate, grid, steps=8)
        print(f"{rate:6.2f} {f1:9.3f} {f2:9.3f} {fd:10.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=32, help="frames per QBER")
    parser.add_argument("--pass-frames", type=int, default=8, help="frames per QBER estimate")
    parser.add_argument("--sample-bits", type=int, default=SAMPLE_BITS, help="QBER sample")
    parser.add_argument("--reference-frames", type=int, default=2, help="ldpc BpDecoder frames")
    parser.add_argument("--reference-qbers", default="0.01,0.02,0.03",
                        help="comma list of QBERs for the reference")
    parser.add_argument("--reference-f", type=float, default=0.0,
                        help="reference at the known QBER with leak f·F·H (0: sampled QBER)")
    parser.add_argument("--max-iter", type=int, default=200)
    parser.add_argument("--sigmas", type=float, default=DEFAULT_SIGMAS,
                        help="z of the QBER upper bound (default: the library's)")
    parser.add_argument("--design", action="store_true",
                        help="print density-evolution thresholds of the shipped distributions")
    parser.add_argument("--qbers", default="0.005,0.01,0.02,0.03,0.04,0.05")
    parser.add_argument("--known", default="", help="comma list of f: known-QBER FER sweep")
    parser.add_argument("--frame-bits", type=int, default=FRAME_BITS,
                        help="key bits per frame (e.g. 1000000 for the long-frame check)")
    parser.add_argument("--blind", action="store_true",
                        help="blind reconciliation: f, FER, reveal rounds, throughput")
    parser.add_argument("--guided", action="store_true",
                        help="with --blind: guided reveals (the ground's least reliable key "
                             "bits) instead of punctured bits")
    parser.add_argument("--blind-max-iter", type=int, default=0,
                        help="iteration cap per blind attempt (0: the library default)")
    parser.add_argument("--blind-cold", action="store_true",
                        help="restart every blind attempt from zero (no warm restart)")
    parser.add_argument("--blind-continue-iter", type=int, default=-1,
                        help="iteration cap of a warm continued attempt (-1: library default)")
    parser.add_argument("--blind-stall", type=int, default=-1,
                        help="early stop after this many iterations without a new minimum of "
                             "unsatisfied checks (0: off, -1: library default)")
    parser.add_argument("--blind-extra", type=float, default=0.0,
                        help="BlindFamily.extra_fraction (0: the library default)")
    parser.add_argument("--blind-start", type=float, default=0.0,
                        help="BlindFamily.start_factor, with --guided GuidedFamily's (0: the "
                             "library default)")
    parser.add_argument("--blind-step", type=float, default=0.0,
                        help="BlindFamily.step_fraction, with --guided GuidedFamily's (0: the "
                             "library default)")
    parser.add_argument("--blind-top", type=float, default=0.0,
                        help="BlindFamily.top_factor (0: the library default)")
    parser.add_argument("--blind-ratio", type=float, default=0.0,
                        help="BlindFamily.ratio of the mother-code grid, count scaled to cover "
                             "the same range (0: the library default)")
    parser.add_argument("--blind-top-sigmas", type=float, default=0.0,
                        help="BlindFamily.top_sigmas (0: the library default)")
    parser.add_argument("--blind-modes", default="known,sampled",
                        help="--blind: comma list of rows per QBER, known and/or sampled")
    parser.add_argument("--throughput", action="store_true",
                        help="single-thread decoder CPU time at the design points")
    parser.add_argument("--kernel", choices=("qc", "lanes", "rows"), default="qc",
                        help="--throughput: one frame, circulant checks in lanes (qc); frames "
                             "in SIMD lanes; one frame, gathered checks in lanes (rows)")
    parser.add_argument("--unlifted", action="store_true",
                        help="--throughput: the family's codes without quasi-cyclic lifting")
    args = parser.parse_args()
    globals()["FRAME_BITS"] = args.frame_bits

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"frames of {FRAME_BITS} bits, QBER sample {args.sample_bits} bits, "
          f"max {args.max_iter} iterations")
    # Compile (numba) before timing.
    warm = CodeFamily.default().select(0.03, 2000, sample_bits=None)
    warm_alice, warm_bob = _frames(np.random.default_rng(0), 1, 0.01)
    warm_qc = CodeFamily.default().select(0.03, 100_000, sample_bits=None)
    warm_qc.decode_many(warm_qc.syndromes(np.zeros((1, 100_000), np.uint8)),
                        np.zeros((1, 100_000), np.uint8), 0.03, 2, kernel="qc")
    for kernel in ("lanes", "rows"):
        warm.decode_many(warm.syndromes(warm_alice[:, :2000]), warm_bob[:, :2000], 0.01,
                         kernel=kernel)
    qbers = [float(q) for q in args.qbers.split(",")]

    if args.design:
        _print_design()
        return

    if args.blind:
        from satqkd.distill.ldpc import blind

        cap = args.blind_max_iter or blind.BLIND_MAX_ITERATIONS
        options = {
            "warm": not args.blind_cold,
            "continue_iterations": (args.blind_continue_iter if args.blind_continue_iter >= 0
                                    else blind.BLIND_CONTINUE_ITERATIONS),
            "stall_iterations": (args.blind_stall if args.blind_stall >= 0
                                 else blind.BLIND_STALL_ITERATIONS)}
        family_options = {name: value for name, value in (
            ("extra_fraction", args.blind_extra), ("start_factor", args.blind_start),
            ("step_fraction", args.blind_step), ("top_factor", args.blind_top),
            ("ratio", args.blind_ratio), ("top_sigmas", args.blind_top_sigmas)) if value}
        if args.guided:
            del options["warm"]  # guided attempts always continue the previous one
            family_options = {name: value for name, value in (
                ("start_factor", args.blind_start), ("step_fraction", args.blind_step)) if value}
        if args.blind_ratio:
            default = blind.BlindFamily.default()
            span = math.log(default.ratio) * (default.count - 1)
            family_options["count"] = math.ceil(span / math.log(args.blind_ratio) - 1e-9) + 1
        print(f"{'QBER':>6} {'QBER':>8} {'f':>6} {'FER':>7} {'rounds':>6} {'max':>4} "
              f"{'iter':>6} {'Mbit/s':>7}   ({'guided' if args.guided else 'blind'}, "
              f"{args.frames} frames, {args.pass_frames} "
              f"per estimate, {cap} iterations per attempt, {options}, family "
              f"{family_options or 'default'}; f without the verification tag; iter = "
              f"iterations per frame over all attempts)")
        modes = [(label, None if label == "known" else args.sample_bits)
                 for label in args.blind_modes.split(",")]
        for i, qber in enumerate(qbers):
            for label, sample in modes:
                r = run_blind(qber, args.frames, args.pass_frames, sample, cap, seed=4000 + i,
                              family_options=family_options, guided=args.guided, **options)
                print(f"{qber:6.3f} {label:>8} {r['f']:6.4f} {r['fer']:7.3f} "
                      f"{r['rounds']:6.2f} {r['max_rounds']:4d} {r['iterations']:6.1f} "
                      f"{r['mbit_s']:7.3f}", flush=True)
        return

    _print_floor(qbers, args.frame_bits)
    if args.throughput:
        print(f"{'QBER':>6} {'f':>6} {'FER':>7} {'iter':>6} {'max':>4} {'Mbit/s':>7} "
              f"{'ns/edge/frame/iter':>19}   (QBER known, {args.frames} frames, CPU time, "
              f"{args.kernel} kernel, {'unlifted' if args.unlifted else 'lifted'} codes)")
        for i, qber in enumerate(qbers):
            r = run_throughput(qber, args.frames, args.max_iter, seed=3000 + i,
                               kernel=args.kernel, lift=1 if args.unlifted else 16)
            print(f"{qber:6.3f} {r['f']:6.3f} {r['fer']:7.3f} {r['iterations']:6.1f} "
                  f"{r['max_iterations']:4d} {r['mbit_s']:7.2f} {r['ns_edge']:19.2f}", flush=True)
        return

    if args.known:
        print(f"{'QBER':>6} {'f':>6} {'FER':>7} {'iter':>6} {'punct':>6}   (known QBER, "
              f"{args.frames} frames)")
        for i, qber in enumerate(qbers):
            for f in (float(x) for x in args.known.split(",")):
                r = run_known(qber, f, args.frames, args.max_iter, seed=2000 + i)
                print(f"{qber:6.3f} {r['f']:6.3f} {r['fer']:7.3f} {r['iterations']:6.1f} "
                      f"{r['punctured']:6d}", flush=True)
        return

    print(f"{'QBER':>6} {'f(true)':>8} {'FER':>7} {'iter':>6} {'Mbit/s':>7} {'codes':>6} "
          f"{'build s':>8}   (satqkd, {args.frames} frames)")
    for i, qber in enumerate(qbers if args.frames > 0 else []):
        r = run_ours(qber, args.frames, args.pass_frames, args.sample_bits, args.max_iter,
                     seed=1000 + i, sigmas=args.sigmas)
        print(f"{qber:6.3f} {r['f']:8.3f} {r['fer']:7.3f} {r['iterations']:6.1f} "
              f"{r['mbit_s']:7.2f} {r['mothers']:6d} {r['select_s']:8.1f}", flush=True)
    if args.reference_frames > 0:
        known = f"known QBER, f = {args.reference_f}" if args.reference_f else "sampled QBER"
        print(f"{'QBER':>6} {'f(true)':>8} {'FER ref':>8} {'iter':>6} {'Mbit/s':>7} "
              f"{'FER ours':>9} {'iter':>6} {'Mbit/s':>7}   (ldpc BpDecoder product_sum vs "
              f"ours, same {args.reference_frames} frames and codes, {known})")
        for qber in (float(q) for q in args.reference_qbers.split(",")):
            if args.reference_f:
                family = CodeFamily(f_design=((0.0, args.reference_f), (0.5, args.reference_f)))
                code = family.select(qber, FRAME_BITS, sample_bits=None)
            else:
                code = CodeFamily.default().select(qber, FRAME_BITS, sample_bits=args.sample_bits)
            r = run_reference(code, qber, args.reference_frames, args.max_iter)
            print(f"{qber:6.3f} {code.efficiency(qber):8.3f} {r['fer']:8.3f} "
                  f"{r['iterations']:6.1f} {r['mbit_s']:7.3f} {r['fer_ours']:9.3f} "
                  f"{r['iterations_ours']:6.1f} {r['mbit_s_ours']:7.3f}", flush=True)

if __name__ == "__main__":
    main()
