"""The two parties' authenticators, from a pre-shared key installed before launch.

Each direction has its own half of the pre-shared pool (so the satellite's message k and
the ground's message k never share a one-time pad). A party tags with its own direction's
Wegman–Carter instance and verifies with the other's; HMAC-SHA256 is the computational
alternative (``protocol.authentication = "hmac-sha256"``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from satqkd.config.models import Protocol
from satqkd.distill.authentication import HmacAuthenticator, KeyPool, WegmanCarter

POOL_BYTES_PER_DIRECTION = 1 << 20
"""Pre-shared pool per direction: 8-byte hash key + 8 bytes per message (131,071 messages)."""


@dataclass
class DirectionalAuthenticator:
    """Tags with one direction's key, verifies the peer's direction."""

    outgoing: WegmanCarter | HmacAuthenticator
    incoming: WegmanCarter | HmacAuthenticator

    def tag(self, data: bytes, index: int) -> bytes:
        return self.outgoing.tag(data, index)

    def verify(self, data: bytes, tag: bytes, index: int) -> bool:
        return self.incoming.verify(data, tag, index)


def make_authenticators(
    protocol: Protocol, seed: int
) -> tuple[DirectionalAuthenticator, DirectionalAuthenticator, Callable[[], int]]:
    """(satellite's, ground's) authenticators and a function giving the key bits consumed.

    The pre-shared key is drawn from ``seed`` (simulation of a key installed before launch
    or left from an earlier pass); each party gets its own copy of the bytes.
    """
    material = np.random.default_rng([seed, 0xA117]).bytes(2 * POOL_BYTES_PER_DIRECTION)
    down, up = material[:POOL_BYTES_PER_DIRECTION], material[POOL_BYTES_PER_DIRECTION:]
    if protocol.authentication == "hmac-sha256":
        sat = DirectionalAuthenticator(HmacAuthenticator(down[:32]), HmacAuthenticator(up[:32]))
        gnd = DirectionalAuthenticator(HmacAuthenticator(up[:32]), HmacAuthenticator(down[:32]))
        return sat, gnd, lambda: 512
    sat_out, sat_in = WegmanCarter(KeyPool(down)), WegmanCarter(KeyPool(up))
    gnd_out, gnd_in = WegmanCarter(KeyPool(up)), WegmanCarter(KeyPool(down))
    sat = DirectionalAuthenticator(sat_out, sat_in)
    gnd = DirectionalAuthenticator(gnd_out, gnd_in)
    return sat, gnd, lambda: sat_out.key_bits_used() + gnd_out.key_bits_used()
