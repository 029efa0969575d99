"""Swappable frame transports between the two actors, in real (optionally scaled) time.

A transport moves frames of bytes from one actor to the other and nothing else. Two
implementations share one interface (:class:`FrameTransport`):

* :class:`MemoryTransport` (a pair from :func:`memory_link`): both actors in one process
  (threads), frames handed over through in-memory queues;
* :class:`UdpTransport`: one UDP datagram per frame between two processes (loopback or
  any network), so the satellite and the ground station run as separate programs.

Both pass every outgoing frame through the same simulated optical channel first
(:class:`~satqkd.protocol.link.LinkDirection`: light time, link rate, the pass's frame
loss, extra faults), in pass time given by a :class:`PassClock`: a frame is handed to the
peer (or to the socket) when the clock reaches its arrival time. Without a channel, frames
go straight through (the network's own behaviour only). The discrete-event simulation in
:mod:`satqkd.protocol.session` runs the same actors over the same channel model without
real time at all.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from satqkd.protocol.link import LinkDirection

MAX_DATAGRAM_BYTES = 65_507
SOCKET_BUFFER_BYTES = 4 << 20
"""Requested socket buffers (the kernel may cap them; overflow is frame loss, repaired)."""


class PassClock:
    """Pass time (s) that runs ``time_scale`` times faster than the wall clock.

    Pass time 0 is at ``epoch_unix_s`` (wall clock, shared by processes on one machine).
    """

    def __init__(self, epoch_unix_s: float | None = None, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.epoch_unix_s = time.time() if epoch_unix_s is None else float(epoch_unix_s)
        self.time_scale = float(time_scale)

    def now_s(self) -> float:
        """The current pass time (s)."""
        return (time.time() - self.epoch_unix_s) * self.time_scale

    def wall_until_s(self, t_s: float) -> float:
        """Wall-clock seconds until pass time ``t_s`` (0 when already past)."""
        return max(0.0, (t_s - self.now_s()) / self.time_scale)


class FrameTransport(Protocol):
    """What an actor's driver needs from a transport."""

    def send(self, frame: bytes) -> None:
        """Put one frame on the link now."""
        ...

    def receive(self, timeout_s: float) -> list[bytes]:
        """Frames that have arrived; waits up to ``timeout_s`` wall seconds for the first."""
        ...

    def close(self) -> None:
        """Release the transport."""
        ...


@dataclass
class TransportStats:
    """Counters of one transport end (frames as the actor sees them)."""

    frames_sent: int = 0
    frames_received: int = 0
    datagrams_foreign: int = 0
    send_errors: int = 0


@dataclass
class _Inbox:
    heap: list[tuple[float, int, bytes]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)


class MemoryTransport:
    """One end of an in-process link; build the pair with :func:`memory_link`."""

    def __init__(self, clock: PassClock, channel: LinkDirection | None, outbox: _Inbox,
                 inbox: _Inbox, rng: np.random.Generator) -> None:
        self.clock = clock
        self.channel = channel
        self._outbox, self._inbox = outbox, inbox
        self.rng = rng
        self.stats = TransportStats()
        self._order = itertools.count()

    def send(self, frame: bytes) -> None:
        now = self.clock.now_s()
        self.stats.frames_sent += 1
        copies = (self.channel.transmit(frame, now, self.rng) if self.channel is not None
                  else [(now, frame)])
        with self._outbox.cond:
            for t_arrival, data in copies:
                heapq.heappush(self._outbox.heap, (t_arrival, next(self._order), data))
            self._outbox.cond.notify_all()

    def receive(self, timeout_s: float) -> list[bytes]:
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._inbox.cond:
            while True:
                now = self.clock.now_s()
                out = []
                while self._inbox.heap and self._inbox.heap[0][0] <= now:
                    out.append(heapq.heappop(self._inbox.heap)[2])
                left = deadline - time.monotonic()
                if out or left <= 0:
                    self.stats.frames_received += len(out)
                    return out
                if self._inbox.heap:
                    left = min(left, self.clock.wall_until_s(self._inbox.heap[0][0]))
                self._inbox.cond.wait(max(left, 1e-4))

    def close(self) -> None:
        """Nothing to release."""


