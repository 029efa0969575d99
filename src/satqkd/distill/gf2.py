"""GF(2) Toeplitz matrix–vector products on 64-bit words: carry-less multiply + Karatsuba.

Bit convention inside this module: bit j of a bit vector is bit ``j % 64`` (least significant
first) of word ``j // 64`` (``np.packbits(..., bitorder="little")`` viewed as ``<u8``).

A K-word Toeplitz block (B = 64K bits square) is ``y_i = Σ_j u_(i−j+B−1) x_j mod 2``, defined by
a seed u of 2B − 1 bits stored in 2K words (the top bit of the last word is never read).
Splitting it into 2×2 blocks of half size, the diagonal blocks share the seed T1 = u[h:3h]
(words), the upper-right one is T0 = u[0:2h], the lower-left T2 = u[2h:4h], and

    P0 = T1 (x0 + x1),  P1 = (T0 + T1) x1,  P2 = (T2 + T1) x0,
    y0 = P0 + P1,       y1 = P0 + P2,

three half-size products instead of four (the transposed Karatsuba step; Fan & Hasan,
IEEE Trans. Comput. 56, 224 (2007)). Below ``BASE_WORDS`` words the block is computed
directly: 64×64 bit blocks are bits 63..126 of carry-less products, one ``PCLMULQDQ`` per
64×64 block (software carry-less multiply where the CPU lacks it).
"""

from __future__ import annotations

import llvmlite.binding as _llvm
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from numpy.typing import NDArray

BASE_WORDS = 16
"""Largest block done by the direct (schoolbook) kernel."""

HAVE_PCLMUL = "+pclmul" in _llvm.get_host_cpu_features().flatten().split(",")
"""Whether this CPU has a hardware carry-less multiply (x86 PCLMULQDQ)."""

_U0 = np.uint64(0)
_U1 = np.uint64(1)
_S63 = np.uint64(63)


