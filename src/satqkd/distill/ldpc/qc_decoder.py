"""Layered sum-product for the quasi-cyclic codes (:mod:`.qc`): one frame, 16 checks a vector.

**Schedule.** The 16 checks of one base row touch 16 disjoint variables (one circulant
block per base edge), so updating them at once is exactly the sequential layered schedule
in check order, the one :func:`.decoder.decode_frames` runs: on the same frames the two
kernels take the same iterations (98–100 % of frames identical, the rest differ by the
arithmetic's rounding). The posteriors of one block are one aligned 64-byte row; a base
edge with shift s reads it and rotates its lanes by s (``vpermps``, :func:`.simd.permute`)
so that lane t holds the variable of check (i, t), and rotates back before the store. A
100-kbit frame's posteriors (400 KB as float32) and messages (1.2 MB as int16) stay in L2,
with no gathers, no scatters and one frame at a time, as the ground station decodes.

**Arithmetic in the exponential domain.** The same exact sum-product update as
:mod:`.check_math`, with the numbers represented so that no exp and no ln are needed:

* posteriors are stored as z = e^−L (float32), clamped to [e^−60, e^60]: where |L| = 60
  every extrinsic |L − R| exceeds 42, whose factor tanh(|Q|/2) is exactly 1 in float32,
  as in the LLR kernels (which cap |Q| at 20 for the same reason);
* check messages are stored as u = e^R in a 16-bit logarithmic format, the float32 bits of u
  with 10 mantissa bits kept (rounded) and the exponent re-biased: the same resolution as
  the LLR kernels' int16 in steps of 2⁻¹⁰ (|ΔR| ≤ ln(1 + 2⁻¹¹) = 4.9e-4) over the same range
  |R| ≤ 25 ln 2 = 17.3, and all-zero bits are u = 1, i.e. R = 0;
* per edge: e^−Q = z·u_old, x = e^−|Q| = min(e^−Q, 1/e^−Q) (reciprocal estimate plus one
  Newton step), a = 1 − x, b = 1 + x; the sign of Q is the sign of 1 − e^−Q. With the
  check's products A = Π a, B = Π b the message is e^|R| = (Ba + Ab)/(Ba − Ab), its sign
  that of the target bit times all other Q; e^R and the new z = e^−Q · e^−R each take one
  reciprocal estimate (``vrcp14ps``, relative error < 2⁻¹⁴, i.e. < 6.1e-5 in LLR). The
  stored message is rounded, the posterior is not: the posterior holds the unrounded
  messages, so an extrinsic is off by one rounding (its own check's, ≤ 4.9e-4) plus the
  reciprocal errors of the messages it holds, instead of by the rounding of every other
  message as in the LLR kernels. Floors as in :mod:`.check_math` (a ≥ 2⁻²⁴, A ≥ 1e-30,
  Ba − Ab ≥ 2⁻²⁵(Ba + Ab)).

Per edge that is ≈ 45 vector operations where the LLR kernels need ≈ 68 (their e^−x and ln
polynomials): 0.50–0.59 ns per edge and iteration on one core of this Xeon (marginal cost
of an iteration on the 100-kbit design codes), against 0.87–1.02 ns per edge and frame for
the 16-frame kernel on the same codes and 1.0–1.25 on the unlifted ones
(``benchmarks/reconciliation.py --throughput``).

**Stopping.** As in :func:`.decoder.decode_frames`: each sweep tests every check against
the hard decisions of the posteriors it writes (free, approximate), and a frame counts as
decoded only after an exact syndrome test on the final posteriors (vectorised, 16 checks
at once).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from satqkd.distill.ldpc.check_math import A_MIN, ONE, PROD_MIN, RATIO_MIN, SIGN
from satqkd.distill.ldpc.simd import (
    F32,
    WIDTH,
    bits,
    from_bits,
    iota,
    load,
    permute,
    rcp,
    select,
    splat,
    store,
    vmax,
    vmin,
)
from satqkd.distill.ldpc.vector_math import vexp_neg

#: Clamp of the stored posteriors z = e^−L (|L| ≤ 60; see module docstring).
_L_MAX = np.float32(60.0)
Z_MIN = np.float32(np.exp(-60.0))
Z_MAX = np.float32(np.exp(60.0))
_ABS = np.int32(2**31 - 1)
_F0 = np.float32(0.0)
_TWO = np.float32(2.0)
_ZERO = np.int32(0)
_MANTISSA_DROP = np.int32(13)  # 23 − 10 mantissa bits
#: float32 bits of u → 16-bit message: round at the dropped bits, remove the exponent bias.
_ENCODE = np.int32((1 << 12) - (127 << 23))
#: 16-bit message (sign-extended, shifted back) → float32 bits of u.
_DECODE = np.int32(127 << 23)
_U1 = np.uint64(1)
_U2 = np.uint64(2)
_U3 = np.uint64(3)


@njit(cache=True, inline="always")
def _exp_neg_clamped(L: F32) -> F32:
    """e^−L clamped to [Z_MIN, Z_MAX] lane-wise (the float32 polynomial of
    :func:`.vector_math.vexp_neg`, relative error ≈ 1e-7)."""
    e = vexp_neg(vmin(from_bits(bits(L) & _ABS), _L_MAX))
    return vmin(vmax(select(L < _F0, ONE / e, e), Z_MIN), Z_MAX)


@njit(cache=True)
def sweep(row_ptr: np.ndarray, col: np.ndarray, shift: np.ndarray, Z: np.ndarray,
          R: np.ndarray, tsign: np.ndarray, S: np.ndarray) -> bool:
    """One layered iteration over all base rows; True when every check met the syndrome
    with the posteriors as written (the approximate test).

    ``row_ptr``/``col``/``shift``: base graph (CSR) and shifts; ``Z`` ``[n/16, 16]`` float32
    posteriors e^−L; ``R`` ``[base edges, 16]`` int16 messages; ``tsign`` ``[m/16, 16]`` int32
    (sign bit set where the target syndrome bit is 1); ``S`` scratch ``[3·max degree, 16]``.
    """
    fail = splat(_ZERO)
    for i in range(row_ptr.size - 1):
        # Unsigned edge indices: no negative-index wraparound code in the loops.
        e0, e1 = np.uint64(row_ptr[i]), np.uint64(row_ptr[i + 1])
        target = load(tsign, i)
        sign = target
        A = splat(ONE)
        B = splat(ONE)
        for e in range(e0, e1):
            k = _U3 * (e - e0)
            z = permute(load(Z, col[e]), iota() + shift[e])
            ex = z * from_bits((load(R, e) << _MANTISSA_DROP) + _DECODE)  # e^−Q
            r0 = rcp(ex)
            x = vmin(ex, r0 * (_TWO - ex * r0))  # e^−|Q|
            a = vmax(ONE - x, A_MIN)
            b = ONE + x
            A = vmax(A * a, PROD_MIN)
            B = B * b
            sign = sign ^ bits(ONE - ex)
            store(S, k, ex)
            store(S, k + _U1, a)
            store(S, k + _U2, b)
        parity = target
        for e in range(e0, e1):
            k = _U3 * (e - e0)
            ex = load(S, k)
            X = B * load(S, k + _U1)
            Y = A * load(S, k + _U2)
            num = X + Y
            den = vmax(X - Y, num * RATIO_MIN)
            negative = (sign ^ bits(ONE - ex)) < splat(_ZERO)
            top = select(negative, den, num)  # e^R = top / bottom
            bottom = select(negative, num, den)
            store(R, e, (bits(top * rcp(bottom)) + _ENCODE) >> _MANTISSA_DROP)
            znew = vmin(vmax(ex * bottom * rcp(top), Z_MIN), Z_MAX)
            parity = parity ^ bits(ONE - znew)  # sign bit: hard decision 1 (L < 0)
            store(Z, col[e], permute(znew, iota() - shift[e]))
        fail = fail | parity
    return _no_sign_bit(fail)


@njit(cache=True)
def _no_sign_bit(v: object) -> bool:
    """Whether no lane of the I32 vector ``v`` has its sign bit set."""
    lanes = np.empty((1, WIDTH), np.int32)
    store(lanes, 0, v)
    return bool(np.all(lanes >= 0))


@njit(cache=True)
def satisfied(row_ptr: np.ndarray, col: np.ndarray, shift: np.ndarray, Z: np.ndarray,
              tsign: np.ndarray) -> bool:
    """Exact test: do the hard decisions of ``Z`` meet every check (16 at a time)?"""
    fail = splat(_ZERO)
    for i in range(row_ptr.size - 1):
        acc = load(tsign, i)
        for e in range(np.uint64(row_ptr[i]), np.uint64(row_ptr[i + 1])):
            acc = acc ^ bits(ONE - permute(load(Z, col[e]), iota() + shift[e]))
        fail = fail | acc
    return _no_sign_bit(fail)


@njit(cache=True)
def decode_frames_qc(row_ptr: np.ndarray, col: np.ndarray, shift: np.ndarray,
                     priors: np.ndarray, targets: np.ndarray, max_iterations: int,
                     out_bits: np.ndarray, out_iterations: np.ndarray,
                     out_converged: np.ndarray) -> None:
    """Decode ``priors.shape[0]`` frames one after another; same contract as
    :func:`.decoder.decode_frames` (priors ``[frames, n]`` float32 LLRs, positive favours
    0; targets ``[frames, m]`` uint8), for the lifted code with base graph ``row_ptr``,
    ``col`` (int32) and ``shift`` (int32)."""
    frames, n = priors.shape
    n_b = n // WIDTH
    m_b = row_ptr.size - 1
    dmax = 0
    for i in range(m_b):
        dmax = max(dmax, row_ptr[i + 1] - row_ptr[i])
    Z = np.empty((n_b, WIDTH), np.float32)
    R = np.empty((col.size, WIDTH), np.int16)
    tsign = np.empty((m_b, WIDTH), np.int32)
    S = np.empty((3 * dmax, WIDTH), np.float32)
    P = np.empty((n_b, WIDTH), np.float32)
    for f in range(frames):
        P.ravel()[:] = priors[f]
        for j in range(n_b):
            store(Z, j, _exp_neg_clamped(load(P, j)))
        R[:, :] = 0  # u = e^0
        for c in range(m_b * WIDTH):
            tsign[c // WIDTH, c % WIDTH] = SIGN if targets[f, c] else 0
        ok = False
        it = 0
        while it < max_iterations and not ok:
            it += 1
            ok = sweep(row_ptr, col, shift, Z, R, tsign, S) and satisfied(
                row_ptr, col, shift, Z, tsign)
        for v in range(n):
            out_bits[f, v] = 1 if Z[v // WIDTH, v % WIDTH] > ONE else 0
        out_iterations[f] = it
        out_converged[f] = ok
