"""Numba kernels: syndrome computation and layered sum-product decoding.

The decoder is the exact sum-product algorithm (no min-sum approximation, which loses
badly on high-rate codes over the BSC) in the tanh domain:

    R_ce = 2 atanh( s_c · Π_{e'≠e} tanh(Q_ce'/2) ),

where ``s_c = ±1`` carries the target syndrome bit. It runs a layered (row-by-row) schedule,
which converges in about half the iterations of flooding. When a lane's frame meets its
syndrome (early termination) or runs out of iterations, the next waiting frame is loaded into
it, so lanes do not idle while frames remain.

**Check update without division by the edge's own factor** (:func:`_check_update`). With
x_j = e^−|Q_j|, tanh(|Q_j|/2) = a_j/b_j for a_j = 1 − x_j and b_j = 1 + x_j; with the full
products A = Π a_j and B = Π b_j of the check,

    |R_i| = 2 atanh((A/a_i)/(B/b_i)) = ln((B a_i + A b_i) / (B a_i − A b_i)).

Per edge that is one e^−x and one ln, both division-free polynomials on whole vectors
(:func:`.vector_math.vexp_neg`, :func:`.vector_math.vln_scaled`), and one division (a
reciprocal estimate plus a Newton step), where the former kernel needed four (tanh, the
product over the edge's own factor, and two inside 2 atanh); it is written once, in
:mod:`.check_math`, for this kernel and the row kernel. Floors keep it finite:
a_j ≥ 2⁻²⁴ (Q = 0 for punctured bits), A ≥ 1e-30 (no denormals; once A is that small every
A/a_i is below 2⁻⁷⁶ and its message 0 either way) and B a_i − A b_i ≥ 2⁻²⁵ (B a_i + A b_i),
which caps |R| at 25 ln 2 ≈ 17.3, where float32 tanh(Q/2) rounds to 1 anyway. Against a
float64 evaluation of the formula the stored messages agree to 2⁻¹¹ (their rounding) plus
≤ 1e-3·|R| from float32 cancellation in 1 − Π tanh when every input is reliable (the former
kernel: up to 2e-3·|R|; ``tests/distill/test_ldpc_decoder.py``). Posteriors L are not clamped
(clamping them in a layered schedule turns L − R into a weak extrinsic and can make the
decoder collapse). (The float64 comparison is of the check update itself, on float32
posteriors; the kernel then stores them in half precision, below.)

**Frames in SIMD lanes.** ``WIDTH`` = 16 frames are decoded at once, one per lane: every
array is laid out ``[row, lane]`` with one vector per row, and the check update is written
with the explicit vectors of :mod:`.simd` (one zmm register per value on AVX-512, two ymm on
AVX2). Numba's loop vectoriser, which the former kernel relied on, emitted per-edge alias
checks between the arrays, negative-index handling and a scalar fallback around each 16-lane
loop, and preferred 256-bit vectors on this Xeon; that overhead cost more than the
arithmetic. The check messages are *stored* as int16 in steps of 2⁻¹⁰ (computed in float32,
rounded once when stored, error ≤ 4.9e-4), which halves the message stream. The posteriors
are *stored* in IEEE half precision (uint16 bits, widened to float32 on every load and rounded
to nearest on every store: ``vcvtph2ps`` / ``vcvtps2ph``): 32 instead of 64 bytes per
randomly gathered row, so 3.2 instead of 6.5 MB at 100 kbit. Half precision keeps 11
significant bits at any magnitude (no clamping, which would break the layered L − R; its
largest value 65504 is far beyond any posterior), i.e. steps of 2⁻¹⁰ … 2⁻⁸ where |L| < 8
and the decision is made. On 100 frames each near the threshold (QBER 1 / 2 / 3 % at f =
1.20 / 1.14 / 1.11) it fails the same frames as float32 posteriors (2, 1, 1) with the same
mean iterations (20.11 / 24.00 / 29.80 against 20.12 / 23.96 / 29.79), at 0.85–0.93 of
their time per edge.

**Measured** (Intel Xeon with AVX-512, one core, process CPU time, min of several runs on a
shared 2-core machine, so ±10 %): a check update costs ≈ 0.7 ns per edge, frame and iteration
when the code fits in cache (1–5-kbit frames; the former kernel 2.3–2.9 ns; ≈ 1.0 ns when
compiled for AVX2 only) and 1.1–1.3 ns on the 100-kbit design codes (former kernel
3.2–3.7 ns), where it is memory-bound: each edge gathers one posterior row at random
(64 bytes from a 6.5 MB array as float32; 32 bytes from 3.2 MB since they are half precision)
and streams 32 bytes of messages from a 20 MB one. Hence the posterior
rows *and* the message stretch of the check two rows ahead are prefetched. 8 lanes (ymm,
3.2 MB of posteriors) and 32 lanes (two zmm per row, 13 MB) were both slower at 100 kbit
(≈ 1.5 and 2.2 ns); huge pages, non-temporal message stores and other prefetch distances made
no measurable difference. Decoding 100 frames at the design points (QBER 0.5 / 1 / 2 / 3 /
4 / 5 %, float32 posteriors, before slow frames were handed off): 11.9 / 11.2 / 5.1 / 7.8 /
6.8 / 6.0 Mbit/s, against 4.5 / 3.9 / 1.5 / 2.4 / 2.2 /
1.8 for the former kernel on the same frames (the 2 % point has one frame needing 106
iterations, which runs almost alone at the end).

Equivalence, on the same 100 frames near the threshold (QBER 1 / 2 / 3 % at f = 1.20 / 1.14 /
1.11): with the former stopping rule (parity of the posteriors read) the kernel failed the
same frames as the former kernel (3, 2, 0) with the same mean iterations (22.8, 26.5, 28.3;
99–100 % of the frames took exactly as many); with the parity of the posteriors written it
fails the same frames with 0.9–1.0 fewer iterations (21.9, 25.6, 27.3).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from satqkd.distill.ldpc.check_math import (
    ONE,
    R_STEP,
    SIGN,
    edge_in,
    edge_out,
    extrinsic,
    posterior,
)
from satqkd.distill.ldpc.simd import WIDTH, bits, half_bits, load, splat, store
from satqkd.distill.ldpc.vector_math import prefetch_row

#: Prior LLR of shortened (known-zero) positions.
LLR_MAX = np.float32(30.0)
#: Most frames decoded at once: one per SIMD lane.
MAX_LANES = WIDTH
#: The posterior rows of the check this many rows ahead are prefetched, and its stretch of the
#: message stream: the rows are gathered at random from a multi-MB array, and one check update
#: has too little independent work for the CPU to overlap the cache misses on its own.
_AHEAD = 2


@njit(cache=True)
def syndromes(row_ptr: np.ndarray, col_idx: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """H·x mod 2 for each row of ``bits`` (shape ``[frames, n]``, uint8) → ``[frames, m]``."""
    frames = bits.shape[0]
    m = row_ptr.size - 1
    out = np.zeros((frames, m), np.uint8)
    for f in range(frames):
        x = bits[f]
        for c in range(m):
            acc = np.uint8(0)
            for e in range(row_ptr[c], row_ptr[c + 1]):
                acc ^= x[col_idx[e]]
            out[f, c] = acc & np.uint8(1)
    return out


@njit(cache=True)
def _load_lane(
    lane: int,
    frame: int,
    priors: np.ndarray,
    targets: np.ndarray,
    L: np.ndarray,
    rfac: np.ndarray,
    tsign: np.ndarray,
) -> None:
    """Put ``frame`` into ``lane``. Its old check messages are not cleared (that would touch
    every cache line of R, about a third of an iteration's time): ``rfac[0, lane] = 0`` makes
    the next sweep read them as zero, and that sweep overwrites all of them."""
    n = L.shape[0]
    for v in range(n):
        L[v, lane] = half_bits(priors[frame, v])
    rfac[0, lane] = 0.0
    for c in range(tsign.shape[0]):
        tsign[c, lane] = SIGN if targets[frame, c] else 0


@njit(cache=True)
def _check_update(
    e0: int,
    e1: int,
    c: int,
    col_idx: np.ndarray,
    L: np.ndarray,
    R: np.ndarray,
    rfac: np.ndarray,
    tsign: np.ndarray,
    S: np.ndarray,
    flags: np.ndarray,
) -> None:
    """Layered update of check ``c`` (edges ``e0:e1``) on all lanes at once.

    With x_j = e^−|Q_j|, tanh(|Q_j|/2) = a_j/b_j for a_j = 1 − x_j, b_j = 1 + x_j, so with
    the full products A = Π a_j, B = Π b_j the extrinsic message of edge i is

        |R_i| = 2 atanh((A/a_i)/(B/b_i)) = ln((B a_i + A b_i)/(B a_i − A b_i)),

    one exp, one ln and one division per edge, no division by the edge's own factor. Its
    sign is that of the target syndrome bit times all Q_j but Q_i (sign bits XORed). The
    arithmetic is :mod:`.check_math`'s (inlined), shared with the row kernel.

    On the way it tests the check against the hard decisions of the posteriors it writes (the
    sign bit of ``flags[0, k]`` is set when lane k fails it): a free, approximate convergence
    test, since later checks of the sweep may still flip some of them. Testing the updated
    rather than the incoming posteriors detects a met syndrome in the sweep that meets it,
    not one sweep later: 0.8–1.0 fewer iterations per frame at every design point, the same
    as an exact test after every sweep.
    """
    r_factor = load(rfac, 0)
    sign = load(tsign, c)
    parity = sign
    A = splat(ONE)
    B = splat(ONE)
    for e in range(e0, e1):
        j = 3 * (e - e0)
        q = extrinsic(load(L, col_idx[e]), load(R, e), r_factor)
        a, b, A, B, sign = edge_in(q, A, B, sign)
        store(S, j, q)
        store(S, j + 1, a)
        store(S, j + 2, b)
    for e in range(e0, e1):
        j = 3 * (e - e0)
        q = load(S, j)
        ri = edge_out(q, load(S, j + 1), load(S, j + 2), A, B, sign)
        store(R, e, ri)
        lnew = posterior(q, ri)
        parity = parity ^ bits(lnew)
        store(L, col_idx[e], lnew)
    store(flags, 0, load(flags, 0) | parity)


@njit(cache=True)
def _hard_decisions(L: np.ndarray, k: int, hard: np.ndarray) -> None:
    """Lane k's hard decisions (1 where L < 0) into ``hard``: one pass over L, so that the
    random gathers of the parity test hit a 1-byte-per-bit array that fits in cache instead
    of a 32-byte row of L each, and the output is a plain copy."""
    for v in range(L.shape[0]):
        x = L[v, k]  # half bits: negative and not −0
        hard[v] = 1 if (x & 0x8000) != 0 and (x & 0x7FFF) != 0 else 0


@njit(cache=True)
def _lane_satisfied(
    row_ptr: np.ndarray,
    col_idx: np.ndarray,
    tsign: np.ndarray,
    k: int,
    hard: np.ndarray,
) -> bool:
    """Exact test: do lane k's hard decisions ``hard`` meet every check of its syndrome?"""
    m = row_ptr.size - 1
    for c in range(m):
        acc = np.uint8(1) if tsign[c, k] < 0 else np.uint8(0)
        for e in range(row_ptr[c], row_ptr[c + 1]):
            acc ^= hard[col_idx[e]]
        if acc:
            return False
    return True


@njit(cache=True)
def decode_frames(
    row_ptr: np.ndarray,
    col_idx: np.ndarray,
    priors: np.ndarray,
    targets: np.ndarray,
    max_iterations: int,
    lanes: int,
    out_bits: np.ndarray,
    out_iterations: np.ndarray,
    out_converged: np.ndarray,
    handoff_iterations: int = 0,
) -> None:
    """Decode ``priors.shape[0]`` frames with layered sum-product, ``lanes`` at a time
    (at most :data:`MAX_LANES`; more are decoded as that many).

    ``priors``: channel LLRs ``[frames, n]`` (float32, positive favours bit 0);
    ``targets``: syndromes to meet ``[frames, m]`` (uint8). Writes hard decisions
    ``out_bits[frames, n]``, iterations used and whether the syndrome was met.

    ``handoff_iterations`` > 0: a frame still unsolved after that many iterations leaves its
    lane to the next frame, with ``out_iterations = -1`` and nothing else written (the
    caller finishes it another way, e.g. with the one-frame row kernel): a slow frame near
    the end of a batch would otherwise keep 16 lanes' worth of sweeps running for one.
    """
    frames, n = priors.shape
    m = row_ptr.size - 1
    E = col_idx.size
    K = max(1, min(lanes, WIDTH))
    dmax = 0
    for c in range(m):
        dmax = max(dmax, row_ptr[c + 1] - row_ptr[c])
    # Every array below has WIDTH columns (one SIMD vector per row); lanes ≥ K stay idle.
    L = np.zeros((n, WIDTH), np.uint16)  # posteriors, IEEE half bits (see module doc)
    # R is not cleared: a lane's first sweep reads it with factor 0 (finite garbage × 0) and
    # overwrites it (zeroing its 20 MB at 100 kbit costs ≈ 2 ms per call).
    R = np.empty((E, WIDTH), np.int16)
    rfac = np.zeros((1, WIDTH), np.float32)  # R_STEP, or 0 in a lane's first sweep
    tsign = np.zeros((m, WIDTH), np.int32)  # sign bit set where the target bit is 1
    S = np.empty((3 * dmax, WIDTH), np.float32)
    flags = np.zeros((1, WIDTH), np.int32)
    hard = np.empty(n, np.uint8)
    lane_frame = np.full(K, -1, np.int64)
    lane_iter = np.zeros(K, np.int64)
    nxt = 0
    active = 0
    for k in range(K):
        if nxt < frames:
            _load_lane(k, nxt, priors, targets, L, rfac, tsign)
            lane_frame[k] = nxt
            nxt += 1
            active += 1
    while active > 0:
        flags[0, :] = 0
        for c in range(m):
            if c + _AHEAD < m:
                # The posterior rows the check two rows ahead gathers, and its stretch of
                # the message stream (two edges per 64-byte line).
                e0, e1 = row_ptr[c + _AHEAD], row_ptr[c + _AHEAD + 1]
                for e in range(e0, e1):
                    prefetch_row(L, col_idx[e])
                for e in range(e0, e1, 2):
                    prefetch_row(R, e)
            _check_update(row_ptr[c], row_ptr[c + 1], c, col_idx, L, R, rfac, tsign, S, flags)
        rfac[0, :] = R_STEP
        for k in range(K):
            f = lane_frame[k]
            if f < 0:
                continue
            lane_iter[k] += 1
            # The sweep's test is approximate; confirm on the final posteriors.
            ok = False
            if flags[0, k] >= 0:
                _hard_decisions(L, k, hard)
                ok = _lane_satisfied(row_ptr, col_idx, tsign, k, hard)
            if not ok and lane_iter[k] < max_iterations:
                if handoff_iterations <= 0 or lane_iter[k] < handoff_iterations:
                    continue
                out_iterations[f] = -1  # handed off: the caller decodes it
            else:
                if not ok:
                    _hard_decisions(L, k, hard)
                out_bits[f, :] = hard
                out_iterations[f] = lane_iter[k]
                out_converged[f] = ok
            lane_iter[k] = 0
            if nxt < frames:
                _load_lane(k, nxt, priors, targets, L, rfac, tsign)
                lane_frame[k] = nxt
                nxt += 1
            else:
                lane_frame[k] = -1
                active -= 1
