"""What both actors call a final-key block, and how to name a block in an unverified body.

Shared by :mod:`satqkd.protocol.satellite` and :mod:`satqkd.protocol.ground` so that
neither actor imports the other: the only things the two parties have in common are this
record type, the message formats and the bytes that cross the link.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from satqkd.protocol.wire import WireError, decode_body


@dataclass
class KeyBlock:
    """A final key block held by one party, with its provenance.

    ``bits`` is the final key (0/1 bytes, shape ``[final_bits]``); ``committed_s`` the
    pass time at which this party stored it (None while pending).
    """

    block_id: int
    bits: NDArray[np.uint8]
    packet_ids: tuple[int, ...]
    report: dict
    committed_s: float | None = None


def unverified_block_id(body: bytes) -> int | None:
    """The ``block_id`` field of a body whose authentication failed (None if unreadable).

    Only ever used to *abandon* a block that has not progressed further: an attacker who
    forges the id can make a party drop a block, never accept or change a key.
    """
    try:
        value = decode_body(body).get("block_id")
    except WireError:
        return None
    return int(value) if isinstance(value, int) else None


class KeyPairComparison:
    """Both parties' stored blocks compared (simulation reports and tests only).

    Subclasses provide ``satellite_keys`` and ``ground_keys`` (block id → :class:`KeyBlock`).
    """

    satellite_keys: dict[int, KeyBlock]
    ground_keys: dict[int, KeyBlock]

    def _same(self, block_id: int) -> bool:
        return np.array_equal(self.satellite_keys[block_id].bits, self.ground_keys[block_id].bits)

    @property
    def keys_match(self) -> bool:
        """Every block held by either side is held by both, bit for bit."""
        return set(self.satellite_keys) == set(self.ground_keys) and all(
            self._same(b) for b in self.ground_keys)

    @property
    def mismatched_blocks(self) -> int:
        """Blocks both hold but with different bits (must be 0)."""
        return sum(1 for b in set(self.satellite_keys) & set(self.ground_keys)
                   if not self._same(b))

    @property
    def one_sided_blocks(self) -> int:
        """Blocks only one side committed (the link ended before the last acknowledgement)."""
        return len(set(self.satellite_keys) ^ set(self.ground_keys))

    @property
    def final_key_bits(self) -> int:
        """Bits of final key held identically by both sides."""
        return sum(int(self.ground_keys[b].bits.size) for b in self.ground_keys
                   if b in self.satellite_keys and self._same(b))
