"""The ground station's side of blind reconciliation: reveal requests and re-decoding.

A blind packet that fails to decode asks the satellite for the next reveal step (a
:class:`RevealRequest`); each :class:`Reveal` fixes more bits, and the packet is decoded
again, continuing its previous attempt from the decoder state kept here (warm restart,
ground-local: only the request and the revealed values cross the link). With a
:class:`.BlindCode` the step's positions are the code's next punctured ones; with a
:class:`.GuidedCode` (``reconciliation = "guided"``) the request names them: the ground's
least reliable key bits after the failed attempt. A packet is resolved once it decodes and
verifies, or once every step is revealed; the station records it through the
``packet_done`` callback it passes in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from satqkd.distill.ldpc import DecodeResult
from satqkd.distill.ldpc.blind import (
    BLIND_CONTINUE_ITERATIONS,
    BLIND_MAX_ITERATIONS,
    BLIND_SCHEME,
    BLIND_STALL_ITERATIONS,
    BlindCode,
)
from satqkd.distill.ldpc.guided import GuidedCode
from satqkd.distill.ldpc.row_decoder import RowState
from satqkd.protocol.messages import Reveal, RevealRequest, Syndrome, unpack_bits

#: ``packet_done(syndrome, syndrome_leak_bits, bits, intensity, basis, t_det, result, ok,
#: reveal_rounds=...)``: :meth:`.GroundStation._packet_done`.
PacketDone = Callable[..., None]


@dataclass
class BlindPending:
    """A blind packet that has not decoded yet: its inputs and the values revealed so far."""

    syndrome: Syndrome
    code: BlindCode | GuidedCode
    data: tuple[NDArray, ...]
    revealed: list[NDArray[np.uint8]]
    iterations: int = 0
    #: Decoder state of the last attempt (ground-local): the next one continues from it.
    state: RowState | None = None
    #: Guided code: the key positions of each step requested (the last one may be in
    #: flight, not answered yet); blind: unused.
    positions: list[NDArray[np.int64]] = field(default_factory=list)

    @property
    def step(self) -> int:
        """Reveal steps received so far."""
        return len(self.revealed)

    def disclosed(self) -> tuple[NDArray[np.int64], NDArray[np.uint8]]:
        """Every position (guided) and value revealed so far, in order."""
        return (np.concatenate([np.zeros(0, np.int64), *self.positions[: self.step]]),
                np.concatenate([np.zeros(0, np.uint8), *self.revealed]))


class BlindReconciler:
    """Blind packets of the ground station waiting for reveals, and their decoding.

    ``send`` puts a message on the link, ``verified(syndrome, result)`` says whether a
    decode met the syndrome and the satellite's verification tag, ``packet_done`` records a
    resolved packet (decoded or given up) with its leak (m − p plus the revealed bits).
    """

    def __init__(self, send: Callable[[RevealRequest], object],
                 verified: Callable[[Syndrome, DecodeResult], bool],
                 packet_done: PacketDone) -> None:
        self._send = send
        self._verified = verified
        self._packet_done = packet_done
        self.waiting: dict[int, BlindPending] = {}

    def start(self, group: list[Syndrome], data: list[tuple[NDArray, ...]]) -> None:
        """First attempt at packets that share one blind code (``data``: each packet's
        key bits, intensities, bases, detection times)."""
        description = group[0].code
        code = (BlindCode.from_description(description)
                if description.get("scheme") == BLIND_SCHEME
                else GuidedCode.from_description(description))
        self._decode([BlindPending(syn, code, d, []) for syn, d in zip(group, data,
                                                                        strict=True)])

    def revealed(self, msg: Reveal) -> bool:
        """The satellite revealed the next step of a waiting packet: decode it again.

        Returns False (and does nothing) for a packet resolved already, a repeated copy or
        a reveal of the wrong size.
        """
        p = self.waiting.get(msg.packet_id)
        if p is None or msg.step != p.step + 1:
            return False  # resolved already, or a repeated copy
        if msg.bits != p.code.step_size(msg.step):
            return False
        p.revealed.append(unpack_bits(msg.values_packed, msg.bits))
        self._decode([p])
        return True

    def _decode(self, pending: list[BlindPending]) -> None:
        """Decode blind packets (one code) with the values revealed so far; a packet that
        fails asks for the next reveal step, or is given up once every step is revealed."""
        code = pending[0].code
        syndromes = np.stack([unpack_bits(p.syndrome.syndrome_packed, code.code.syndrome_bits)
                              for p in pending])
        noisy = np.stack([p.data[0] for p in pending])
        qbers = np.array([p.syndrome.qber_estimate for p in pending])
        positions, revealed = zip(*(p.disclosed() for p in pending), strict=True)
        for p in pending:
            if p.state is None:
                p.state = code.new_state()
        # A first attempt gets the full cap; a packet after a reveal (decoded alone)
        # continues its previous attempt (warm restart) with the continuation cap.
        cap = BLIND_CONTINUE_ITERATIONS if pending[0].step else BLIND_MAX_ITERATIONS
        qber = qbers if len(pending) > 1 else qbers[0]
        states = [p.state for p in pending]
        if isinstance(code, GuidedCode):
            results = code.decode_many(syndromes, noisy, qber, list(positions), list(revealed),
                                       cap, states, BLIND_STALL_ITERATIONS)
        else:
            results = code.decode_many(syndromes, noisy, qber, list(revealed), cap, states,
                                       BLIND_STALL_ITERATIONS)
        for p, res, values in zip(pending, results, revealed, strict=True):
            p.iterations += res.iterations
            ok = self._verified(p.syndrome, res)
            if not ok and p.step < code.steps:
                self.waiting[p.syndrome.packet_id] = p
                asked = np.zeros(0, np.int64)
                if isinstance(code, GuidedCode):
                    assert p.state is not None
                    asked = code.request_positions(p.state, p.disclosed()[0], p.step + 1)
                    p.positions.append(asked)
                self._send(RevealRequest(p.syndrome.packet_id, p.step + 1,
                                         asked.astype(np.uint32)))
                continue
            p.state = None  # resolved: free the decoder state
            self.waiting.pop(p.syndrome.packet_id, None)
            bits, inten, basis, t_det = p.data
            result = DecodeResult(res.bits, res.converged, p.iterations)
            self._packet_done(p.syndrome, code.leak_bits(values.size), bits, inten, basis,
                              t_det, result, ok, reveal_rounds=p.step)
