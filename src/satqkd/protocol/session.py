"""Run the satellite and the ground station live over the simulated optical link.

A discrete-event loop in simulated time: the ground's detections become available second
by second as the pass goes on, frames travel with the light time, the link rate and the
pass-dependent frame loss, every actor's processing time (measured on this machine) delays
what it sends, and messages repeat until acknowledged. The two actors exchange nothing but
frames of bytes; the loop only moves those bytes. At the end, both sides' stored keys are
compared (``keys_match``): a block is either held identically by both or by neither.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from satqkd.protocol.blocks import KeyBlock, KeyPairComparison
from satqkd.protocol.ground import GroundStation
from satqkd.protocol.link import LinkDirection
from satqkd.protocol.satellite import Satellite

ProgressFn = Callable[[float, int, int], None]
"""Called as the session advances: (simulated time s, packets decoded, final key bits)."""


@dataclass
class SessionOutcome(KeyPairComparison):
    """What happened during the protocol run (both sides' keys and the link's record)."""

    satellite_keys: dict[int, KeyBlock]
    ground_keys: dict[int, KeyBlock]
    ground: GroundStation
    satellite: Satellite
    end_s: float
    uplink: LinkDirection
    downlink: LinkDirection
    notes: list[str] = field(default_factory=list)

    def frames_lost(self) -> int:
        """Frames lost on both directions."""
        return self.uplink.stats.lost + self.downlink.stats.lost


def run_session(
    satellite: Satellite,
    ground: GroundStation,
    uplink: LinkDirection,
    downlink: LinkDirection,
    *,
    rng: np.random.Generator,
    max_time_s: float,
    progress: ProgressFn | None = None,
) -> SessionOutcome:
    """Run both actors until every block is resolved or ``max_time_s`` passes."""
    order = itertools.count()
    events: list[tuple[float, int, str, Any]] = []

    def push(t: float, kind: str, payload: Any = None) -> None:
        heapq.heappush(events, (t, next(order), kind, payload))

    # Earliest poll event queued per actor: one repetition timer each, not one per frame.
    next_poll = {"poll_sat": float("inf"), "poll_ground": float("inf")}

    def flush(actor: Satellite | GroundStation, link: LinkDirection, now: float,
              dest: str) -> None:
        for frame in actor.endpoint.outgoing(now):
            for t_arr, data in link.transmit(frame, now, rng):
                push(t_arr, dest, data)
        deadline = actor.endpoint.next_deadline()
        if deadline is not None:
            poll = "poll_" + ("sat" if dest == "ground" else "ground")
            t_poll = max(deadline, now + 1e-6)
            if t_poll < next_poll[poll]:
                next_poll[poll] = t_poll
                push(t_poll, poll)

    t_first = ground.next_batch_time()
    if t_first is not None:
        push(t_first, "batch")
    now = 0.0
    last_progress = -1.0
    # Each actor handles one event at a time: an event that comes while its actor is still
    # busy with an earlier one waits until the actor is free. (Before, a long computation
    # sent its result at now + processing while the actor went on sending at earlier
    # times; the link's queue then held those earlier frames behind the late ones, the
    # repetitions piled up behind them, and a pass could run for many minutes of wall time
    # and end with one-sided blocks.)
    busy_until = {"sat": 0.0, "ground": 0.0}
    owner = {"batch": "ground", "ground": "ground", "poll_ground": "ground",
             "sat": "sat", "poll_sat": "sat"}
    while events:
        now, _, kind, payload = heapq.heappop(events)
        if now > max_time_s:
            break
        actor_name = owner[kind]
        if now < busy_until[actor_name]:
            if kind.startswith("poll"):
                next_poll[kind] = min(next_poll[kind], busy_until[actor_name])
            push(busy_until[actor_name], kind, payload)
            continue
        if kind == "batch":
            before = ground.processing_s
            ground.send_batch()
            t = ground.next_batch_time()
            if t is not None:
                push(t, "batch")
            busy_until["ground"] = now + ground.processing_s - before
            flush(ground, uplink, busy_until["ground"], "sat")
        elif kind == "sat":
            before = satellite.processing_s
            satellite.receive(payload, now)
            busy_until["sat"] = now + satellite.processing_s - before
            flush(satellite, downlink, busy_until["sat"], "ground")
        elif kind == "ground":
            before = ground.processing_s
            ground.receive(payload, now)
            busy_until["ground"] = now + ground.processing_s - before
            flush(ground, uplink, busy_until["ground"], "sat")
        elif kind == "poll_sat":
            if now >= next_poll[kind]:
                next_poll[kind] = float("inf")
            flush(satellite, downlink, now, "ground")
        elif kind == "poll_ground":
            if now >= next_poll[kind]:
                next_poll[kind] = float("inf")
            flush(ground, uplink, now, "sat")
        if progress is not None and now - last_progress >= 1.0:
            last_progress = now
            progress(now, len(ground.state.packets),
                     sum(int(k.bits.size) for k in ground.keys.values()))
        if (ground.done and satellite.ended and satellite.endpoint.pending() == 0
                and ground.endpoint.pending() == 0):
            break
    outcome = SessionOutcome(dict(satellite.keys), dict(ground.keys), ground, satellite, now,
                             uplink, downlink)
    if not ground.done:
        outcome.notes.append("the link closed before every block was resolved")
    return outcome

