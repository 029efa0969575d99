"""Authentication of every classical message (SPEC §7: signed instructions).

:class:`WegmanCarter` is information-theoretically secure. Each party builds its own instance
from its own copy of a pre-shared (or previously distilled) secret, a :class:`KeyPool`. The
instance takes a 128-bit hash key r from the pool once, then one-time pads of ``tag_bits``
bits, in order. The tag of message number k is

    tag_k(m) = (trunc_t(h_r(m)) + s_k) mod 2^t,

h_r the polynomial hash over GF(2^127 − 1) (:mod:`satqkd.distill.polyhash`), s_k the k-th pad.
The pad hides the hash completely, so tags reveal nothing about r and r is reused across
messages; a pad is never used for two different messages. Each forgery attempt (any message,
tag, index not sent by the peer) is accepted with probability at most

    ε_auth = (d · 2^(128−t) + 1) / 2^127,   d = ⌈8·bytes/64⌉ + 1 blocks,

(:meth:`WegmanCarter.epsilon`; 1.4e-17 for a 1-kB message and t = 64); q attempts succeed with
probability at most q·ε_auth. Key consumed: 128 bits for r plus t bits per message index used
(:attr:`KeyPool.bits_consumed`).

Lossy link. The message number k travels in the message (its sequence number) and the pad is
the k-th t-bit slice after r, so the pad depends on k alone: a lost message does not shift the
pads of later ones, and a message repeated frame by frame carries the same tag (same message,
same pad). A pad drawn for a message that was never received is simply skipped. The sender
refuses to tag a different message under an index already used (:class:`AuthenticationError`).

:class:`HmacAuthenticator` is the computational option (HMAC-SHA256 from ``cryptography``
over the index and the message, truncated; one 256-bit key, no consumption per message).
"""

from __future__ import annotations

import hmac as _hmac
from typing import Protocol, runtime_checkable

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC
from numpy.typing import NDArray

from satqkd.distill.polyhash import KEY_BYTES, collision_epsilon, field_key, poly_hash
from satqkd.errors import SatqkdError


class AuthenticationError(SatqkdError):
    """A message failed authentication, or a pad would have been used twice."""


class KeyExhaustedError(AuthenticationError):
    """The key pool has no bits left for what was asked."""


@runtime_checkable
class Authenticator(Protocol):
    """Tags and checks messages; ``index`` is the message's number, carried in the message."""

    tag_bytes: int

    def tag(self, message: bytes, index: int) -> bytes:
        """Tag of ``message`` sent as message number ``index``."""
        ...

    def verify(self, message: bytes, tag: bytes, index: int) -> bool:
        """Whether ``tag`` authenticates ``message`` as message number ``index``."""
        ...


class KeyPool:
    """A secret shared by both parties, handed out sequentially; no bit is handed out twice.

    ``material`` is the pool as bytes, or as a 0/1 uint8 bit array (one bit per element).
    :meth:`take_bits` / :meth:`take_bytes` return the next bits and advance; asking for more
    than is left raises :class:`KeyExhaustedError` and consumes nothing.
    """

    def __init__(self, material: bytes | NDArray[np.uint8]) -> None:
        if isinstance(material, np.ndarray):
            bits = np.asarray(material, dtype=np.uint8)
            if bits.size and int(bits.max()) > 1:
                raise ValueError("a bit-array key pool holds 0/1 values")
            self._packed = np.packbits(bits)
            self.size_bits = int(bits.size)
        else:
            self._packed = np.frombuffer(bytes(material), dtype=np.uint8)
            self.size_bits = 8 * len(material)
        self.bits_consumed = 0

    @property
    def bits_left(self) -> int:
        """Bits not yet handed out."""
        return self.size_bits - self.bits_consumed

    def take_bits(self, n_bits: int) -> NDArray[np.uint8]:
        """The next ``n_bits`` bits as a 0/1 uint8 array."""
        if n_bits < 0:
            raise ValueError("cannot take a negative number of bits")
        if n_bits > self.bits_left:
            raise KeyExhaustedError(
                f"key pool exhausted: {n_bits} bits asked, {self.bits_left} of "
                f"{self.size_bits} left")
        start = self.bits_consumed
        first, last = start // 8, -(-(start + n_bits) // 8)
        bits = np.unpackbits(self._packed[first:last])[start - 8 * first:][:n_bits]
        self.bits_consumed += n_bits
        return bits

    def take_bytes(self, n_bytes: int) -> bytes:
        """The next ``8·n_bytes`` bits, packed MSB first."""
        return np.packbits(self.take_bits(8 * n_bytes)).tobytes()


class _Checking:
    """:meth:`check` for an authenticator that has ``verify``: raise on a wrong tag."""

    def verify(self, message: bytes, tag: bytes, index: int) -> bool:
        raise NotImplementedError

    def check(self, message: bytes, tag: bytes, index: int) -> None:
        """:meth:`verify`, raising :class:`AuthenticationError` on a wrong tag."""
        if not self.verify(message, tag, index):
            raise AuthenticationError(f"message {index}: wrong authentication tag")


