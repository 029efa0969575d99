"""Privacy amplification by Toeplitz hashing, computed with FFTs.

A Toeplitz matrix T (m × n, T_ij = s_(i−j+n−1)) drawn from a uniform seed s of n+m−1 bits
is a 2-universal hash; ``y = T·x mod 2`` extracts m nearly uniform bits from an n-bit key
about which Eve's min-entropy is known (leftover hash lemma). ``T·x`` is a slice of the
convolution ``s * x``: ``y_i = (s * x)_(i+n−1) mod 2``, computed exactly with a real FFT
of length ≥ n+m−1 in float64 (coefficients ≤ n ≤ 1e6 ≪ 2^52, so rounding is exact).
Blocks of 100–900 kbit (step 100 kbit) as in SPEC §7.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from numpy.typing import NDArray

from satqkd.errors import InputError

BLOCK_STEP_BITS = 100_000
MAX_INPUT_BITS = 1 << 22


def check_block_bits(n_bits: int) -> None:
    """Raise :class:`InputError` unless ``n_bits`` is 100, 200, …, 900 kbit."""
    if n_bits % BLOCK_STEP_BITS or not 1 <= n_bits // BLOCK_STEP_BITS <= 9:
        raise InputError("privacy-amplification blocks are 100 to 900 kbit in steps of 100 kbit",
                         field="pa_block_bits", value=n_bits)


def toeplitz_seed(n_in: int, n_out: int, rng: np.random.Generator) -> NDArray[np.uint8]:
    """A uniform seed of ``n_in + n_out − 1`` bits."""
    return rng.integers(0, 2, size=n_in + n_out - 1, dtype=np.uint8)


def toeplitz_hash(
    bits: NDArray[np.uint8], seed: NDArray[np.uint8], n_out: int
) -> NDArray[np.uint8]:
    """``T(seed)·bits mod 2``: ``n_out`` bits from ``bits`` (0/1 uint8 arrays)."""
    x = np.asarray(bits, dtype=np.uint8)
    s = np.asarray(seed, dtype=np.uint8)
    n = x.size
    if not 0 < n_out <= n:
        raise ValueError(f"output length {n_out} must be in 1..{n}")
    if s.size != n + n_out - 1:
        raise ValueError(f"seed must have n + m - 1 = {n + n_out - 1} bits, has {s.size}")
    if n > MAX_INPUT_BITS:
        raise ValueError(f"input of {n} bits exceeds the exact float64 range")
    length = scipy.fft.next_fast_len(n + n_out - 1, real=True)
    fs = scipy.fft.rfft(s.astype(np.float64), length)
    fx = scipy.fft.rfft(x.astype(np.float64), length)
    conv = scipy.fft.irfft(fs * fx, length)
    window = conv[n - 1:n - 1 + n_out]
    return (np.rint(window).astype(np.int64) & 1).astype(np.uint8)


def toeplitz_hash_reference(
    bits: NDArray[np.uint8], seed: NDArray[np.uint8], n_out: int
) -> NDArray[np.uint8]:
    """Straightforward ``T·x mod 2`` with the explicit matrix (small sizes, for tests)."""
    x = np.asarray(bits, dtype=np.int64)
    s = np.asarray(seed, dtype=np.int64)
    n = x.size
    i = np.arange(n_out)[:, None]
    j = np.arange(n)[None, :]
    t = s[i - j + n - 1]
    return ((t @ x) & 1).astype(np.uint8)
