"""Authentication of every classical message (SPEC §7: signed instructions).

:class:`WegmanCarter` is information-theoretically secure: the tag of message number k is
``h_r(m) + s_k mod p`` with the polynomial hash of :mod:`satqkd.distill.polyhash`, a hash
key r taken once from the pre-shared key pool, and a fresh one-time pad s_k (64 bits from
the pool, at offset k·64 after the hash key). Indexing the pad by the message's sequence
number keeps both parties in step on a lossy link: a message repeated frame by frame
carries the same tag, and a lost message does not shift the pads of the next ones. The
probability that a forgery is accepted is at most ε_auth = (L+1)/p per attempt (L the
message length in 32-bit words); the key consumed is 64 bits for r plus 64 bits per
message sent.

:class:`HmacAuthenticator` is the computational option (HMAC-SHA256 from
``cryptography``, 128-bit tags, one 256-bit key, no per-message consumption).
"""

from __future__ import annotations

import hmac as _hmac

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC

from satqkd.distill.polyhash import MERSENNE_61, collision_probability, field_element, poly_hash
from satqkd.errors import SatqkdError


class KeyExhaustedError(SatqkdError):
    """The authentication key pool has no bits left for the next tag."""


class KeyPool:
    """A pre-shared (or previously distilled) secret used for tags; bits are never reused.

    ``material`` is the pool's bytes. Pads are read by offset (message number), so each
    pad byte is used for exactly one message index; :attr:`bytes_used` is the high-water
    mark of what has been consumed.
    """

    def __init__(self, material: bytes) -> None:
        self._material = bytes(material)
        self.bytes_used = 0

    def __len__(self) -> int:
        return len(self._material)

    def read(self, offset: int, n: int) -> bytes:
        """``n`` bytes at ``offset``; :class:`KeyExhaustedError` past the end."""
        if offset < 0 or offset + n > len(self._material):
            raise KeyExhaustedError(
                f"authentication key pool exhausted ({len(self._material)} bytes)"
            )
        self.bytes_used = max(self.bytes_used, offset + n)
        return self._material[offset:offset + n]


class WegmanCarter:
    """Wegman–Carter tags from a :class:`KeyPool` (8-byte tags, pads indexed by message)."""

    TAG_BYTES = 8

    def __init__(self, pool: KeyPool) -> None:
        self.pool = pool
        self._r = field_element(pool.read(0, 8))

    def tag(self, data: bytes, index: int) -> bytes:
        """Tag of message number ``index`` (≥ 0)."""
        pad = field_element(self.pool.read(8 + 8 * index, 8))
        return ((poly_hash(data, self._r) + pad) % MERSENNE_61).to_bytes(8, "little")

    def verify(self, data: bytes, tag: bytes, index: int) -> bool:
        """Whether ``tag`` is the tag of ``data`` as message ``index``."""
        try:
            expected = self.tag(data, index)
        except KeyExhaustedError:
            return False
        return _hmac.compare_digest(expected, tag)

    @staticmethod
    def epsilon(n_bytes: int) -> float:
        """Forgery probability bound per attempt for messages of ``n_bytes``."""
        return collision_probability(n_bytes)

    def key_bits_used(self) -> int:
        """Secret bits consumed so far (hash key + pads of the highest index used)."""
        return 8 * self.pool.bytes_used


class HmacAuthenticator:
    """HMAC-SHA256 tags (computational security), truncated to 16 bytes."""

    TAG_BYTES = 16

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("HMAC-SHA256 needs a 32-byte key")
        self._key = bytes(key[:32])

    def tag(self, data: bytes, index: int) -> bytes:
        mac = HMAC(self._key, hashes.SHA256())
        mac.update(index.to_bytes(8, "little") + data)
        return mac.finalize()[: self.TAG_BYTES]

    def verify(self, data: bytes, tag: bytes, index: int) -> bool:
        return _hmac.compare_digest(self.tag(data, index), tag)

    def key_bits_used(self) -> int:
        return 256


def shared_pools(seed: int, n_bytes: int) -> tuple[KeyPool, KeyPool]:
    """Two identical pools, one per party (a pre-shared key installed before launch)."""
    material = np.random.default_rng([seed, 0xA117]).bytes(n_bytes)
    return KeyPool(material), KeyPool(material)
