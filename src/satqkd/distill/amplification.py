"""Privacy amplification by Toeplitz hashing (SPEC §7 steps 4–6).

A Toeplitz matrix T (m × n, ``T_ij = s_(i−j+n−1)``) drawn from a uniform seed s of n + m − 1
bits is a 2-universal hash family; ``y = T·x mod 2`` extracts m bits from an n-bit key about
which Eve's smooth min-entropy is at least H, and by the leftover hash lemma the result is
ε_PA-close to uniform and independent of Eve with ε_PA = ½·√(2^(m−H))
(:func:`leftover_hash_epsilon`; the key-length formula of
:mod:`satqkd.distill.estimation.keylength` charges the corresponding 2·log2(1/(2ε_PA)) bits).

The ground draws the seed (:func:`toeplitz_seed`) and sends it with the privacy-amplification
instruction over the authenticated channel; both sides then compute :func:`toeplitz_hash`.
The SPEC's blocks are 100 to 900 kbit in steps of 100 kbit (:func:`check_block_bits`); the
hash itself accepts any size.

Three bit-exact implementations of the same product:

* :func:`toeplitz_hash` — the fast one: ``T·x`` over GF(2) on 64-bit words
  (:mod:`satqkd.distill.gf2`): square Toeplitz tiles, each split by the transposed Karatsuba
  recursion down to blocks of ≤ 64 words done directly with SIMD carry-less multiplies
  (AVX-512 ``VPCLMULQDQ`` where the CPU has it, else AVX2 or ``PCLMULQDQ``). On a CPU with no
  carry-less multiply at all it falls back to the FFT below (up to 2^22 input bits);
* :func:`toeplitz_hash_fft` — ``T·x`` as the slice ``(s ∗ x)_(i+n−1)`` of the integer
  convolution, by a float64 real FFT, rounded and reduced mod 2 (exact: the convolution
  values are ≤ n ≤ 2^22 and the FFT's rounding error stays far below ½ at these sizes);
  the plain method, 20–40× slower, kept for comparison and as a second reference;
* :func:`toeplitz_hash_reference` — the explicit matrix (small sizes), and
  :func:`toeplitz_rows_direct`, chosen rows one by one, each the parity of a window of the
  reversed seed AND the key (exact at any size, n/64 word operations per row): the plain
  references the tests compare the fast product with.

Bit convention: keys and seeds are 0/1 uint8 arrays, one bit per element.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import scipy.fft
from numpy.typing import NDArray

from satqkd.distill import clmul
from satqkd.distill.gf2 import toeplitz_gf2
from satqkd.errors import InputError

BLOCK_STEP_BITS = 100_000
MIN_BLOCK_BITS = 100_000
MAX_BLOCK_BITS = 900_000
MAX_FFT_INPUT_BITS = 1 << 22


def check_block_bits(n_bits: int) -> None:
    """Raise :class:`InputError` unless ``n_bits`` is 100, 200, …, 900 kbit (SPEC §7)."""
    if (
        isinstance(n_bits, bool)
        or int(n_bits) != n_bits
        or n_bits % BLOCK_STEP_BITS
        or not MIN_BLOCK_BITS <= n_bits <= MAX_BLOCK_BITS
    ):
        raise InputError("privacy-amplification blocks are 100 to 900 kbit in steps of 100 kbit",
                         field="pa_block_bits", value=n_bits)


def toeplitz_seed(
    n_in: int, n_out: int, rng_or_seed: np.random.Generator | int | None = None
) -> NDArray[np.uint8]:
    """A uniform seed of ``n_in + n_out − 1`` bits (0/1 uint8), from a generator or a seed."""
    _check_lengths(n_in, n_out)
    rng = (rng_or_seed if isinstance(rng_or_seed, np.random.Generator)
           else np.random.default_rng(rng_or_seed))
    return rng.integers(0, 2, size=n_in + n_out - 1, dtype=np.uint8)


def _check_lengths(n_in: int, n_out: int) -> None:
    if n_in < 1 or not 0 < n_out <= n_in:
        raise ValueError(f"output length {n_out} must be in 1..{n_in} (input {n_in} bits)")


def _check_args(
    bits: NDArray[np.uint8], seed: NDArray[np.uint8], n_out: int
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    x = np.ascontiguousarray(bits, dtype=np.uint8)
    s = np.ascontiguousarray(seed, dtype=np.uint8)
    if x.ndim != 1 or s.ndim != 1:
        raise ValueError("key and seed are 1-D bit arrays")
    if (x.size and x.max() > 1) or (s.size and s.max() > 1):
        raise ValueError("key and seed hold one bit (0 or 1) per element")
    _check_lengths(x.size, n_out)
    if s.size != x.size + n_out - 1:
        raise ValueError(f"seed must have n + m - 1 = {x.size + n_out - 1} bits, has {s.size}")
    return x, s


def toeplitz_hash(
    bits: NDArray[np.uint8], seed: NDArray[np.uint8], n_out: int
) -> NDArray[np.uint8]:
    """``T(seed)·bits mod 2``: ``n_out`` bits from ``bits`` ([n] → [m], 0/1 uint8)."""
    x, s = _check_args(bits, seed, n_out)
    if clmul.CLMUL_MODE == "soft" and x.size <= MAX_FFT_INPUT_BITS:
        return toeplitz_hash_fft(x, s, n_out)  # software carry-less products are slower
    return toeplitz_gf2(x, s, n_out)


def toeplitz_hash_fft(
    bits: NDArray[np.uint8], seed: NDArray[np.uint8], n_out: int, *, workers: int = 1
) -> NDArray[np.uint8]:
    """The same product by a float64 real FFT (the plain method; slower, for comparison)."""
    x, s = _check_args(bits, seed, n_out)
    n = x.size
    if n > MAX_FFT_INPUT_BITS:
        raise ValueError(f"input of {n} bits exceeds the exact float64 FFT range")
    length = scipy.fft.next_fast_len(n + n_out - 1, real=True)
    fs = scipy.fft.rfft(s.astype(np.float64), length, workers=workers)
    fx = scipy.fft.rfft(x.astype(np.float64), length, workers=workers)
    conv = scipy.fft.irfft(fs * fx, length, workers=workers)
    window = conv[n - 1:n - 1 + n_out]
    return (np.rint(window).astype(np.int64) & 1).astype(np.uint8)


def toeplitz_hash_reference(
    bits: NDArray[np.uint8], seed: NDArray[np.uint8], n_out: int
) -> NDArray[np.uint8]:
    """Straightforward ``T·x mod 2`` with the explicit dense matrix (small sizes, for tests)."""
    x, s = _check_args(bits, seed, n_out)
    n = x.size
    i = np.arange(n_out)[:, None]
    j = np.arange(n)[None, :]
    t = s[i - j + n - 1].astype(np.int64)
    return ((t @ x.astype(np.int64)) & 1).astype(np.uint8)


@numba.njit(cache=True)
def _direct_rows(r_words: NDArray[np.uint64], x_words: NDArray[np.uint64], m: int,
                 rows: NDArray[np.int64]) -> NDArray[np.uint8]:
    """Row i of T is the window r[m−1−i : m−1−i+n] of the reversed seed r; y_i = parity(row·x).

    ``r_words`` is r packed LSB first with at least one spare zero word; ``x_words`` is x
    packed the same way (zero past n), so window bits past n meet zeros of x.
    """
    n_words = x_words.shape[0]
    y = np.zeros(rows.shape[0], dtype=np.uint8)
    for t in range(rows.shape[0]):
        start = m - 1 - rows[t]
        q, b = start >> 6, np.uint64(start & 63)
        acc = np.uint64(0)
        for w in range(n_words):
            word = r_words[q + w] >> b
            if b:
                word |= r_words[q + w + 1] << (np.uint64(64) - b)
            acc ^= word & x_words[w]
        for shift in (32, 16, 8, 4, 2, 1):  # parity of the popcount
            acc ^= acc >> np.uint64(shift)
        y[t] = np.uint8(acc & np.uint64(1))
    return y


def _pack_words(bits: NDArray[np.uint8], spare_words: int = 0) -> NDArray[np.uint64]:
    padded = np.zeros(64 * (-(-bits.size // 64) + spare_words), dtype=np.uint8)
    padded[:bits.size] = bits
    return np.packbits(padded, bitorder="little").view("<u8").astype(np.uint64)


def toeplitz_rows_direct(
    bits: NDArray[np.uint8], seed: NDArray[np.uint8], n_out: int, rows: NDArray[np.int64]
) -> NDArray[np.uint8]:
    """Bits ``rows`` of ``T·x mod 2``, row by row: a shifted window of the reversed seed, AND x,
    parity.

    Slow (n/64 word operations per row) and exact at any size: an independent reference for
    sizes where the dense matrix does not fit in memory (all rows: :func:`toeplitz_hash_direct`).
    """
    x, s = _check_args(bits, seed, n_out)
    r = np.ascontiguousarray(rows, dtype=np.int64)
    if r.ndim != 1 or (r.size and (r.min() < 0 or r.max() >= n_out)):
        raise ValueError(f"rows must be a 1-D array of indices in 0..{n_out - 1}")
    return _direct_rows(_pack_words(s[::-1].copy(), spare_words=2), _pack_words(x), n_out, r)


def toeplitz_hash_direct(
    bits: NDArray[np.uint8], seed: NDArray[np.uint8], n_out: int
) -> NDArray[np.uint8]:
    """All of ``T·x mod 2`` by :func:`toeplitz_rows_direct` (O(m·n/64); a second at 100 kbit)."""
    return toeplitz_rows_direct(bits, seed, n_out, np.arange(n_out))


def leftover_hash_epsilon(min_entropy_bits: float, n_out: int) -> float:
    """ε_PA = ½·√(2^(m − H)) of a 2-universal hash (leftover hash lemma), capped at 1."""
    return min(1.0, 0.5 * math.sqrt(2.0 ** (n_out - min_entropy_bits)))
