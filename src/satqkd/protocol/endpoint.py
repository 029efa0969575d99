"""Reliable, authenticated delivery of messages over a lossy frame link.

Each actor owns one :class:`Endpoint`. Outgoing messages are wrapped in an authenticated
envelope (:mod:`satqkd.protocol.wire`), cut into frames of the classical link's frame size,
and every frame of a message is repeated, frame by frame, until the peer acknowledges the
message (SPEC §6–7). Incoming frames are checked (CRC-32), reassembled, authenticated and
delivered once: duplicates are acknowledged again but not delivered again, so handling is
idempotent and a link outage simply delays delivery until the link returns.

Repetition backs off while the peer is silent: a message repeated at time t is next due
after the time since anything was last heard from the peer, clipped to
[``retransmit_s``, ``max_retransmit_s``]; as soon as a frame from the peer arrives, every
waiting message falls due again ``retransmit_s`` after its last sending. Under frame loss
the peer keeps being heard and repetitions stay fast; during an outage they slow to one
per ``max_retransmit_s`` instead of flooding the link's queue, and resume within
``max_retransmit_s`` of the link's return.

Frame layout (little-endian)::

    sender u8 | seq u32 | frame_no u16 | n_frames u16 | length u16 | crc32 u32 | payload

Acknowledgements are small unauthenticated envelopes (kind ACK, seq 0) listing the
sequence numbers received: a forged acknowledgement can only stop a retransmission, the
same denial of service an eavesdropper has by blocking the beam; it cannot change a key.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from satqkd.protocol.messages import Ack, Kind, Message, decode_message
from satqkd.protocol.wire import Envelope, WireError, parse_envelope

_FRAME = struct.Struct("<BIHHHI")
FRAME_HEADER_BYTES = _FRAME.size
"""Bytes of frame header before the payload (17)."""


@dataclass(frozen=True)
class FrameHeader:
    """The header of one frame: whose message, which one, which part of it."""

    sender: int
    seq: int
    frame_no: int
    n_frames: int
    length: int
    crc32: int


def seal_frame(sender: int, seq: int, frame_no: int, n_frames: int, payload: bytes) -> bytes:
    """One frame on the wire: header, CRC-32 over header and payload, payload."""
    head = _FRAME.pack(sender, seq, frame_no, n_frames, len(payload), 0)[:-4]
    return head + struct.pack("<I", zlib.crc32(head + payload)) + payload


def parse_frame(frame: bytes, *, check_crc: bool = True) -> tuple[FrameHeader, bytes] | None:
    """(header, payload) of a frame; None when it is too short, inconsistent or corrupt."""
    if len(frame) < _FRAME.size:
        return None
    header = FrameHeader(*_FRAME.unpack_from(frame, 0))
    payload = frame[_FRAME.size:]
    if len(payload) != header.length or header.frame_no >= header.n_frames:
        return None
    if check_crc and zlib.crc32(frame[:_FRAME.size - 4] + payload) != header.crc32:
        return None
    return header, payload


class MessageAuthenticator(Protocol):
    """Tags and checks messages; ``index`` is the message's sequence number."""

    def tag(self, data: bytes, index: int) -> bytes: ...

    def verify(self, data: bytes, tag: bytes, index: int) -> bool: ...


@dataclass(frozen=True)
class Received:
    """A delivered message, or an authentication failure (``message`` None, ``kind`` set)."""

    seq: int
    kind: int
    message: Message | None
    body: bytes
    authentic: bool


@dataclass
class EndpointStats:
    """Counters of what the endpoint saw (reported per pass)."""

    messages_sent: int = 0
    frames_sent: int = 0
    frames_retransmitted: int = 0
    frames_received: int = 0
    frames_corrupt: int = 0
    duplicates: int = 0
    auth_failures: int = 0
    malformed: int = 0


@dataclass
class _Outgoing:
    frames: list[bytes]
    kind: int
    last_sent_s: float = -1e30
    due_s: float = -1e30
    acked: bool = False


@dataclass
class _Reassembly:
    n_frames: int
    parts: dict[int, bytes] = field(default_factory=dict)


