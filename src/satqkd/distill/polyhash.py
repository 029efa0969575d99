"""Polynomial hashing over the prime field of p = 2^127 − 1 (numba).

The ε-almost-Δ-universal family behind both verification and authentication. A message is
encoded injectively as 64-bit blocks: its bytes, zero-padded to a multiple of 8 and read as
little-endian words m_1..m_L, followed by one block holding its length in bits. For a key
r ∈ [0, p) the hash is evaluated by Horner's rule,

    h_r(m) = Σ_(i=1..L) m_i r^(L+2−i) + len(m) · r   (mod p),

a polynomial in r of degree d = L + 1 (the number of blocks, length included) with no constant
term. For two different messages h_r(m) − h_r(m') − c is then a non-zero polynomial of degree
≤ max(d, d'), so it has at most that many roots: for any constant c,
``Pr_r[h_r(m) − h_r(m') ≡ c] ≤ d / p``.

Tags of t ≤ 128 bits use the low t bits: ``trunc_t(h)``. Equal truncations (or, with a one-time
pad added mod 2^t, a chosen difference δ of truncations) need h(m) − h(m') to be one of the at
most 2^(128−t) integers in (−p, p) congruent to δ mod 2^t, so

    ε(d, t) = (d · 2^(128−t) + 1) / 2^127,

where the "+1" pays for the key being drawn from 127 random bits with the value p folded onto
0 (:func:`field_key`). For t = 64 and a 100-kbit message (d = 1564), ε ≈ 1.7e-16.

Bits are packed most-significant first (``np.packbits``), so a 0/1 array and the bytes it packs
to hash alike when the bit count is a multiple of 8 (the length block counts bits either way).
Reference: Wegman & Carter, J. Comput. Syst. Sci. 22, 265 (1981); the polynomial
(Carter–Wegman "evaluation") hash bound is the root count above.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic
from numpy.typing import NDArray

MERSENNE_127 = (1 << 127) - 1
BLOCK_BITS = 64
KEY_BYTES = 16

_M63 = np.uint64((1 << 63) - 1)
_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U2 = np.uint64(2)
_S63 = np.uint64(63)


@intrinsic
def _mul64(typingctx, a, b):  # type: ignore[no-untyped-def]
    """Full 128-bit product ``a·b`` of two uint64 as (hi, lo): one LLVM ``i128`` multiply."""
    if not (a == types.uint64 and b == types.uint64):
        return None
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        i128 = ir.IntType(128)
        product = builder.mul(builder.zext(args[0], i128), builder.zext(args[1], i128))
        hi = builder.trunc(builder.lshr(product, ir.Constant(i128, 64)), ir.IntType(64))
        lo = builder.trunc(product, ir.IntType(64))
        return context.make_tuple(builder, signature.return_type, [hi, lo])

    return sig, codegen


@numba.njit(cache=True, inline="always")
def _add128(ah: np.uint64, al: np.uint64, bh: np.uint64, bl: np.uint64
            ) -> tuple[np.uint64, np.uint64, np.uint64]:
    """(carry, hi, lo) of the 129-bit sum of two 128-bit numbers."""
    lo = al + bl
    c = _U1 if lo < al else _U0
    hi1 = ah + c
    c1 = _U1 if hi1 < ah else _U0
    hi = hi1 + bh
    c2 = _U1 if hi < hi1 else _U0
    return c1 + c2, hi, lo


@numba.njit(cache=True, inline="always")
def _fold(extra: np.uint64, hi: np.uint64, lo: np.uint64) -> tuple[np.uint64, np.uint64]:
    """``extra·2^128 + hi·2^64 + lo`` reduced mod 2^127 − 1 (``extra`` small)."""
    # 2^127 ≡ 1 and 2^128 ≡ 2 (mod p).
    add = (hi >> _S63) + _U2 * extra
    hi &= _M63
    lo2 = lo + add
    if lo2 < lo:
        hi += _U1
    if hi >> _S63:  # at most once more
        hi &= _M63
        lo3 = lo2 + _U1
        if lo3 < lo2:
            hi += _U1
        lo2 = lo3
    if hi == _M63 and lo2 == ~_U0:  # the value p itself
        return _U0, _U0
    return hi, lo2


@numba.njit(cache=True, inline="always")
def _mulmod(ah: np.uint64, al: np.uint64, bh: np.uint64, bl: np.uint64
            ) -> tuple[np.uint64, np.uint64]:
    """``a·b mod p`` for a, b < 2^127 given as (hi, lo) 64-bit limbs."""
    hh_h, hh_l = _mul64(ah, bh)  # < 2^126
    hl_h, hl_l = _mul64(ah, bl)  # < 2^127
    lh_h, lh_l = _mul64(al, bh)  # < 2^127
    ll_h, ll_l = _mul64(al, bl)  # < 2^128
    # cross = ah·bl + al·bh < 2^128; cross·2^64 = ch·2^128 + cl·2^64 ≡ 2·ch + cl·2^64.
    _, ch, cl = _add128(hl_h, hl_l, lh_h, lh_l)
    # 2·(ah·bh) < 2^127 as (hi, lo)
    t_h = (hh_h << _U1) | (hh_l >> _S63)
    t_l = hh_l << _U1
    c1, s_h, s_l = _add128(ll_h, ll_l, cl, _U0)
    c2, s_h, s_l = _add128(s_h, s_l, t_h, t_l)
    c3, s_h, s_l = _add128(s_h, s_l, ch >> _S63, ch << _U1)
    return _fold(c1 + c2 + c3, s_h, s_l)


@numba.njit(cache=True)
def _horner(blocks: NDArray[np.uint64], n_bits: np.uint64, rh: np.uint64, rl: np.uint64
            ) -> tuple[np.uint64, np.uint64]:
    """Horner evaluation of the block polynomial (length block last), as (hi, lo)."""
    hh, hl = _U0, _U0
    for i in range(blocks.shape[0]):
        c, sh, sl = _add128(hh, hl, _U0, blocks[i])
        hh, hl = _fold(c, sh, sl)
        hh, hl = _mulmod(hh, hl, rh, rl)
    c, sh, sl = _add128(hh, hl, _U0, n_bits)
    hh, hl = _fold(c, sh, sl)
    return _mulmod(hh, hl, rh, rl)


def encode_blocks(data: bytes | NDArray[np.uint8]) -> tuple[NDArray[np.uint64], int]:
    """The message as little-endian 64-bit blocks and its length in bits.

    ``data`` is bytes, or a 0/1 uint8 bit array (one bit per element), packed MSB first.
    """
    if isinstance(data, np.ndarray):
        bits = np.asarray(data, dtype=np.uint8)
        packed = np.packbits(bits)
        n_bits = int(bits.size)
    else:
        packed = np.frombuffer(bytes(data), dtype=np.uint8)
        n_bits = 8 * packed.size
    words = np.zeros(-(-packed.size // 8), dtype="<u8")  # zero padding to whole blocks
    words.view(np.uint8)[:packed.size] = packed
    return words.astype(np.uint64, copy=False), n_bits


def n_blocks(n_bits: int) -> int:
    """Degree d of the hash polynomial of an ``n_bits`` message: data blocks + length."""
    return -(-int(n_bits) // BLOCK_BITS) + 1


def field_key(raw: bytes) -> int:
    """A hash key in [0, p) from 16 random bytes: the low 127 bits, p folded onto 0."""
    if len(raw) < KEY_BYTES:
        raise ValueError(f"a hash key needs {KEY_BYTES} bytes, got {len(raw)}")
    return (int.from_bytes(raw[:KEY_BYTES], "little") & MERSENNE_127) % MERSENNE_127


def poly_hash(data: bytes | NDArray[np.uint8], key: int) -> int:
    """``h_key(data)`` in [0, p) (see the module docstring for the encoding)."""
    blocks, n_bits = encode_blocks(data)
    key %= MERSENNE_127
    hi, lo = _horner(blocks, np.uint64(n_bits), np.uint64(key >> 64),
                     np.uint64(key & ((1 << 64) - 1)))
    return (int(hi) << 64) | int(lo)


def poly_hash_reference(data: bytes | NDArray[np.uint8], key: int) -> int:
    """The same hash with Python integers (slow; for tests)."""
    blocks, n_bits = encode_blocks(data)
    h = 0
    for m in [*blocks.tolist(), n_bits]:
        h = (h + m) * key % MERSENNE_127
    return h


def collision_epsilon(n_bits: int, tag_bits: int) -> float:
    """ε(d, t) = (d·2^(128−t) + 1)/2^127 for one hash of ``tag_bits`` ≤ 128 bits (≤ 1)."""
    if not 1 <= tag_bits <= 128:
        raise ValueError(f"one polynomial hash gives 1 to 128 tag bits, not {tag_bits}")
    eps = (n_blocks(n_bits) * 2.0 ** (128 - tag_bits) + 1.0) / 2.0**127
    return min(1.0, eps)
