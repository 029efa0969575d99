"""The simulated classical optical link: latency, bandwidth, frame loss and faults.

Each direction (:class:`LinkDirection`) delivers frames after the light time range(t)/c
plus the serialisation time at the link rate (156 Mbit/s for Jinan-1, frames queue behind
each other), and loses each frame with a probability that follows the pass: the classical
beam's budget (:mod:`satqkd.link.classical`) plus any configured extra loss, or an outage
window. For tests it can also corrupt bits, duplicate, reorder, and hand frames to a
``tamper`` function (an active attacker on the channel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

LossFn = Callable[[float], float]
TamperFn = Callable[[bytes, float], bytes | None]


@dataclass
class LinkStats:
    """Counters of one direction."""

    frames: int = 0
    lost: int = 0
    corrupted: int = 0
    duplicated: int = 0
    tampered: int = 0
    bits: int = 0


@dataclass
class LinkDirection:
    """One direction of the link.

    ``latency_s(t)`` and ``loss_probability(t)`` are functions of the simulation time;
    ``outages`` are ``(start_s, end_s)`` windows where every frame is lost.
    """

    latency_s: LossFn
    loss_probability: LossFn
    rate_bps: float = 156e6
    corrupt_probability: float = 0.0
    duplicate_probability: float = 0.0
    reorder_s: float = 0.0
    outages: tuple[tuple[float, float], ...] = ()
    tamper: TamperFn | None = None
    stats: LinkStats = field(default_factory=LinkStats)
    _busy_until_s: float = 0.0

    def transmit(
        self, frame: bytes, now_s: float, rng: np.random.Generator
    ) -> list[tuple[float, bytes]]:
        """Send one frame at ``now_s``: the (arrival time, bytes) copies that reach the peer."""
        self.stats.frames += 1
        self.stats.bits += 8 * len(frame)
        start = max(now_s, self._busy_until_s)
        self._busy_until_s = start + 8 * len(frame) / self.rate_bps
        if any(a <= start < b for a, b in self.outages) or rng.random() < self.loss_probability(
            start
        ):
            self.stats.lost += 1
            return []
        if self.tamper is not None:
            changed = self.tamper(frame, start)
            if changed is None:
                self.stats.lost += 1
                return []
            if changed != frame:
                self.stats.tampered += 1
            frame = changed
        if self.corrupt_probability and rng.random() < self.corrupt_probability:
            data = bytearray(frame)
            bit = int(rng.integers(0, 8 * len(data)))
            data[bit // 8] ^= 1 << (bit % 8)
            frame = bytes(data)
            self.stats.corrupted += 1
        arrival = self._busy_until_s + self.latency_s(start)
        copies = [(arrival + (rng.uniform(0, self.reorder_s) if self.reorder_s else 0.0), frame)]
        if self.duplicate_probability and rng.random() < self.duplicate_probability:
            self.stats.duplicated += 1
            copies.append((arrival + rng.uniform(0, max(self.reorder_s, 1e-3)), frame))
        return copies
