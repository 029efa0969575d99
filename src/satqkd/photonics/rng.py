"""Counter-based random numbers: Philox4x32-10, keyed by a seed and indexed by a counter.

The satellite uses one random number per pulse (intensity class, basis, bit) and must be
able to hand any of them to the post-processing by pulse number ("RND sequence number")
without storing the ~1.9e11 values of a pass. A counter-based generator does exactly that:
the value for pulse ``k`` is a pure function ``philox(counter=k, key=seed)``, so any pulse
can be looked up in any order, in parallel, and twice with the same answer.

Philox4x32-10 is the generator of Salmon, Moraes, Dror & Shaw, "Parallel random numbers:
as easy as 1, 2, 3" (SC'11), the one behind Random123, cuRAND and JAX. It passes BigCrush
with a 128-bit counter and 64-bit key. The implementation is checked in the tests against
the known-answer vectors published with Random123 (``kat_vectors``).

Streams: the 128-bit counter is ``(index_lo32, index_hi32, stream, 0)``, so independent
streams (the protocol choices, the intensity fluctuation, ...) come from the same seed and
the same pulse index without overlap.
"""

from __future__ import annotations

import numba
import numpy as np

from satqkd.errors import InputError

__all__ = [
    "philox4x32_10",
    "philox_uniform",
    "split_seed",
]

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)

_TWO_POW_M32 = 2.0**-32
_TWO_POW_M53 = 2.0**-53


@numba.njit(cache=True, inline="always")
def philox_block(
    c0: np.uint64, c1: np.uint64, c2: np.uint64, c3: np.uint64, k0: np.uint64, k1: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """One Philox4x32-10 block: 4 counter words and 2 key words (each < 2**32) to 4 words.

    Words are carried in uint64 so that the 32x32 -> 64 bit products are exact.
    """
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        hi0 = p0 >> _SHIFT32
        lo0 = p0 & _MASK32
        hi1 = p1 >> _SHIFT32
        lo1 = p1 & _MASK32
        c0 = hi1 ^ c1 ^ k0
        c1 = lo1
        c2 = hi0 ^ c3 ^ k1
        c3 = lo0
        k0 = (k0 + _W0) & _MASK32
        k1 = (k1 + _W1) & _MASK32
    return c0, c1, c2, c3


@numba.njit(cache=True)
def _philox_array(counter: np.ndarray, key: np.ndarray) -> np.ndarray:
    n = counter.shape[0]
    out = np.empty((n, 4), dtype=np.uint32)
    k0 = np.uint64(key[0])
    k1 = np.uint64(key[1])
    for i in range(n):
        r0, r1, r2, r3 = philox_block(
            np.uint64(counter[i, 0]),
            np.uint64(counter[i, 1]),
            np.uint64(counter[i, 2]),
            np.uint64(counter[i, 3]),
            k0,
            k1,
        )
        out[i, 0] = r0
        out[i, 1] = r1
        out[i, 2] = r2
        out[i, 3] = r3
    return out


def philox4x32_10(counter: np.ndarray, key: tuple[int, int]) -> np.ndarray:
    """Philox4x32-10 of each counter row ``counter[n, 4]`` (uint32) under ``key`` (2 x uint32).

    Returns ``uint32[n, 4]``. This is the raw generator, exposed for the known-answer tests
    and for any other part that needs keyed, indexable randomness.
    """
    ctr = np.ascontiguousarray(np.atleast_2d(np.asarray(counter, dtype=np.uint32)))
    if ctr.ndim != 2 or ctr.shape[1] != 4:
        raise ValueError(f"counter must have shape [n, 4], got {ctr.shape}")
    return _philox_array(ctr, np.asarray(key, dtype=np.uint32))


def split_seed(seed: int) -> tuple[int, int]:
    """The Philox key (low and high 32-bit words) of a non-negative 64-bit integer seed."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InputError("seed must be an integer", field="seed", value=seed)
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise InputError("seed must be in [0, 2**64)", field="seed", value=seed)
    return seed & 0xFFFFFFFF, seed >> 32


@numba.njit(cache=True)
def _uniform_kernel(index: np.ndarray, k0: np.uint64, k1: np.uint64, stream: np.uint64):
    n = index.shape[0]
    u0 = np.empty(n, dtype=np.float64)
    u1 = np.empty(n, dtype=np.float64)
    for i in range(n):
        idx = np.uint64(index[i])
        r0, r1, r2, r3 = philox_block(idx & _MASK32, idx >> _SHIFT32, stream, np.uint64(0), k0, k1)
        # 53-bit uniforms in (0, 1): never exactly 0, safe for logs.
        u0[i] = (float(((r0 << _SHIFT32) | r1) >> np.uint64(11)) + 0.5) * _TWO_POW_M53
        u1[i] = (float(((r2 << _SHIFT32) | r3) >> np.uint64(11)) + 0.5) * _TWO_POW_M53
    return u0, u1


def philox_uniform(index: np.ndarray, seed: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
    """Two independent uniforms in (0, 1) (53-bit) for each index, from stream ``stream``.

    ``index`` is a uint64 array (pulse numbers); the same (seed, stream, index) always gives
    the same pair.
    """
    k0, k1 = split_seed(seed)
    if not 0 <= int(stream) < 2**32:
        raise ValueError("stream must be a 32-bit unsigned integer")
    idx = np.ascontiguousarray(np.asarray(index, dtype=np.uint64).ravel())
    return _uniform_kernel(idx, np.uint64(k0), np.uint64(k1), np.uint64(stream))
