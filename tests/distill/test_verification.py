"""Verification tags of corrected keys, their ε, and the final-key CRC-32."""

from __future__ import annotations

import os
import zlib

import numpy as np
import pytest

from satqkd.distill.polyhash import (
    MERSENNE_127,
    collision_epsilon,
    field_key,
    n_blocks,
    poly_hash,
    poly_hash_reference,
)
from satqkd.distill.verification import (
    key_crc32,
    verification_epsilon,
    verification_leak_bits,
    verification_seed_bytes,
    verification_tag,
)
from satqkd.errors import InputError

EDGE_KEYS = [0, 1, 2, MERSENNE_127 - 1, MERSENNE_127 - 2, (1 << 64) - 1, 1 << 64, 1 << 126]


@pytest.mark.parametrize("key", EDGE_KEYS)
def test_numba_hash_matches_python_integers_at_edge_keys(key: int) -> None:
    for data in (b"", b"\x00", b"\xff" * 8, b"\xff" * 73, os.urandom(40)):
        assert poly_hash(data, key) == poly_hash_reference(data, key)


def test_numba_hash_matches_python_integers_random() -> None:
    rng = np.random.default_rng(0)
    for _ in range(100):
        key = field_key(rng.bytes(16))
        data = rng.bytes(int(rng.integers(0, 200)))
        assert poly_hash(data, key) == poly_hash_reference(data, key)
    bits = rng.integers(0, 2, 1001, dtype=np.uint8)
    assert poly_hash(bits, 12345) == poly_hash_reference(bits, 12345)


def test_hash_is_the_documented_polynomial() -> None:
    key = 987654321987654321987654321
    data = (5).to_bytes(8, "little") + (7).to_bytes(8, "little")
    # h = m1·r^3 + m2·r^2 + len_bits·r
    expected = (5 * key**3 + 7 * key**2 + 128 * key) % MERSENNE_127
    assert poly_hash(data, key) == expected


def test_encoding_is_injective_on_padding_and_length() -> None:
    key = field_key(bytes(range(16)))
    assert poly_hash(b"\x01", key) != poly_hash(b"\x01\x00", key)
    bits = np.array([1, 0, 1], np.uint8)
    assert poly_hash(bits, key) != poly_hash(np.array([1, 0, 1, 0], np.uint8), key)
    # bytes and their bits hash alike (MSB-first packing, bit length in both)
    assert poly_hash(np.unpackbits(np.frombuffer(b"ab", np.uint8)), key) == poly_hash(b"ab", key)


def test_tag_detects_a_single_bit_error() -> None:
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2, 100_000, dtype=np.uint8)
    seed = rng.bytes(16)
    tag = verification_tag(bits, seed)
    assert len(tag) == 8
    assert verification_tag(bits.copy(), seed) == tag
    for pos in (0, 1, 50_000, 99_999):
        flipped = bits.copy()
        flipped[pos] ^= 1
        assert verification_tag(flipped, seed) != tag
    assert verification_tag(bits, rng.bytes(16)) != tag


def test_short_tags_collide_at_the_stated_rate() -> None:
    # 8-bit tags of two fixed different messages over random seeds: ε(d, 8) ≈ d/2^7 bound,
    # and the collision rate of a good hash is ≈ 2^-8; check it is near that and below ε.
    rng = np.random.default_rng(2)
    a = rng.integers(0, 2, 256, dtype=np.uint8)
    b = a.copy()
    b[3] ^= 1
    trials = 4000
    hits = sum(verification_tag(a, s, 8) == verification_tag(b, s, 8)
               for s in (rng.bytes(16) for _ in range(trials)))
    assert hits / trials <= verification_epsilon(256, 8)
    assert abs(hits / trials - 2**-8) < 5 * np.sqrt(2**-8 / trials)


def test_long_tags_use_independent_seed_parts() -> None:
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, 1000, dtype=np.uint8)
    assert verification_seed_bytes(64) == 16
    assert verification_seed_bytes(128) == 16
    assert verification_seed_bytes(129) == 32
    assert verification_seed_bytes(256) == 32
    seed = rng.bytes(32)
    tag = verification_tag(bits, seed, 256)
    assert len(tag) == 32
    assert tag[:16] == verification_tag(bits, seed[:16], 128)
    assert tag[16:] == verification_tag(bits, seed[16:], 128)
    assert verification_tag(bits, seed, 20) == (
        int.from_bytes(tag[:3], "little") & 0xFFFFF).to_bytes(3, "little")
    with pytest.raises(ValueError, match="seed of 32 bytes"):
        verification_tag(bits, seed[:16], 200)


def test_epsilon_formula() -> None:
    d = n_blocks(100_000)
    assert d == 1564
    assert verification_epsilon(100_000, 64) == pytest.approx((d * 2.0**64 + 1) / 2.0**127)
    assert verification_epsilon(100_000, 64) < 2e-16
    assert verification_epsilon(100_000, 128) == pytest.approx((d + 1) / 2.0**127)
    assert verification_epsilon(100_000, 256) == pytest.approx(((d + 1) / 2.0**127) ** 2)
    assert collision_epsilon(100_000, 1) == 1.0
    assert verification_leak_bits(64) == 64
    with pytest.raises(InputError):
        verification_leak_bits(0)


def test_crc32_of_packed_key() -> None:
    bits = np.unpackbits(np.frombuffer(b"satqkd", np.uint8))
    assert key_crc32(bits) == zlib.crc32(b"satqkd")
