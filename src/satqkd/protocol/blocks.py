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
