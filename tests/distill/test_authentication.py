"""Wegman–Carter and HMAC authentication, the key pool, and a lossy repeating link."""

from __future__ import annotations

import numpy as np
import pytest

from satqkd.distill.authentication import (
    AuthenticationError,
    Authenticator,
    HmacAuthenticator,
    KeyExhaustedError,
    KeyPool,
    WegmanCarter,
    shared_pools,
    wegman_carter_epsilon,
)
from satqkd.errors import SatqkdError


def test_pool_hands_out_bits_once_in_order() -> None:
    material = bytes(range(32))
    pool = KeyPool(material)
    assert pool.size_bits == 256
    first = pool.take_bits(5)
    second = pool.take_bits(11)
    assert np.array_equal(np.concatenate([first, second]),
                          np.unpackbits(np.frombuffer(material[:2], np.uint8)))
    assert pool.take_bytes(2) == material[2:4]
    assert pool.bits_consumed == 32 and pool.bits_left == 224
    with pytest.raises(KeyExhaustedError):
        pool.take_bits(225)
    assert pool.bits_consumed == 32  # a refused request consumes nothing
    pool.take_bits(224)
    with pytest.raises(KeyExhaustedError):
        pool.take_bits(1)
    assert issubclass(KeyExhaustedError, SatqkdError)


def test_pool_from_bit_array() -> None:
    bits = np.array([1, 0, 1, 1, 0, 0, 0, 0, 1], np.uint8)
    pool = KeyPool(bits)
    assert pool.size_bits == 9
    assert np.array_equal(pool.take_bits(9), bits)
    with pytest.raises(ValueError, match="0/1"):
        KeyPool(np.array([2], np.uint8))


def test_round_trip_and_forgery_rejected() -> None:
    alice_pool, bob_pool = shared_pools(1, 4096)
    alice, bob = WegmanCarter(alice_pool), WegmanCarter(bob_pool)
    assert isinstance(alice, Authenticator)
    msg = b"privacy amplification instruction, block 7"
    tag = alice.tag(msg, 0)
    assert len(tag) == 8
    assert bob.verify(msg, tag, 0)
    assert not bob.verify(msg + b"!", tag, 0)
    assert not bob.verify(msg, tag, 1)  # same tag, wrong message number
    assert not bob.verify(msg, bytes([tag[0] ^ 1]) + tag[1:], 0)
    with pytest.raises(AuthenticationError):
        bob.check(msg + b"!", tag, 0)
    bob.check(msg, tag, 0)
    assert bob.failed_verifications == 4


def test_same_message_different_index_gets_an_unrelated_tag() -> None:
    alice = WegmanCarter(shared_pools(2, 4096)[0])
    tags = {alice.tag(b"ack", k) for k in range(50)}
    assert len(tags) == 50


def test_lossy_link_with_repeats_stays_in_step() -> None:
    alice_pool, bob_pool = shared_pools(3, 1 << 14)
    alice, bob = WegmanCarter(alice_pool, tag_bits=64), WegmanCarter(bob_pool, tag_bits=64)
    rng = np.random.default_rng(3)
    sent = {k: (rng.bytes(int(rng.integers(1, 300))),) for k in range(200)}
    wire = [(k, m, alice.tag(m, k)) for k, (m,) in sent.items()]
    # every message repeated a few times, most frames lost, order shuffled
    frames = [f for f in wire for _ in range(3)]
    rng.shuffle(frames)
    delivered = [f for f in frames if rng.random() < 0.3]
    assert delivered and len({k for k, _, _ in delivered}) < 200
    assert all(bob.verify(m, t, k) for k, m, t in delivered)
    # a repeated message is tagged identically; pads were drawn once per index
    k, (m,) = 17, sent[17]
    assert alice.tag(m, k) == wire[17][2]
    assert alice_pool.bits_consumed == 128 + 64 * 200
    assert bob_pool.bits_consumed <= alice_pool.bits_consumed


def test_pad_never_reused_for_another_message() -> None:
    alice = WegmanCarter(shared_pools(4, 4096)[0])
    alice.tag(b"one", 5)
    with pytest.raises(AuthenticationError, match="already tagged"):
        alice.tag(b"two", 5)


def test_key_consumption_and_exhaustion() -> None:
    alice_pool, bob_pool = shared_pools(5, 16 + 8 * 10)
    alice, bob = WegmanCarter(alice_pool), WegmanCarter(bob_pool)
    for k in range(10):
        assert bob.verify(b"m", alice.tag(b"m", k), k)
    assert alice.key_bits_used() == 128 + 64 * 10 == alice_pool.bits_consumed
    with pytest.raises(KeyExhaustedError):
        alice.tag(b"m", 10)
    assert not bob.verify(b"m", b"\x00" * 8, 10)


@pytest.mark.parametrize("tag_bits", [16, 64, 100, 128])
def test_tag_lengths(tag_bits: int) -> None:
    alice_pool, bob_pool = shared_pools(6, 4096)
    alice, bob = WegmanCarter(alice_pool, tag_bits), WegmanCarter(bob_pool, tag_bits)
    tag = alice.tag(b"hello", 3)
    assert len(tag) == (tag_bits + 7) // 8
    assert int.from_bytes(tag, "little") < 2**tag_bits
    assert bob.verify(b"hello", tag, 3)
    assert alice_pool.bits_consumed == 128 + 4 * tag_bits


def test_forgery_rate_of_short_tags() -> None:
    # With 8-bit tags an attacker who changes the message and keeps the tag succeeds with
    # probability ≈ 2^-8 over the keys (bound ε = (d·2^120 + 1)/2^127).
    rng = np.random.default_rng(7)
    trials, hits = 3000, 0
    for _ in range(trials):
        material = rng.bytes(64)
        alice, bob = WegmanCarter(KeyPool(material), 8), WegmanCarter(KeyPool(material), 8)
        hits += bob.verify(b"pay 10", alice.tag(b"pay 10", 0), 0) and bob.verify(
            b"pay 99", alice.tag(b"pay 10", 0), 0)
    rate = hits / trials
    assert rate <= wegman_carter_epsilon(6, 8)
    assert abs(rate - 2**-8) < 5 * np.sqrt(2**-8 / trials)


def test_epsilon_bound() -> None:
    assert wegman_carter_epsilon(1000, 64) == pytest.approx((126 * 2.0**64 + 1) / 2.0**127)
    assert WegmanCarter(shared_pools(8, 64)[0]).epsilon(1000) == wegman_carter_epsilon(1000)


def test_hmac_option() -> None:
    alice_pool, bob_pool = shared_pools(9, 64)
    alice, bob = HmacAuthenticator(alice_pool), HmacAuthenticator(bob_pool)
    assert isinstance(alice, Authenticator)
    tag = alice.tag(b"abc", 1)
    assert len(tag) == 16
    assert bob.verify(b"abc", tag, 1)
    assert not bob.verify(b"abd", tag, 1)
    assert not bob.verify(b"abc", tag, 2)
    with pytest.raises(AuthenticationError):
        bob.check(b"abd", tag, 1)
    assert alice.key_bits_used() == 256 == alice_pool.bits_consumed
    with pytest.raises(ValueError, match="32-byte"):
        HmacAuthenticator(b"short")


def test_bad_arguments() -> None:
    pool = shared_pools(10, 64)[0]
    with pytest.raises(ValueError, match="1 to 128"):
        WegmanCarter(pool, 129)
    alice = WegmanCarter(pool)
    with pytest.raises(ValueError, match=">= 0"):
        alice.tag(b"x", -1)