class Endpoint:
    """One side's reliable authenticated messaging over frames.

    Parameters
    ----------
    sender_id:
        0 for the satellite, 1 for the ground station (written in every frame).
    authenticator:
        Tags this side's messages and verifies the peer's.
    frame_bytes:
        Payload bytes per frame (the classical link's frame size).
    retransmit_s:
        How long to wait for an acknowledgement before repeating a message's frames.
    max_retransmit_s:
        Longest interval between repetitions while the peer is silent (default
        8 × ``retransmit_s``).
    """

    def __init__(
        self, sender_id: int, authenticator: MessageAuthenticator, *, frame_bytes: int = 1024,
        retransmit_s: float = 0.05, max_retransmit_s: float | None = None,
    ) -> None:
        self.sender_id = sender_id
        self.auth = authenticator
        self.frame_bytes = frame_bytes
        self.retransmit_s = retransmit_s
        self.max_retransmit_s = (8 * retransmit_s if max_retransmit_s is None
                                 else max(retransmit_s, max_retransmit_s))
        self._heard_s: float | None = None
        self._heard_new = False
        self.stats = EndpointStats()
        self._next_seq = 1
        self._out: dict[int, _Outgoing] = {}
        self._in: dict[int, _Reassembly] = {}
        self._delivered: set[int] = set()
        self._to_ack: set[int] = set()

    # -- sending ---------------------------------------------------------------------------
    def send(self, message: Message) -> int:
        """Queue ``message``; returns its sequence number."""
        seq = self._next_seq
        self._next_seq += 1
        env = Envelope(int(message.KIND), self.sender_id, seq, message.to_body(), b"")
        signed = env.signed_bytes()
        env = Envelope(env.kind, env.sender, seq, env.body, self.auth.tag(signed, seq))
        self._out[seq] = _Outgoing(self._frames(seq, env.to_bytes()), int(message.KIND))
        self.stats.messages_sent += 1
        return seq

    def supersede(self, seq: int) -> None:
        """Stop repeating message ``seq`` (a newer message replaces it)."""
        self._out.pop(seq, None)

    def _frames(self, seq: int, data: bytes) -> list[bytes]:
        size = self.frame_bytes
        chunks = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
        return [seal_frame(self.sender_id, seq, no, len(chunks), chunk)
                for no, chunk in enumerate(chunks)]

    def pending(self) -> int:
        """Messages still waiting for an acknowledgement."""
        return sum(1 for o in self._out.values() if not o.acked)

    def outgoing(self, now_s: float) -> list[bytes]:
        """Frames to put on the link now: acknowledgements, new frames, repetitions due."""
        frames: list[bytes] = []
        if self._to_ack:
            seqs = sorted(self._to_ack)
            self._to_ack.clear()
            per_frame = max(1, (self.frame_bytes - 64) // 4)
            for i in range(0, len(seqs), per_frame):
                chunk = np.array(seqs[i:i + per_frame], dtype=np.uint32)
                env = Envelope(int(Kind.ACK), self.sender_id, 0, Ack(chunk).to_body(), b"")
                frames.extend(self._frames(0, env.to_bytes()))
        if self._heard_s is None:
            self._heard_s = now_s
        if self._heard_new:  # the peer is there: what waits is due again soon
            self._heard_new = False
            self._heard_s = now_s
            for out in self._out.values():
                out.due_s = min(out.due_s, out.last_sent_s + self.retransmit_s)
        interval = min(self.max_retransmit_s, max(self.retransmit_s, now_s - self._heard_s))
        for out in self._out.values():
            if out.acked or now_s < out.due_s:
                continue
            if out.last_sent_s > -1e29:
                self.stats.frames_retransmitted += len(out.frames)
            out.last_sent_s = now_s
            out.due_s = now_s + interval
            frames.extend(out.frames)
        self.stats.frames_sent += len(frames)
        return frames

    def next_deadline(self) -> float | None:
        """When the next repetition falls due (None when nothing waits)."""
        if self._to_ack:
            return -1e30
        if self._heard_new:
            times = [min(o.due_s, o.last_sent_s + self.retransmit_s)
                     for o in self._out.values() if not o.acked]
        else:
            times = [o.due_s for o in self._out.values() if not o.acked]
        return min(times) if times else None

    # -- receiving -------------------------------------------------------------------------
    def incoming(self, frame: bytes) -> list[Received]:
        """Take one frame from the link; return the messages it completes."""
        self.stats.frames_received += 1
        parsed = parse_frame(frame)
        if parsed is None:
            self.stats.frames_corrupt += 1
            return []
        header, payload = parsed
        sender, seq, no, n_frames = header.sender, header.seq, header.frame_no, header.n_frames
        if sender == self.sender_id:
            return []
        self._heard_new = True
        if seq == 0:  # acknowledgements always fit in one frame
            return self._deliver(seq, payload) if n_frames == 1 else []
        if seq in self._delivered:
            self.stats.duplicates += 1
            # Acknowledge a repeated message again, but once per copy (on its first or last
            # frame), not once per frame: acknowledgements of every frame of long repeated
            # messages congested the other direction, delayed the acknowledgements, and
            # caused more repetitions (a feedback loop seen with slow processing).
            if no == 0 or no == n_frames - 1:
                self._to_ack.add(seq)
            return []
        buf = self._in.setdefault(seq, _Reassembly(n_frames))
        if buf.n_frames != n_frames:
            del self._in[seq]
            return []
        buf.parts[no] = payload
        if len(buf.parts) < n_frames:
            return []
        del self._in[seq]
        data = b"".join(buf.parts[i] for i in range(n_frames))
        return self._deliver(seq, data)

    def _deliver(self, seq: int, data: bytes) -> list[Received]:
        try:
            env = parse_envelope(data)
        except WireError:
            self.stats.malformed += 1
            return []
        if env.kind == Kind.ACK:
            try:
                ack = decode_message(env.kind, env.body)
            except WireError:
                self.stats.malformed += 1
                return []
            for s in ack.seqs.tolist():  # type: ignore[attr-defined]
                if s in self._out:
                    self._out[s].acked = True
                    del self._out[s]
            return []
        if env.seq != seq:
            self.stats.malformed += 1
            return []
        if not self.auth.verify(env.signed_bytes(), env.tag, env.seq):
            self.stats.auth_failures += 1
            return [Received(seq, env.kind, None, env.body, False)]
        try:
            message = decode_message(env.kind, env.body)
        except WireError:
            self.stats.malformed += 1
            return []
        self._delivered.add(seq)
        self._to_ack.add(seq)
        return [Received(seq, env.kind, message, env.body, True)]
