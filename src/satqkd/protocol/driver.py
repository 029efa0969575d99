"""Drive one actor in real (optionally scaled) time over any :class:`FrameTransport`.

The loop is the same for the satellite and the ground station and for every transport:
act on the clock (the ground sends each detection batch when its second of the pass is
over), take the frames that arrived, hand them to the actor, put what its endpoint has to
send (acknowledgements, new messages, repetitions due) on the transport, and sleep until
the next thing is due. It stops when the actor is finished (and has lingered, answering
repetitions, for ``linger_s``, and waited up to ``drain_s`` for its last acknowledgements)
or at ``deadline_s``. The driver knows neither actor: only
the small :class:`Actor` interface both implement.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from satqkd.protocol.endpoint import Endpoint
from satqkd.protocol.transport import FrameTransport, PassClock

MAX_WAIT_S = 0.02
"""Longest wall-clock sleep between two looks at the clock."""


class Actor(Protocol):
    """What the driver calls (implemented by the satellite and the ground station)."""

    endpoint: Endpoint

    def tick(self, now_s: float) -> None: ...

    def next_event_s(self) -> float | None: ...

    def receive(self, frame: bytes, now_s: float) -> None: ...

    @property
    def finished(self) -> bool: ...


@dataclass
class DriverResult:
    """How the run of one actor ended (times in pass seconds, wall in seconds)."""

    finished: bool
    end_s: float
    finished_s: float | None
    wall_s: float
    frames_sent: int
    frames_received: int


def run_actor(
    actor: Actor, transport: FrameTransport, clock: PassClock, *, deadline_s: float,
    linger_s: float = 0.0, drain_s: float = 0.0,
) -> DriverResult:
    """Run ``actor`` over ``transport`` until it is finished, or ``deadline_s``.

    After the actor is finished the loop goes on answering for at least ``linger_s``, and
    until its own last messages are acknowledged or ``drain_s`` has passed (all pass
    seconds). The actor keeps its keys and state.
    """
    wall0 = time.perf_counter()
    sent = received = 0
    finished_s: float | None = None
    now = clock.now_s()
    while now < deadline_s:
        actor.tick(now)
        sent += _flush(actor, transport, clock.now_s())
        if actor.finished:
            if finished_s is None:
                finished_s = clock.now_s()
            since = clock.now_s() - finished_s
            if since >= linger_s and (actor.endpoint.pending() == 0 or since >= drain_s):
                break
        wait = MAX_WAIT_S
        for t in (actor.next_event_s(), actor.endpoint.next_deadline()):
            if t is not None:
                wait = min(wait, clock.wall_until_s(t))
        for frame in transport.receive(wait):
            received += 1
            actor.receive(frame, clock.now_s())
        sent += _flush(actor, transport, clock.now_s())
        now = clock.now_s()
    return DriverResult(finished_s is not None, clock.now_s(), finished_s,
                        time.perf_counter() - wall0, sent, received)


def _flush(actor: Actor, transport: FrameTransport, now_s: float) -> int:
    frames = actor.endpoint.outgoing(now_s)
    for frame in frames:
        transport.send(frame)
    return len(frames)