@intrinsic
def _clmul_hw(typingctx, a, b):  # type: ignore[no-untyped-def]
    """(lo, hi) of the 128-bit carry-less product of two uint64, via ``llvm.x86.pclmulqdq``."""
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        i32, i64 = ir.IntType(32), ir.IntType(64)
        v2 = ir.VectorType(i64, 2)
        fnty = ir.FunctionType(v2, [v2, v2, ir.IntType(8)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.pclmulqdq")
        undef = ir.Constant(v2, ir.Undefined)
        va = builder.insert_element(undef, args[0], ir.Constant(i32, 0))
        vb = builder.insert_element(undef, args[1], ir.Constant(i32, 0))
        r = builder.call(fn, [va, vb, ir.Constant(ir.IntType(8), 0)])
        lo = builder.extract_element(r, ir.Constant(i32, 0))
        hi = builder.extract_element(r, ir.Constant(i32, 1))
        return context.make_tuple(builder, signature.return_type, [lo, hi])

    return sig, codegen


@numba.njit(cache=True, inline="always")
def _clmul_sw(a: np.uint64, b: np.uint64) -> tuple[np.uint64, np.uint64]:
    """Software carry-less multiply (shift-and-xor), for CPUs without PCLMULQDQ."""
    lo = _U0
    hi = _U0
    for k in range(64):
        if (b >> np.uint64(k)) & _U1:
            lo ^= a << np.uint64(k)
            if k:
                hi ^= a >> np.uint64(64 - k)
    return lo, hi


_clmul = _clmul_hw if HAVE_PCLMUL else _clmul_sw


@numba.njit(cache=True)
def _tmvp_base(u: NDArray[np.uint64], x: NDArray[np.uint64], y: NDArray[np.uint64]) -> None:
    """y = T(u)·x for a K-word block, directly: K(K+1) carry-less products."""
    k = x.shape[0]
    prev_lo = _U0
    prev_hi = _U0
    for a in range(k + 1):
        acc_lo = _U0
        acc_hi = _U0
        for b in range(k):
            lo, hi = _clmul(u[a - b + k - 1], x[b])
            acc_lo ^= lo
            acc_hi ^= hi
        # Output word a−1 needs C(a−1) (lo, hi) and the low word of C(a).
        if a > 0:
            y[a - 1] = (prev_lo >> _S63) | (prev_hi << _U1) ^ (acc_lo << _U1)
        prev_lo = acc_lo
        prev_hi = acc_hi


@numba.njit(cache=True)
def _tmvp(u: NDArray[np.uint64], x: NDArray[np.uint64], y: NDArray[np.uint64],
          scratch: NDArray[np.uint64]) -> None:
    """y = T(u)·x for a K-word block (K = c·2^L, c ≤ BASE_WORDS); scratch ≥ 4K words."""
    k = x.shape[0]
    if k <= BASE_WORDS or k % 2:
        _tmvp_base(u, x, y)
        return
    h = k // 2
    xs = scratch[0:h]
    us = scratch[h:3 * h]
    tmp = scratch[3 * h:4 * h]
    rest = scratch[4 * h:]
    for i in range(h):
        xs[i] = x[i] ^ x[h + i]
    _tmvp(u[h:3 * h], xs, y[0:h], rest)  # P0
    for i in range(h):
        y[h + i] = y[i]
    for i in range(2 * h):
        us[i] = u[i] ^ u[h + i]
    _tmvp(us, x[h:k], tmp, rest)  # P1
    for i in range(h):
        y[i] ^= tmp[i]
    for i in range(2 * h):
        us[i] = u[2 * h + i] ^ u[h + i]
    _tmvp(us, x[0:h], tmp, rest)  # P2
    for i in range(h):
        y[h + i] ^= tmp[i]


@numba.njit(cache=True)
def _tiled(seed_w: NDArray[np.uint64], x_w: NDArray[np.uint64], y_w: NDArray[np.uint64],
           k: int, n_rows: int, n_cols: int) -> None:
    """y_p = Σ_q T_(p−q) x_q over a grid of K-word tiles (seed padded, word aligned)."""
    scratch = np.empty(4 * k + 64, dtype=np.uint64)
    tmp = np.empty(k, dtype=np.uint64)
    for p in range(n_rows):
        yp = y_w[p * k:(p + 1) * k]
        yp[:] = 0
        for q in range(n_cols):
            off = (p - q + n_cols - 1) * k
            _tmvp(seed_w[off:off + 2 * k], x_w[q * k:(q + 1) * k], tmp, scratch)
            for i in range(k):
                yp[i] ^= tmp[i]


def _plan(n_in_words: int, n_out_words: int) -> tuple[int, int, int]:
    """Tile size K = c·2^L words and the (rows, cols) grid with the least modelled work."""
    best: tuple[float, int, int, int] | None = None
    for levels in range(0, 20):
        for c in range(BASE_WORDS // 2 + 1, BASE_WORDS + 1) if levels else range(1, BASE_WORDS + 1):
            k = c << levels
            rows, cols = -(-n_out_words // k), -(-n_in_words // k)
            # carry-less products at the leaves + word operations of the Karatsuba steps
            work = rows * cols * (3.0**levels * c * (c + 1) + 6.0 * k * 1.5**levels)
            if best is None or work < best[0]:
                best = (work, k, rows, cols)
            if k >= max(n_in_words, n_out_words):
                break
        if (BASE_WORDS << levels) >= 2 * max(n_in_words, n_out_words):
            break
    assert best is not None
    return best[1], best[2], best[3]


def _words(bits: NDArray[np.uint8], n_words: int, offset_bits: int = 0) -> NDArray[np.uint64]:
    """0/1 bits placed at ``offset_bits`` in a zeroed vector of ``n_words`` words."""
    buf = np.zeros(64 * n_words, dtype=np.uint8)
    buf[offset_bits:offset_bits + bits.size] = bits
    return np.packbits(buf, bitorder="little").view("<u8").astype(np.uint64, copy=False)


def toeplitz_gf2(bits: NDArray[np.uint8], seed: NDArray[np.uint8], n_out: int
                 ) -> NDArray[np.uint8]:
    """``T·x mod 2`` with ``T_ij = seed[i − j + n − 1]`` (m × n), by tiled Karatsuba.

    ``bits`` (n) and ``seed`` (n + m − 1) are 0/1 uint8 arrays; returns m = ``n_out`` bits.
    The m × n matrix is cut into K-word square Toeplitz tiles (zero padding past the edges
    only meets zero input bits or discarded output rows).
    """
    n = bits.size
    k, rows, cols = _plan(-(-n // 64), -(-n_out // 64))
    block_bits = 64 * k
    x_w = _words(bits, cols * k)
    s_w = _words(seed, (rows + cols) * k, offset_bits=cols * block_bits - n)
    y_w = np.empty(rows * k, dtype=np.uint64)
    _tiled(s_w, x_w, y_w, k, rows, cols)
    return np.unpackbits(y_w.view(np.uint8), bitorder="little")[:n_out]
