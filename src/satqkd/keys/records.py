"""Plain records of the key store: links, provenance, pool segments, keys and statistics.

A *link* is an unordered pair of node names (``"jinan1-sat:jinan"``). Its canonical
spelling puts the two names in sorted order, so both ends of a link, and every
caller, name it the same way whatever order they write it in.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from satqkd.errors import InputError

KeyState = Literal["available", "reserved", "delivered", "consumed"]
KEY_STATES: tuple[KeyState, ...] = ("available", "reserved", "delivered", "consumed")

#: Namespace of the deterministic block ids (UUID version 5): both ends of a link derive
#: the same id for the same privacy-amplification block without exchanging it.
BLOCK_NAMESPACE = uuid.UUID("5b8f3c1e-3d0a-4e55-9a51-6a2b7f1c0d42")


def new_key_id() -> str:
    """A new key ID: a version-7 UUID (RFC 9562) string, spelled as ``str(uuid.UUID)`` does.

    48 bits of Unix time in milliseconds, then 74 random bits (version and variant set
    by hand), built from the bytes directly at a third of :mod:`uuid`'s cost. Why
    time-ordered rather than version 4: the store's key table is indexed by key ID, and
    a random ID lands every insert on a random leaf page of that index, one more page
    for each key in the WAL (and in the next checkpoint); time-ordered IDs append at
    the right edge, so the keys of one batch share its last page. ETSI GS QKD 014 asks
    only for a UUID. What the time prefix reveals, the millisecond a key was carved,
    is no secret of the key, and 74 random bits keep IDs unguessable and collision-free.
    """
    b = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big") + os.urandom(10))
    b[6] = (b[6] & 0x0F) | 0x70  # version 7
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 / 9562 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@lru_cache(maxsize=4096)
def canonical_link(link: str) -> str:
    """Return the canonical name ``"a:b"`` (names sorted) of a link written ``"a:b"`` or ``"b:a"``.

    Raises :class:`~satqkd.errors.InputError` unless the link names two distinct,
    non-empty nodes.
    """
    parts = link.split(":")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise InputError("a link is two node names joined by ':'", field="link", value=link)
    a, b = (p.strip() for p in parts)
    if a == b:
        raise InputError("a link joins two different nodes", field="link", value=link)
    return ":".join(sorted((a, b)))


def link_name(node_a: str, node_b: str) -> str:
    """The canonical link name of the pair of nodes ``node_a`` and ``node_b``."""
    return canonical_link(f"{node_a}:{node_b}")


def link_nodes(link: str) -> tuple[str, str]:
    """The two node names of a link, in canonical order."""
    a, b = canonical_link(link).split(":")
    return a, b


@dataclass(frozen=True)
class Provenance:
    """Where a block of key material came from.

    ``pass_id`` names the satellite pass (or relay) that produced it and ``block_index``
    the privacy-amplification block within it; ``source`` is ``"qkd"`` for a block
    distilled on the link itself and ``"relay"`` for a key relayed by a trusted node.
    ``created_utc`` is an ISO 8601 time; the store fills it in when absent.
    """

    pass_id: str
    block_index: int = 0
    source: str = "qkd"
    created_utc: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The provenance as a JSON-ready dictionary."""
        return {
            "pass_id": self.pass_id,
            "block_index": self.block_index,
            "source": self.source,
            "created_utc": self.created_utc,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Provenance:
        """Inverse of :meth:`to_json`."""
        return cls(
            pass_id=str(data["pass_id"]),
            block_index=int(data.get("block_index", 0)),
            source=str(data.get("source", "qkd")),
            created_utc=data.get("created_utc"),
            extra=dict(data.get("extra", {})),
        )

    def block_id(self, link: str) -> str:
        """Deterministic block id (UUID 5) of this block on ``link``: the same at both ends."""
        name = f"{canonical_link(link)}|{self.source}|{self.pass_id}|{self.block_index}"
        return str(uuid.uuid5(BLOCK_NAMESPACE, name))


@dataclass(frozen=True)
class Segment:
    """Bytes ``[start_byte, stop_byte)`` of one pool block: the address of key material.

    Segments are public: the end that carves a key tells the other end which segments
    it used, and the other end carves exactly those (see :meth:`KeyStore.carve_at`).
    """

    block_id: str
    start_byte: int
    stop_byte: int

    @property
    def n_bytes(self) -> int:
        """Length of the segment in bytes."""
        return self.stop_byte - self.start_byte

    def to_json(self) -> list[Any]:
        """Compact JSON form ``[block_id, start_byte, stop_byte]``."""
        return [self.block_id, self.start_byte, self.stop_byte]

    @classmethod
    def from_json(cls, data: list[Any]) -> Segment:
        """Inverse of :meth:`to_json`."""
        return cls(str(data[0]), int(data[1]), int(data[2]))


@dataclass(frozen=True)
class CarvedKey:
    """A key just cut from a link's pool: its bytes and where they came from.

    ``epsilon`` is the sum of the security parameters of the blocks it draws on (a
    substring of an ε-secret key is ε-secret; keys from two blocks add their ε).
    ``discarded_bytes`` counts pool bytes erased unused to re-align with the other
    end (see :meth:`KeyStore.carve_at`).
    """

    key_id: str
    link: str
    material: bytes = field(repr=False)
    segments: tuple[Segment, ...]
    epsilon: float
    pass_ids: tuple[str, ...]
    discarded_bytes: int = 0

    @property
    def size_bits(self) -> int:
        """Key length in bits."""
        return 8 * len(self.material)


@dataclass(frozen=True)
class KeyRecord:
    """One row of the key table, without its secret bytes."""

    key_id: str
    link: str
    size_bits: int
    epsilon: float
    state: KeyState
    purpose: str
    master_sae: str | None
    slave_sae: str | None
    pass_ids: tuple[str, ...]
    segments: tuple[Segment, ...]
    created_utc: str
    updated_utc: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dictionary (for ``satqkd keys list --json``)."""
        return {
            "key_id": self.key_id,
            "link": self.link,
            "size_bits": self.size_bits,
            "epsilon": self.epsilon,
            "state": self.state,
            "purpose": self.purpose,
            "master_sae": self.master_sae,
            "slave_sae": self.slave_sae,
            "pass_ids": list(self.pass_ids),
            "segments": [s.to_json() for s in self.segments],
            "created_utc": self.created_utc,
            "updated_utc": self.updated_utc,
        }


@dataclass(frozen=True)
class BlockRecord:
    """One block of raw key material in a link's pool, without its bytes."""

    block_id: str
    link: str
    n_bits: int
    n_bytes: int
    consumed_bytes: int
    epsilon: float
    provenance: Provenance

    @property
    def available_bytes(self) -> int:
        """Bytes of this block not yet carved."""
        return self.n_bytes - self.consumed_bytes

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "block_id": self.block_id,
            "link": self.link,
            "n_bits": self.n_bits,
            "n_bytes": self.n_bytes,
            "consumed_bytes": self.consumed_bytes,
            "available_bytes": self.available_bytes,
            "epsilon": self.epsilon,
            "provenance": self.provenance.to_json(),
        }


@dataclass(frozen=True)
class LinkStats:
    """Summary of one link in one store: pool material and keys per state."""

    link: str
    n_blocks: int
    material_bits: int
    available_bits: int
    keys_by_state: dict[str, int]
    bits_by_state: dict[str, int]
    epsilon_max: float

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dictionary (for ``satqkd keys stats --json``)."""
        return {
            "link": self.link,
            "n_blocks": self.n_blocks,
            "material_bits": self.material_bits,
            "available_bits": self.available_bits,
            "keys_by_state": dict(self.keys_by_state),
            "bits_by_state": dict(self.bits_by_state),
            "epsilon_max": self.epsilon_max,
        }