class WegmanCarter(_Checking):
    """Wegman–Carter tags of ``tag_bits`` (1–128) bits from a :class:`KeyPool`.

    The 128-bit hash key is taken from ``pool`` at construction; pads are taken in index order
    as higher indices are used. Both parties must build their instance from pools in the same
    state and use the pool for nothing else meanwhile.
    """

    def __init__(self, pool: KeyPool, tag_bits: int = 64) -> None:
        if not 1 <= tag_bits <= 128:
            raise ValueError(f"Wegman–Carter tags have 1 to 128 bits, not {tag_bits}")
        self.pool = pool
        self.tag_bits = int(tag_bits)
        self.tag_bytes = (self.tag_bits + 7) // 8
        self._mask = (1 << self.tag_bits) - 1
        self._key = field_key(pool.take_bytes(KEY_BYTES))
        self._key_bits = 8 * KEY_BYTES
        self._pads: list[int] = []
        self._sent: dict[int, int] = {}
        self.failed_verifications = 0

    def _pad(self, index: int) -> int:
        if index < 0:
            raise ValueError(f"message index must be >= 0, got {index}")
        missing = index + 1 - len(self._pads)
        if missing > 0:
            bits = self.pool.take_bits(missing * self.tag_bits).reshape(missing, self.tag_bits)
            rows = np.packbits(bits, axis=1)  # each pad MSB first, zero-filled on the right
            spare = 8 * rows.shape[1] - self.tag_bits
            self._pads.extend(int.from_bytes(row.tobytes(), "big") >> spare for row in rows)
        return self._pads[index]

    def _truncated_hash(self, message: bytes) -> int:
        return poly_hash(message, self._key) & self._mask

    def tag(self, message: bytes, index: int) -> bytes:
        """Tag of ``message`` as message number ``index`` (≥ 0).

        Raises :class:`AuthenticationError` when ``index`` was already used for a message
        with a different hash (the pad would be reused), :class:`KeyExhaustedError` when
        the pool has no pad for ``index``.
        """
        if index < 0:
            raise ValueError(f"message index must be >= 0, got {index}")
        h = self._truncated_hash(message)
        if self._sent.setdefault(index, h) != h:
            raise AuthenticationError(f"message index {index} already tagged another message")
        value = (h + self._pad(index)) & self._mask
        return value.to_bytes(self.tag_bytes, "little")

    def verify(self, message: bytes, tag: bytes, index: int) -> bool:
        """Whether ``tag`` is the tag of ``message`` as message number ``index``."""
        try:
            pad = self._pad(index)
        except (KeyExhaustedError, ValueError):
            self.failed_verifications += 1
            return False
        expected = ((self._truncated_hash(message) + pad) & self._mask).to_bytes(
            self.tag_bytes, "little")
        ok = _hmac.compare_digest(expected, bytes(tag))
        if not ok:
            self.failed_verifications += 1
        return ok

    def epsilon(self, n_bytes: int) -> float:
        """ε_auth: forgery probability bound per attempt for messages of ``n_bytes``."""
        return wegman_carter_epsilon(n_bytes, self.tag_bits)

    def key_bits_used(self) -> int:
        """Secret bits this instance took from its pool: hash key + pads drawn."""
        return self._key_bits + self.tag_bits * len(self._pads)


def wegman_carter_epsilon(n_bytes: int, tag_bits: int = 64) -> float:
    """Forgery probability per attempt, ``(d·2^(128−t) + 1)/2^127``, d = ⌈n_bytes/8⌉ + 1."""
    return collision_epsilon(8 * int(n_bytes), tag_bits)


class HmacAuthenticator(_Checking):
    """HMAC-SHA256 tags over ``index ‖ message`` (computational security), truncated.

    ``key`` is 32 bytes, or a :class:`KeyPool` from which 256 bits are taken. The guessing
    probability of a ``tag_bits`` tag is 2^−tag_bits; the security rests on SHA-256.
    """

    def __init__(self, key: bytes | KeyPool, tag_bits: int = 128) -> None:
        raw = key.take_bytes(32) if isinstance(key, KeyPool) else bytes(key)
        if len(raw) < 32:
            raise ValueError("HMAC-SHA256 needs a 32-byte key")
        if tag_bits % 8 or not 64 <= tag_bits <= 256:
            raise ValueError(f"HMAC tags are 64 to 256 bits in whole bytes, not {tag_bits}")
        self._key = raw[:32]
        self.tag_bits = int(tag_bits)
        self.tag_bytes = self.tag_bits // 8
        self.failed_verifications = 0

    def tag(self, message: bytes, index: int) -> bytes:
        """Tag of ``message`` as message number ``index``."""
        mac = HMAC(self._key, hashes.SHA256())
        mac.update(int(index).to_bytes(8, "little") + bytes(message))
        return mac.finalize()[: self.tag_bytes]

    def verify(self, message: bytes, tag: bytes, index: int) -> bool:
        """Whether ``tag`` is the tag of ``message`` as message number ``index``."""
        ok = _hmac.compare_digest(self.tag(message, index), bytes(tag))
        if not ok:
            self.failed_verifications += 1
        return ok

    def epsilon(self, n_bytes: int) -> float:
        """Tag-guessing probability 2^−tag_bits (computational: assumes SHA-256 is sound)."""
        del n_bytes
        return 2.0 ** (-self.tag_bits)

    def key_bits_used(self) -> int:
        """Secret bits used: the 256-bit HMAC key."""
        return 256


def shared_pools(seed: int, n_bytes: int) -> tuple[KeyPool, KeyPool]:
    """Two identical pools, one per party (a simulated key installed before launch)."""
    material = np.random.default_rng([seed, 0xA117]).bytes(n_bytes)
    return KeyPool(material), KeyPool(material)
