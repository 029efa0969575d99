"""Encryption with QKD key: one-time pad, and AES-GCM keyed from the pool.

One-time pad: the pad is carved from the link's pool in the same transaction that
erases it, so pad bytes cannot be used twice (a second carve gets the next bytes;
a crash leaves the pad either unused and intact or used and erased). The receiver
carves the same positions, named in the ciphertext, which also erases them there.
A message larger than the pool is refused before anything is consumed
(:class:`~satqkd.keys.errors.InsufficientKeyError`).

AES-GCM: a fresh 128- or 256-bit key per message, carved like a pad; the Jinan-1
experiments used QKD keys to seed AES-128 for 1-MByte files (SPEC §9). The 96-bit
nonce is random; key id and link are bound as associated data.

Each function acts for one node with that node's store; only the ciphertext objects
(positions of the key, never key bytes) travel between nodes. Whole messages are
held in memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from satqkd.errors import InputError
from satqkd.keys._db import xor_bytes
from satqkd.keys.errors import KeyStoreError
from satqkd.keys.records import Segment, canonical_link
from satqkd.keys.store import KeyStore

AES_KEY_BITS = (128, 256)


@dataclass(frozen=True)
class OtpCiphertext:
    """A one-time-pad ciphertext on ``link`` and the pool positions of its pad."""

    link: str
    key_id: str
    segments: tuple[Segment, ...]
    ciphertext: bytes


@dataclass(frozen=True)
class AesCiphertext:
    """An AES-GCM ciphertext (tag appended) and the pool positions of its key."""

    link: str
    key_id: str
    segments: tuple[Segment, ...]
    key_bits: int
    nonce: bytes
    ciphertext: bytes


def otp_encrypt(store: KeyStore, link: str, plaintext: bytes) -> OtpCiphertext:
    """Encrypt ``plaintext`` with a pad carved (and erased) from the pool of ``link``."""
    canon = canonical_link(link)
    if not plaintext:
        return OtpCiphertext(canon, "", (), b"")
    pad = store.carve(canon, len(plaintext), state="consumed", purpose="otp")
    return OtpCiphertext(canon, pad.key_id, pad.segments, xor_bytes(plaintext, pad.material))


def otp_decrypt(store: KeyStore, message: OtpCiphertext) -> bytes:
    """Decrypt with the pad at the positions the sender named (carved and erased here)."""
    if not message.ciphertext:
        return b""
    pad = store.carve_at(
        message.link, message.segments, key_id=message.key_id, state="consumed", purpose="otp"
    )
    if len(pad.material) != len(message.ciphertext):
        raise KeyStoreError("the pad and the ciphertext differ in length")
    return xor_bytes(message.ciphertext, pad.material)


def otp_forward(store: KeyStore, message: OtpCiphertext, out_link: str) -> OtpCiphertext:
    """Trusted-node forwarding: strip the incoming pad, apply a fresh one on ``out_link``.

    The outgoing ciphertext is ``C ⊕ K_in ⊕ K_out`` (SPEC §9: the satellite forwards the
    message "with MN ⊕ MJ"). Both pads are consumed at this node.
    """
    return otp_encrypt(store, out_link, otp_decrypt(store, message))


def _aad(link: str, key_id: str) -> bytes:
    return f"satqkd-aes-gcm|{link}|{key_id}".encode()


def aes_encrypt(
    store: KeyStore, link: str, plaintext: bytes, *, key_bits: int = 256
) -> AesCiphertext:
    """Encrypt with AES-GCM under a fresh ``key_bits`` key carved from the pool of ``link``."""
    if key_bits not in AES_KEY_BITS:
        raise InputError("AES key length is 128 or 256 bits", field="key_bits", value=key_bits)
    canon = canonical_link(link)
    key = store.carve(canon, key_bits // 8, state="consumed", purpose=f"aes-{key_bits}-gcm")
    nonce = os.urandom(12)
    ciphertext = AESGCM(key.material).encrypt(nonce, plaintext, _aad(canon, key.key_id))
    return AesCiphertext(canon, key.key_id, key.segments, key_bits, nonce, ciphertext)


def aes_decrypt(store: KeyStore, message: AesCiphertext) -> bytes:
    """Decrypt and authenticate with the key at the positions the sender named.

    Raises :class:`~satqkd.keys.errors.KeyStoreError` when authentication fails
    (tampered ciphertext, or the two pools differ).
    """
    key = store.carve_at(
        message.link,
        message.segments,
        key_id=message.key_id,
        state="consumed",
        purpose=f"aes-{message.key_bits}-gcm",
    )
    try:
        return AESGCM(key.material).decrypt(
            message.nonce, message.ciphertext, _aad(message.link, message.key_id)
        )
    except InvalidTag as exc:
        raise KeyStoreError("AES-GCM authentication failed") from exc
