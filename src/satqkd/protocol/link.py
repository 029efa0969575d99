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
from typing import Any

import numpy as np
from numpy.typing import NDArray

from satqkd.photonics.timing import SPEED_OF_LIGHT_KM_S

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


@dataclass(frozen=True)
class LinkProfile:
    """One direction of the link over a pass, as data: what :class:`LinkDirection` runs on.

    ``t_s`` is pass time (s), ``range_km`` the slant range and ``loss_probability`` the
    frame-loss probability from the classical beam's budget at those times; faults are
    added on top (``extra_loss`` adds to the budget's probability, capped at 1). Being
    plain arrays and numbers, a profile can be handed to another process, which builds
    the same link there (:mod:`satqkd.protocol.transport`).
    """

    t_s: NDArray[np.float64]
    range_km: NDArray[np.float64]
    loss_probability: NDArray[np.float64]
    rate_bps: float = 156e6
    extra_loss: float = 0.0
    corrupt_probability: float = 0.0
    duplicate_probability: float = 0.0
    reorder_s: float = 0.0
    outages: tuple[tuple[float, float], ...] = ()

    def latency_s(self, t_s: float) -> float:
        """Light time range(t)/c at pass time ``t_s`` (s)."""
        return float(np.interp(t_s, self.t_s, self.range_km)) / SPEED_OF_LIGHT_KM_S

    def frame_loss(self, t_s: float) -> float:
        """Probability of losing a frame sent at ``t_s``: budget plus extra loss."""
        return min(1.0, float(np.interp(t_s, self.t_s, self.loss_probability))
                   + self.extra_loss)

    def direction(self, tamper: TamperFn | None = None) -> LinkDirection:
        """A fresh :class:`LinkDirection` (own counters) following this profile."""
        return LinkDirection(self.latency_s, self.frame_loss, rate_bps=self.rate_bps,
                             corrupt_probability=self.corrupt_probability,
                             duplicate_probability=self.duplicate_probability,
                             reorder_s=self.reorder_s, outages=self.outages, tamper=tamper)

    def to_arrays(self, prefix: str) -> dict[str, NDArray[Any]]:
        """The profile as named arrays (for an ``.npz`` file), names starting ``prefix``."""
        scalars = [self.rate_bps, self.extra_loss, self.corrupt_probability,
                   self.duplicate_probability, self.reorder_s]
        return {f"{prefix}t_s": self.t_s, f"{prefix}range_km": self.range_km,
                f"{prefix}loss_probability": self.loss_probability,
                f"{prefix}scalars": np.array(scalars, dtype=np.float64),
                f"{prefix}outages": np.array(self.outages, dtype=np.float64).reshape(-1, 2)}

    @classmethod
    def from_arrays(cls, data: Any, prefix: str) -> LinkProfile:
        """Inverse of :meth:`to_arrays`."""
        rate, extra, corrupt, dup, reorder = (float(x) for x in data[f"{prefix}scalars"])
        outages = tuple((float(a), float(b)) for a, b in data[f"{prefix}outages"])
        return cls(np.asarray(data[f"{prefix}t_s"], dtype=np.float64),
                   np.asarray(data[f"{prefix}range_km"], dtype=np.float64),
                   np.asarray(data[f"{prefix}loss_probability"], dtype=np.float64),
                   rate, extra, corrupt, dup, reorder, outages)
