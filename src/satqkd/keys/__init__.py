"""Key management: per-node key stores, ETSI GS QKD 014 delivery, relay and encryption.

Façade of the most used names; the submodules hold the rest:
:mod:`~satqkd.keys.store` (the SQLite key store), :mod:`~satqkd.keys.etsi014`
(the key-delivery REST service), :mod:`~satqkd.keys.relay` (trusted-node key relay,
file transfer), :mod:`~satqkd.keys.encryption` (one-time pad, AES-GCM).
"""

from satqkd.keys.encryption import aes_decrypt, aes_encrypt, otp_decrypt, otp_encrypt
from satqkd.keys.errors import (
    InsufficientKeyError,
    KeyAccessError,
    KeyDesyncError,
    KeyStateError,
    KeyStoreError,
)
from satqkd.keys.records import (
    CarvedKey,
    KeyRecord,
    LinkStats,
    Provenance,
    Segment,
    canonical_link,
    link_name,
)
from satqkd.keys.relay import RelayResult, SendResult, relay_key, send_file
from satqkd.keys.store import KeyStore

__all__ = [
    "CarvedKey",
    "InsufficientKeyError",
    "KeyAccessError",
    "KeyDesyncError",
    "KeyRecord",
    "KeyStateError",
    "KeyStore",
    "KeyStoreError",
    "LinkStats",
    "Provenance",
    "RelayResult",
    "Segment",
    "SendResult",
    "aes_decrypt",
    "aes_encrypt",
    "canonical_link",
    "link_name",
    "otp_decrypt",
    "otp_encrypt",
    "relay_key",
    "send_file",
]
