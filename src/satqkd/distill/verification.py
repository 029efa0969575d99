"""Verification of corrected keys: a universal hash tag, and the CRC-32 of final keys.

After LDPC decoding the ground must know, with a stated error probability, that its corrected
packet equals the satellite's. The satellite draws a fresh public seed, sends the tag of its
packet under that seed, and the ground compares it with the tag of its decoded bits.

The tag is the polynomial hash of :mod:`satqkd.distill.polyhash` over GF(2^127 − 1), keyed by
the seed and truncated to ``tag_bits``. Tags longer than 128 bits concatenate independent
hashes, each keyed by its own 16 bytes of seed (:func:`verification_seed_bytes`). A decoder
output that differs from the satellite's packet yet has the same tag occurs with probability

    ε_ver = Π_j (d · 2^(128−t_j) + 1) / 2^127,   d = ⌈n/64⌉ + 1,

over the seed, t_j the bits taken from hash j (Σ t_j = ``tag_bits``); for 100 kbit and 64 bits
ε_ver ≈ 1.7e-16 (:func:`verification_epsilon`). The bound needs the wrong decode to be
independent of the seed, which holds because the decoder never sees it. The tag is public, so
its ``tag_bits`` are counted as leaked (:func:`verification_leak_bits`).

The reference system also sends a CRC-32 of each final key (SPEC §7 step 5): :func:`key_crc32`
(zlib) is that check; it is a consistency check, not a security bound.

Bit convention: keys are 0/1 uint8 arrays, packed most-significant bit first.
"""

from __future__ import annotations

import zlib

import numpy as np
from numpy.typing import NDArray

from satqkd.distill.polyhash import KEY_BYTES, collision_epsilon, field_key, poly_hash
from satqkd.errors import InputError

MAX_HASH_BITS = 128
DEFAULT_TAG_BITS = 64


def _split_tag_bits(tag_bits: int) -> list[int]:
    if tag_bits < 1:
        raise InputError("the verification tag needs at least one bit",
                         field="verification_tag_bits", value=tag_bits)
    full, rest = divmod(int(tag_bits), MAX_HASH_BITS)
    return [MAX_HASH_BITS] * full + ([rest] if rest else [])


def verification_seed_bytes(tag_bits: int = DEFAULT_TAG_BITS) -> int:
    """Bytes of public seed a ``tag_bits`` tag needs: 16 per 128 bits of tag."""
    return KEY_BYTES * len(_split_tag_bits(tag_bits))


def verification_tag(
    bits: NDArray[np.uint8], seed: bytes, tag_bits: int = DEFAULT_TAG_BITS
) -> bytes:
    """The ``tag_bits`` tag of a 0/1 bit array under a public ``seed``.

    Returns ⌈tag_bits/8⌉ bytes: the hashes' low bits, little-endian, concatenated in seed order
    (unused high bits of the last byte are zero). ``seed`` needs
    :func:`verification_seed_bytes` bytes (16 for tags up to 128 bits).
    """
    parts = _split_tag_bits(tag_bits)
    if len(seed) < KEY_BYTES * len(parts):
        raise ValueError(f"a {tag_bits}-bit verification tag needs a seed of "
                         f"{KEY_BYTES * len(parts)} bytes, got {len(seed)}")
    value = 0
    shift = 0
    for j, t in enumerate(parts):
        key = field_key(seed[KEY_BYTES * j:KEY_BYTES * (j + 1)])
        value |= (poly_hash(bits, key) & ((1 << t) - 1)) << shift
        shift += t
    return value.to_bytes((tag_bits + 7) // 8, "little")


def verification_epsilon(n_bits: int, tag_bits: int = DEFAULT_TAG_BITS) -> float:
    """ε_ver: probability that two different ``n_bits`` keys get equal tags (over the seed)."""
    eps = 1.0
    for t in _split_tag_bits(tag_bits):
        eps *= collision_epsilon(n_bits, t)
    return eps


def verification_leak_bits(tag_bits: int = DEFAULT_TAG_BITS) -> int:
    """Bits disclosed by one tag (charged against the key length): the tag length."""
    _split_tag_bits(tag_bits)
    return int(tag_bits)


def key_crc32(bits: NDArray[np.uint8]) -> int:
    """CRC-32 of a 0/1 bit array packed MSB first (the reference system's final-key check)."""
    return zlib.crc32(np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes())
