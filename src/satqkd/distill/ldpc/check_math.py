"""Check-node arithmetic of the exact sum-product decoder, shared by both SIMD kernels.

The frame-parallel kernel (:func:`.decoder._check_update`, one frame per lane) and the
check-parallel one (:func:`.row_sweep.sweep`, one check per lane) run the same update on
whole :data:`.simd.F32` vectors; only where the lanes' values come from differs. With
x_j = e^−|Q_j|, tanh(|Q_j|/2) = a_j/b_j for a_j = 1 − x_j and b_j = 1 + x_j; with the full
products A = Π a_j and B = Π b_j of the check the extrinsic message of edge i is

    |R_i| = 2 atanh((A/a_i)/(B/b_i)) = ln((B a_i + A b_i)/(B a_i − A b_i)),

its sign that of the target bit times every Q_j but Q_i (sign bits XORed). The helpers are
``inline="always"``: numba inlines them into each kernel before LLVM sees the code, so the
kernels compile to the same vector code as when the arithmetic was written out in each.
(Numba's on-disk cache tracks only the file of the function it compiles: after editing
this module, clear the kernels' caches or touch their modules.)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from satqkd.distill.ldpc.simd import (
    F32,
    I32,
    bits,
    from_bits,
    round_int,
    to_float,
    vmax,
    vmin,
)
from satqkd.distill.ldpc.vector_math import EXP_ARG_MAX, vexp_neg, vln_scaled

#: Floor on 1 − e^−|Q| (Q = 0 for punctured bits at the start) so no factor is zero.
A_MIN = np.float32(2.0**-24)
#: Floor on the product of the 1 − e^−|Q| factors, to keep float32 away from denormals.
PROD_MIN = np.float32(1.0e-30)
#: Floor on den/num: caps |R| at 25 ln 2 ≈ 17.3 (where float32 tanh(Q/2) rounds to 1).
RATIO_MIN = np.float32(2.0**-25)
#: Check messages are stored as int16 in steps of 2⁻¹⁰ (|R| ≤ 17.3 → ≤ 17 746 < 2¹⁵).
R_SCALE = np.float32(1024.0)
R_STEP = np.float32(1.0 / 1024.0)
#: Sign bit and magnitude mask of a float32 seen as int32.
SIGN = np.int32(-(2**31))
ABS = np.int32(2**31 - 1)
ONE = np.float32(1.0)


@njit(cache=True, inline="always")
def extrinsic(lv: F32, r: I32, step: np.float32) -> F32:
    """The message Q = L − R an edge sends its check: posterior ``lv`` less the check's last
    message ``r`` (int steps of ``step``: :data:`R_STEP`, or 0 to ignore stale messages)."""
    return lv - to_float(r) * step


@njit(cache=True, inline="always")
def edge_in(q: F32, A: F32, B: F32, sign: I32) -> tuple[F32, F32, F32, F32, I32]:
    """Take the incoming message Q = ``q`` of one edge into its check's running state.

    Returns ``(a, b, A', B', sign')``: the edge's factors a = max(1 − e^−|q|, A_MIN) and
    b = 1 + e^−|q|, the products A' = max(A·a, PROD_MIN) and B' = B·b, and the sign bits
    XORed with q's.
    """
    x = vexp_neg(vmin(from_bits(bits(q) & ABS), EXP_ARG_MAX))
    a = vmax(ONE - x, A_MIN)
    b = ONE + x
    return a, b, vmax(A * a, PROD_MIN), B * b, sign ^ bits(q)


@njit(cache=True, inline="always")
def edge_out(q: F32, a: F32, b: F32, A: F32, B: F32, sign: I32) -> I32:
    """The new check message of an edge (Q = ``q``, factors ``a``, ``b``) of a check with
    full products ``A``, ``B`` and XOR of all sign bits ``sign``, as int32 in steps of
    :data:`R_STEP` (stored as int16)."""
    x = B * a
    y = A * b
    num = x + y
    den = vmax(x - y, num * RATIO_MIN)
    magnitude = vln_scaled(num / den, R_SCALE)
    return round_int(from_bits(bits(magnitude) | ((sign ^ bits(q)) & SIGN)))


@njit(cache=True, inline="always")
def posterior(q: F32, r: I32) -> F32:
    """The posterior L = Q + R of an edge after its check sent message ``r`` (steps of
    :data:`R_STEP`)."""
    return q + to_float(r) * R_STEP
