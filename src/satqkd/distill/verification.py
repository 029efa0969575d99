"""Verification of corrected keys: a universal hash tag, and the CRC-32 of final keys.

After LDPC decoding the ground must know, with a stated error probability, that its
corrected packet equals the satellite's. The satellite sends a tag ``h_r(x) + s mod p``
(:mod:`satqkd.distill.polyhash`) of its packet with a fresh public seed (r, s); the ground
compares with the tag of its decoded bits. A wrong decode that still satisfies the
syndrome passes with probability at most ε_ver = (L+1)/p ≈ 1.4e-15 per 100-kbit packet,
which is far below the configured ε_EC. The tag's bits (64) are counted as leaked.

The reference system also sends a CRC-32 of each final key (SPEC §7 step 5):
:func:`key_crc32` (zlib) is that check; it is a consistency check, not a security bound.
"""

from __future__ import annotations

import zlib

import numpy as np
from numpy.typing import NDArray

from satqkd.distill.polyhash import MERSENNE_61, collision_probability, field_element, poly_hash


def verification_tag(bits: NDArray[np.uint8], seed: bytes, tag_bits: int = 64) -> bytes:
    """Tag of a 0/1 bit array under a 16-byte public ``seed``; ``tag_bits/8`` bytes.

    The hash has 61 bits of output; tags longer than 64 bits repeat the construction with
    derived keys (independent hashes), shorter ones truncate it.
    """
    if len(seed) < 16:
        raise ValueError("the verification seed needs 16 bytes")
    n_bytes = (tag_bits + 7) // 8
    out = b""
    counter = 0
    while len(out) < n_bytes:
        r = field_element(seed[0:8]) ^ counter
        s = field_element(seed[8:16])
        out += ((poly_hash(bits, r) + s) % MERSENNE_61).to_bytes(8, "little")
        counter += 1
    return out[:n_bytes]


def verification_epsilon(n_bits: int, tag_bits: int = 64) -> float:
    """Probability that different keys of ``n_bits`` get the same tag (per comparison)."""
    hashes = max(1, (tag_bits + 63) // 64)
    eps_one = collision_probability((n_bits + 7) // 8 + 8)
    if tag_bits < 61:
        eps_one += 2.0 ** (-tag_bits)
    return eps_one**hashes


def key_crc32(bits: NDArray[np.uint8]) -> int:
    """CRC-32 of a 0/1 bit array packed MSB first (the reference system's key check)."""
    return zlib.crc32(np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes())