def memory_link(
    clock: PassClock, uplink: LinkDirection | None, downlink: LinkDirection | None,
    seed: int = 0,
) -> tuple[MemoryTransport, MemoryTransport]:
    """(satellite end, ground end) of an in-memory link over the given channel directions."""
    to_ground, to_satellite = _Inbox(), _Inbox()
    sat = MemoryTransport(clock, downlink, to_ground, to_satellite,
                          np.random.default_rng([seed, 0]))
    ground = MemoryTransport(clock, uplink, to_satellite, to_ground,
                             np.random.default_rng([seed, 1]))
    return sat, ground


class UdpTransport:
    """Frames as UDP datagrams to ``peer``, through an optional simulated channel.

    ``sock`` is a bound datagram socket (made non-blocking here). Datagrams from any
    address but ``peer`` are counted and dropped. A frame the channel delays is held here
    and sent when the pass clock reaches its arrival time, so the peer receives it then.
    """

    def __init__(self, sock: socket.socket, peer: tuple[str, int], clock: PassClock,
                 channel: LinkDirection | None = None, seed: int = 0) -> None:
        self.sock = sock
        self.sock.setblocking(False)
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            with contextlib.suppress(OSError):  # a platform without the option
                self.sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER_BYTES)
        self.peer = (socket.gethostbyname(peer[0]), int(peer[1]))
        self.clock = clock
        self.channel = channel
        self.rng = np.random.default_rng([seed, 0x0DB])
        self.stats = TransportStats()
        self._held: list[tuple[float, int, bytes]] = []
        self._order = itertools.count()

    @classmethod
    def bind(cls, host: str, port: int, peer: tuple[str, int], clock: PassClock,
             channel: LinkDirection | None = None, seed: int = 0) -> UdpTransport:
        """A transport on a new socket bound to ``(host, port)`` (port 0: any free one)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((host, port))
        return cls(sock, peer, clock, channel, seed)

    @property
    def address(self) -> tuple[str, int]:
        """The local (host, port) this end receives on."""
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    def send(self, frame: bytes) -> None:
        if len(frame) > MAX_DATAGRAM_BYTES:
            raise ValueError("frame larger than a UDP datagram")
        now = self.clock.now_s()
        self.stats.frames_sent += 1
        if self.channel is None:
            self._sendto(frame)
            return
        for t_arrival, data in self.channel.transmit(frame, now, self.rng):
            heapq.heappush(self._held, (t_arrival, next(self._order), data))
        self._release()

    def _sendto(self, data: bytes) -> None:
        try:
            self.sock.sendto(data, self.peer)
        except OSError:  # buffer full, peer not (yet) listening: the frame is lost
            self.stats.send_errors += 1

    def _release(self) -> None:
        now = self.clock.now_s()
        while self._held and self._held[0][0] <= now:
            self._sendto(heapq.heappop(self._held)[2])

    def receive(self, timeout_s: float) -> list[bytes]:
        self._release()
        wait = max(0.0, timeout_s)
        if self._held:
            wait = min(wait, self.clock.wall_until_s(self._held[0][0]))
        readable, _, _ = select.select([self.sock], [], [], wait)
        self._release()
        out: list[bytes] = []
        if not readable:
            return out
        while True:
            try:
                data, addr = self.sock.recvfrom(MAX_DATAGRAM_BYTES)
            except (BlockingIOError, InterruptedError):
                break
            except ConnectionRefusedError:  # an earlier datagram found no listener
                continue
            if (addr[0], addr[1]) != self.peer:
                self.stats.datagrams_foreign += 1
                continue
            out.append(data)
        self.stats.frames_received += len(out)
        return out

    def close(self) -> None:
        """Send what the channel still holds (late frames) and close the socket."""
        self._release()
        self.sock.close()
