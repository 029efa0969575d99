"""GF(2) Toeplitz matrix–vector products on 64-bit words: Karatsuba over carry-less multiplies.

Bit convention inside this module: bit j of a bit vector is bit ``j % 64`` (least significant
first) of word ``j // 64`` (``np.packbits(..., bitorder="little")`` viewed as ``<u8``).

**Square blocks.** A K-word block (B = 64K bits) is ``y_i = Σ_j u_(i−j+B) x_j mod 2``
(i, j < B), defined by a seed u of 2B bits in 2K words (its bit 0 is never read). With
polynomials U(z) = Σ u_t z^t and X(z) = Σ x_j z^j, ``y_i`` is the coefficient of z^(B+i) of
U·X: y is the middle slice, words K..2K−1, of the carry-less product U·X (a "middle
product"). Word w of U·X is ``lo C(w) ⊕ hi C(w−1)`` with C(w) = Σ_(c+b=w) U_c ⊗ X_b the
128-bit sum of word products, so y needs C(K−1)..C(2K−1): (K+1)·K carry-less products.

**Direct kernel** (:func:`_mp_base`, blocks up to :data:`BASE_WORDS`). Eight consecutive
C(w) at a time, four in each of two SIMD accumulators (even and odd w, one 128-bit lane
each), over pairs of x words broadcast to every lane; per pair and eight outputs, one new
eight-word load of u and four lane-wise carry-less products (:mod:`satqkd.distill.clmul`:
one AVX-512 ``VPCLMULQDQ`` each on CPUs that have it).

**Karatsuba** (:func:`_tmvp`). Split the block into 2×2 blocks of half size h: the diagonal
blocks share the seed T1 = u[h:3h] (words), the upper-right one is T0 = u[0:2h], the lower-left
T2 = u[2h:4h], and

    P0 = T1 (x0 + x1),  P1 = (T0 + T1) x1,  P2 = (T2 + T1) x0,
    y0 = P0 + P1,       y1 = P0 + P2,

three half-size products instead of four (the transposed Karatsuba step, Fan & Hasan,
IEEE Trans. Comput. 56, 224 (2007)), recursively down to the direct kernel.

**Rectangles** (:func:`toeplitz_gf2`). An m × n Toeplitz matrix is cut into square K-word
tiles, K = c·2^L (c even, ≤ :data:`BASE_WORDS`) chosen by :func:`_plan` to minimise a cost
model of the kernels measured on an AMD EPYC (Zen 4); zero padding past the matrix edges only
meets zero input bits or discarded output rows.

The direct kernel's vector loads run up to :data:`SLACK_WORDS` past both ends of its seed
window (into words that only reach discarded outputs); every buffer a seed window lies in is
allocated with that much room (:func:`_tiled`, :func:`_tmvp`), so these kernels are private.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
from numpy.typing import NDArray

from satqkd.distill.clmul import (
    CLMUL_MODE,
    vclmul_hh,
    vclmul_hl,
    vclmul_lh,
    vclmul_ll,
    vload,
    vload_pair,
    vstore,
    vxor,
    vzero,
)

BASE_WORDS = 64
"""Largest block done by the direct kernel; larger ones are split by Karatsuba."""

SLACK_WORDS = 8
"""Words of allocated memory the direct kernel may read before / after a seed window."""


@numba.njit(cache=True)
def _mp_base(u: NDArray[np.uint64], x: NDArray[np.uint64], y: NDArray[np.uint64],
             work: NDArray[np.uint64]) -> None:
    """y = T(u)·x for an even K-word block (K ≤ BASE_WORDS), directly: ≈ K² word products.

    Output group g holds C(K−1+r), r = 8g..8g+7: even r in the lanes of ``e``, odd r in
    ``o``. For x words (b, b+1) broadcast to all lanes and the seed words loaded from
    ``j = K−1+8g−b`` (lane i: u[j+2i], u[j+2i+1]), C(K−1+8g+2i) gains
    u[j+2i]⊗x[b] ⊕ u[j+2i−1]⊗x[b+1] (the second from the load at j−2, which is the next
    iteration's load) and C(K+8g+2i) gains u[j+2i+1]⊗x[b] ⊕ u[j+2i]⊗x[b+1].
    Then y[i] = lo C(K+i) ⊕ hi C(K−1+i) = co[i] ⊕ ce[i+1].

    The loads cover u[−1] to u[2K+6]: memory past the window's ends that must be allocated
    (:data:`SLACK_WORDS`; see :func:`_tmvp`). Those words only ever reach discarded outputs
    (C(w) for w ≥ 2K) or are never multiplied (u[−1], the low word of the last load).
    """
    k = x.shape[0]
    ce = work[0:BASE_WORDS + 8]
    co = work[BASE_WORDS + 8:2 * BASE_WORDS + 16]
    for g in range(k // 8 + 1):
        e = vzero()
        o = vzero()
        j = k - 1 + 8 * g
        cur = vload(u, j)
        for b in range(0, k, 2):
            xb = vload_pair(x, b)
            nxt = vload(u, j - 2)
            e = vxor(e, vxor(vclmul_ll(cur, xb), vclmul_hh(nxt, xb)))
            o = vxor(o, vxor(vclmul_hl(cur, xb), vclmul_lh(cur, xb)))
            cur = nxt
            j -= 2
        vstore(ce, 8 * g, e)
        vstore(co, 8 * g, o)
    for i in range(k):
        y[i] = co[i] ^ ce[i + 1]


@numba.njit(cache=True)
def _tmvp(u: NDArray[np.uint64], x: NDArray[np.uint64], y: NDArray[np.uint64],
          scratch: NDArray[np.uint64], work: NDArray[np.uint64]) -> None:
    """y = T(u)·x for a K-word block, K = c·2^L with c even and ≤ BASE_WORDS.

    ``scratch`` has ≥ 4K + SLACK_WORDS words. Memory: every seed window handed to the direct
    kernel has :data:`SLACK_WORDS` allocated words on either side. For ``u`` itself that is
    the caller's duty; the sub-window u[h:3h] lies inside u, and the seed sums are put in
    ``scratch`` after h words (``xs``) and before h + the rest of the scratch.
    """
    k = x.shape[0]
    if k <= BASE_WORDS:
        if k & 1:
            raise ValueError("direct blocks have an even number of words")
        _mp_base(u, x, y, work)
        return
    if k & 1:
        raise ValueError("Karatsuba block sizes above BASE_WORDS must be even")
    h = k // 2
    xs = scratch[0:h]
    us = scratch[h:3 * h]
    tmp = scratch[3 * h:4 * h]
    rest = scratch[4 * h:]
    for i in range(h):
        xs[i] = x[i] ^ x[h + i]
    _tmvp(u[h:3 * h], xs, y[0:h], rest, work)  # P0
    y[h:k] = y[0:h]
    for i in range(2 * h):
        us[i] = u[i] ^ u[h + i]
    _tmvp(us, x[h:k], tmp, rest, work)  # P1
    for i in range(h):
        y[i] ^= tmp[i]
    for i in range(2 * h):
        us[i] = u[2 * h + i] ^ u[h + i]
    _tmvp(us, x[0:h], tmp, rest, work)  # P2
    for i in range(h):
        y[h + i] ^= tmp[i]


@numba.njit(cache=True)
def _tiled(seed_w: NDArray[np.uint64], x_w: NDArray[np.uint64], y_w: NDArray[np.uint64],
           k: int, n_rows: int, n_cols: int) -> None:
    """y_p = Σ_q T_(p−q) x_q over a grid of K-word tiles.

    Tile (p, q) reads its 2K seed words from ``SLACK_WORDS + (p − q + Q − 1)·K``; ``seed_w``
    has SLACK_WORDS words on either side of the (rows + cols)·K words of the padded seed.
    """
    scratch = np.empty(4 * k + SLACK_WORDS, dtype=np.uint64)
    work = np.empty(2 * BASE_WORDS + 16, dtype=np.uint64)
    tmp = np.empty(k, dtype=np.uint64)
    for p in range(n_rows):
        yp = y_w[p * k:(p + 1) * k]
        yp[:] = 0
        for q in range(n_cols):
            off = SLACK_WORDS + (p - q + n_cols - 1) * k
            _tmvp(seed_w[off:off + 2 * k], x_w[q * k:(q + 1) * k], tmp, scratch, work)
            for i in range(k):
                yp[i] ^= tmp[i]


_ITERATION_NS = {"vpclmul512": 2.2, "vpclmul256": 4.4, "pclmul": 8.7, "soft": 740.0}
"""Time of one inner iteration of the direct kernel (16 word products), by mode; measured
on an AMD EPYC (Zen 4) under load, with the narrower modes forced by numba's CPU features."""


@functools.cache
def _block_cost_ns(c: int, levels: int) -> float:
    """Modelled time of one (c·2^levels)-word block: 3^L direct kernels + the XOR passes."""
    base = _ITERATION_NS[CLMUL_MODE] * (c // 8 + 1) * (c // 2) + 1.5 * c + 10.0
    split = sum(3.0**lv * (0.3 * (c << (levels - lv)) + 25.0) for lv in range(levels))
    return 3.0**levels * base + split


@functools.lru_cache(maxsize=256)
def _plan(n_in_words: int, n_out_words: int) -> tuple[int, int, int]:
    """Tile size K words and the (rows, cols) grid of least modelled time.

    K is an even c ≤ BASE_WORDS (one direct block), or c·2^L with BASE_WORDS/2 < c ≤
    BASE_WORDS even: the sizes :func:`_tmvp` halves L times down to direct blocks of c words.
    """
    best: tuple[float, int, int, int] | None = None
    largest = max(n_in_words, n_out_words)
    levels = 0
    while True:
        smallest_c = 2 if levels == 0 else BASE_WORDS // 2 + 2
        for c in range(smallest_c, BASE_WORDS + 1, 2):
            k = c << levels
            rows, cols = -(-n_out_words // k), -(-n_in_words // k)
            cost = rows * cols * _block_cost_ns(c, levels)
            if best is None or cost < best[0]:
                best = (cost, k, rows, cols)
        if BASE_WORDS << levels >= largest:
            break
        levels += 1
    assert best is not None
    return best[1], best[2], best[3]


@numba.njit(cache=True)
def _place(src: NDArray[np.uint64], dst: NDArray[np.uint64], offset_bits: int) -> None:
    """``dst |= src << offset_bits`` as bit vectors (dst long enough)."""
    q, r = offset_bits >> 6, np.uint64(offset_bits & 63)
    if r == 0:
        for w in range(src.shape[0]):
            dst[q + w] |= src[w]
        return
    back = np.uint64(64) - r
    for w in range(src.shape[0]):
        dst[q + w] |= src[w] << r
        if q + w + 1 < dst.shape[0]:
            dst[q + w + 1] |= src[w] >> back


def pack_words(bits: NDArray[np.uint8], n_words: int, offset_bits: int = 0
               ) -> NDArray[np.uint64]:
    """0/1 bits placed at bit ``offset_bits`` of a zeroed vector of ``n_words`` words."""
    if offset_bits + bits.size > 64 * n_words:
        raise ValueError("bits do not fit in the word vector")
    packed = np.packbits(bits, bitorder="little")
    src = np.zeros(-(-packed.size // 8), dtype=np.uint64)
    src.view(np.uint8)[:packed.size] = packed
    if not src.dtype.isnative:  # pragma: no cover - big-endian hosts
        src = src.byteswap()
    dst = np.zeros(n_words, dtype=np.uint64)
    _place(src, dst, offset_bits)
    return dst


def unpack_words(words: NDArray[np.uint64], n_bits: int) -> NDArray[np.uint8]:
    """The first ``n_bits`` bits of a word vector as a 0/1 uint8 array."""
    little = words.astype("<u8", copy=False)
    return np.unpackbits(little.view(np.uint8), bitorder="little")[:n_bits]


def toeplitz_gf2(bits: NDArray[np.uint8], seed: NDArray[np.uint8], n_out: int
                 ) -> NDArray[np.uint8]:
    """``T·x mod 2`` with ``T_ij = seed[i − j + n − 1]`` (m × n), by tiled Karatsuba.

    ``bits`` (n) and ``seed`` (n + m − 1) are 0/1 uint8 arrays; returns m = ``n_out`` bits.
    Tile (p, q) of the K-word grid (B = 64K bits, Q columns of tiles) is the square block of
    seed bits ``seed[t + (p − q − 1)B + n − 1]``, t < 2B, so the seed is placed at bit
    ``Q·B − n + 1`` of one padded word vector and tile (p, q) reads its words from
    ``(p − q + Q − 1)·K``.
    """
    n = bits.size
    k, rows, cols = _plan(-(-n // 64), -(-n_out // 64))
    x_w = pack_words(bits, cols * k)
    s_w = pack_words(seed, (rows + cols) * k + 2 * SLACK_WORDS,
                     offset_bits=64 * SLACK_WORDS + cols * 64 * k - n + 1)
    y_w = np.empty(rows * k, dtype=np.uint64)
    _tiled(s_w, x_w, y_w, k, rows, cols)
    return unpack_words(y_w, n_out)
