"""An active attacker on the classical channel, for tests and robustness benchmarks.

:class:`MessageTamper` is a ``tamper`` hook of :class:`~satqkd.protocol.link.LinkDirection`:
it watches the frames going by, picks the ``occurrence``-th message of a given kind, and
flips one bit in it, re-sealing the frame's CRC-32 so that the change is invisible to the
link layer (an attacker knows the framing). Only the message authentication can catch it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from satqkd.protocol.endpoint import parse_frame, seal_frame
from satqkd.protocol.messages import Kind
from satqkd.protocol.wire import MAGIC


@dataclass
class MessageTamper:
    """Flip one bit of the ``occurrence``-th (0-based) message of ``kind`` on this link.

    The bit flipped is in the last byte of the message's first frame: in the body of a
    message longer than a frame, in the authentication tag of a short one; either way the
    message's named fields (and so its block id) still parse. With ``every_copy`` each
    repetition of that message is altered too (the attacker persists); otherwise only the
    first copy, and a later genuine repetition may get through.
    """

    kind: Kind
    occurrence: int = 0
    every_copy: bool = True
    seen_seqs: list[int] = field(default_factory=list)
    tampered_frames: int = 0

    @property
    def target_seq(self) -> int | None:
        """The sequence number of the targeted message, once it has gone by."""
        return self.seen_seqs[self.occurrence] if len(self.seen_seqs) > self.occurrence else None

    def __call__(self, frame: bytes, t_s: float) -> bytes | None:
        """The frame as the attacker lets it through."""
        parsed = parse_frame(frame, check_crc=False)
        if parsed is None:
            return frame
        header, payload = parsed
        if header.frame_no != 0 or header.seq == 0 or len(payload) < 6:
            return frame
        if payload[:4] != MAGIC or payload[5] != int(self.kind):
            return frame
        if header.seq not in self.seen_seqs:
            self.seen_seqs.append(header.seq)
        if header.seq != self.target_seq or (self.tampered_frames and not self.every_copy):
            return frame
        self.tampered_frames += 1
        changed = payload[:-1] + bytes([payload[-1] ^ 0x01])
        return seal_frame(header.sender, header.seq, header.frame_no, header.n_frames, changed)
