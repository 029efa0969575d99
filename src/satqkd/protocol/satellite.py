"""The satellite actor: sifting, code choice, syndromes, privacy amplification (SPEC §7).

The satellite holds only what a satellite has: its source's random numbers (a function of
its secret seed and the pulse number), the protocol settings, its copy of the
authentication key, and the messages it receives. It never sees the ground's bits except
the 10 % it is sent for the QBER sample.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from satqkd.config.models import Protocol
from satqkd.distill.amplification import toeplitz_hash
from satqkd.distill.ldpc import CodeFamily
from satqkd.distill.ldpc.blind import BlindCode, BlindFamily
from satqkd.distill.ldpc.guided import GuidedCode, GuidedFamily
from satqkd.distill.verification import verification_tag
from satqkd.photonics.source import SourceRandomness
from satqkd.protocol.blocks import KeyBlock, unverified_block_id
from satqkd.protocol.endpoint import Endpoint, MessageAuthenticator, Received
from satqkd.protocol.messages import (
    Abandon,
    Close,
    DecodeReport,
    Detections,
    EndOfPass,
    KeyAck,
    Kind,
    Message,
    PaConfirm,
    PaInstruction,
    Reveal,
    RevealRequest,
    SiftResult,
    Syndrome,
    pack_bits,
    unpack_bits,
)
from satqkd.protocol.qber_tracking import ExactCount, QberEstimate, packet_qber

SATELLITE_ID = 0
SAMPLE_WINDOW = 20_000
#: Packet k's code uses the ground's exact counts of packets ≤ k − REPORT_LAG, and waits for
#: them if they have not arrived: the choice is then a function of the data alone, so keys
#: do not depend on timing, while up to REPORT_LAG packets can be decoding at the ground.
#: 1 (the freshest counts) beat 2 and 4 on seeds 2–3 of the reference pass and four
#: synthetic passes; packets are seconds apart and a decode takes ≈ 0.2 s: it rarely waits.
REPORT_LAG = 1


@dataclass(frozen=True)
class _BatchSpan:
    """Where a sifted batch's key bits sit in the key stream, and its sample."""

    key_start: int
    key_end: int
    sample_bits: int
    sample_errors: int
    t_end_s: float


@dataclass
class _Packet:
    bits: NDArray[np.uint8]
    intensity: NDArray[np.uint8]


@dataclass
class SatelliteState:
    """What the satellite has accumulated (for reports; never sent anywhere)."""

    batches: int = 0
    sifted_bits: int = 0
    sample_size: int = 0
    sample_errors: int = 0
    packets: int = 0
    blocks_abandoned: list[int] = field(default_factory=list)
    estimates: list[QberEstimate] = field(default_factory=list)


class Satellite:
    """The satellite's post-processing, driven by messages and the clock.

    Parameters
    ----------
    randomness:
        The source's random numbers (its cache), looked up by pulse index.
    protocol:
        Packet size, sampling fraction, block size, security parameters.
    authenticator:
        Tags the satellite's messages and verifies the ground's.
    frame_bytes, retransmit_s:
        Classical-link framing and repetition interval.
    seed:
        Seed of the satellite's physical random-number generator for the post-processing
        (verification seeds, punctured bits); independent of the source's.
    report_lag:
        Packet k waits for the ground's decode reports up to packet k − report_lag
        (:data:`REPORT_LAG`); a larger lag lets that many packets queue at the ground, where
        waiting packets of one code are decoded as a batch.
    """

    def __init__(
        self, randomness: SourceRandomness, protocol: Protocol,
        authenticator: MessageAuthenticator, *, frame_bytes: int = 1024,
        retransmit_s: float = 0.05, code_family: CodeFamily | None = None, seed: int = 0,
        report_lag: int = REPORT_LAG,
    ) -> None:
        if report_lag < 1:
            raise ValueError("report_lag must be at least 1 (a packet cannot use its own count)")
        self.report_lag = int(report_lag)
        self.randomness = randomness
        self.protocol = protocol
        self.endpoint = Endpoint(SATELLITE_ID, authenticator, frame_bytes=frame_bytes,
                                 retransmit_s=retransmit_s)
        self.family = code_family or CodeFamily.default()
        self.blind_family = BlindFamily.default()
        self.guided_family = GuidedFamily.default()
        # The satellite's own randomness (verification seeds, punctured bits): its RNG.
        self.rng = np.random.default_rng([seed, 0x5A7E])
        self.state = SatelliteState()
        self._batches: dict[int, Detections] = {}
        self._next_batch = 0
        self._stream_bits: list[NDArray[np.uint8]] = []
        self._stream_int: list[NDArray[np.uint8]] = []
        self._stream_len = 0
        self._stream_used = 0
        self._samples: list[tuple[int, int]] = []
        self._spans: list[_BatchSpan] = []
        self._span_first = 0  # first batch span that can still overlap a future packet
        self._packet_t_mid: dict[int, float] = {}
        self._reports: dict[int, DecodeReport] = {}
        self._reports_through = -1  # every report up to this packet id has arrived
        self._packets: dict[int, _Packet] = {}
        # Blind reconciliation: each unresolved packet's code and secret punctured values
        # (reveal order), kept until its decode report arrives.
        self._punctured: dict[int, tuple[BlindCode, NDArray[np.uint8]]] = {}
        # Guided reconciliation: each unresolved packet's code and the answers sent so far
        # (positions, values per step), kept until its decode report arrives.
        self._guided: dict[int, tuple[GuidedCode, list[tuple[NDArray, NDArray]]]] = {}
        self._pending: dict[int, KeyBlock] = {}
        self._confirm_seq: dict[int, int] = {}
        self.keys: dict[int, KeyBlock] = {}
        self._abandoned: set[int] = set()
        self.ended = False
        self.closed = False
        self._last_batch: int | None = None
        self.processing_s = 0.0

    # -- driving (the same calls for every transport) --------------------------------------
    def tick(self, now_s: float) -> None:
        """Act on the clock: the satellite only reacts to messages, so nothing to do."""

    def next_event_s(self) -> float | None:
        """When :meth:`tick` next has work (never: the satellite is message driven)."""
        return None

    @property
    def finished(self) -> bool:
        """The ground closed the session: every block is resolved on both sides."""
        return self.closed

    # -- message handling --------------------------------------------------------------------
    def receive(self, frame: bytes, now_s: float) -> None:
        """Take a frame from the uplink."""
        for rec in self.endpoint.incoming(frame):
            t0 = time.perf_counter()
            self._handle(rec, now_s)
            self.processing_s += time.perf_counter() - t0

    def _handle(self, rec: Received, now_s: float) -> None:
        if not rec.authentic:
            # SPEC §7 step 5: a PA instruction whose signature fails abandons the block.
            # Only a block not yet answered: once a PA confirmation went down, the ground
            # may already have stored the key, and a forged copy must not undo that.
            if rec.kind == Kind.PA_INSTRUCTION:
                block_id = unverified_block_id(rec.body)
                if (block_id is not None and block_id not in self._pending
                        and block_id not in self.keys):
                    self._abandon(block_id, "authentication failed")
            return
        msg = rec.message
        if isinstance(msg, Detections):
            self._batches[msg.batch_id] = msg
            while self._next_batch in self._batches:
                self._sift(self._batches.pop(self._next_batch))
                self._next_batch += 1
        elif isinstance(msg, RevealRequest):
            self._reveal(msg)
        elif isinstance(msg, DecodeReport):
            self._punctured.pop(msg.packet_id, None)  # resolved: nothing more to reveal
            self._guided.pop(msg.packet_id, None)
            self._reports.setdefault(msg.packet_id, msg)
            while self._reports_through + 1 in self._reports:
                self._reports_through += 1
            self._flush_packets()
        elif isinstance(msg, EndOfPass):
            self._last_batch = msg.last_batch_id
        elif isinstance(msg, Close):
            self.closed = True
        elif isinstance(msg, PaInstruction):
            self._amplify(msg)
        elif isinstance(msg, KeyAck):
            block = self._pending.pop(msg.block_id, None)
            self._stop_confirming(msg.block_id)
            if block is not None and msg.ok:
                block.committed_s = now_s
                self.keys[msg.block_id] = block
            elif block is not None:
                self._abandoned.add(msg.block_id)
                self.state.blocks_abandoned.append(msg.block_id)
        elif isinstance(msg, Abandon):
            self._pending.pop(msg.block_id, None)
            self._stop_confirming(msg.block_id)
            if msg.block_id not in self._abandoned:
                self._abandoned.add(msg.block_id)
                self.state.blocks_abandoned.append(msg.block_id)
        self._maybe_end()

    def _maybe_end(self) -> None:
        """After the last batch is sifted, tell the ground how many packets there are.

        The satellite's :class:`EndOfPass` carries the last packet id (−1 if none); it goes
        once every full packet has been sent (the last ones may wait for decode reports).
        """
        if (not self.ended and self._last_batch is not None
                and self._next_batch > self._last_batch
                and self._stream_len - self._stream_used < self.protocol.packet_bits):
            self.ended = True
            self._send(EndOfPass(self.state.packets - 1))

    def _send(self, message: Message) -> None:
        self.endpoint.send(message)

    # -- step 3: sifting, sample QBER, syndromes ----------------------------------------------
    def _sift(self, batch: Detections) -> None:
        n = batch.count
        index = np.uint64(batch.first_index) + np.cumsum(
            batch.index_delta.astype(np.uint64), dtype=np.uint64)
        ground_basis = unpack_bits(batch.basis_packed, n)
        sampled = unpack_bits(batch.sampled_packed, n).astype(bool)
        intensity, basis, bit = self.randomness.lookup(index)
        sifted = basis == ground_basis
        # Sample: the ground disclosed its bits of the sampled detections.
        ground_sample_bits = unpack_bits(batch.sampled_bits_packed, int(sampled.sum()))
        sample_sifted = sifted[sampled]
        errs = ground_sample_bits[sample_sifted] != bit[sampled][sample_sifted]
        cls_s = intensity[sampled][sample_sifted]
        bas_s = basis[sampled][sample_sifted]
        counts = np.zeros((3, 2), dtype=np.uint32)
        errors = np.zeros((3, 2), dtype=np.uint32)
        np.add.at(counts, (cls_s, bas_s), 1)
        np.add.at(errors, (cls_s, bas_s), errs.astype(np.uint32))
        self._samples.append((int(sample_sifted.sum()), int(errs.sum())))
        self.state.sample_size += int(sample_sifted.sum())
        self.state.sample_errors += int(errs.sum())
        key = sifted & ~sampled
        self._spans.append(_BatchSpan(self._stream_len, self._stream_len + int(key.sum()),
                                      int(sample_sifted.sum()), int(errs.sum()),
                                      float(batch.t_end_s)))
        self._send(SiftResult(batch.batch_id, n, pack_bits(sifted), intensity[sifted],
                              counts.ravel(), errors.ravel()))
        self._stream_bits.append(bit[key])
        self._stream_int.append(intensity[key])
        self._stream_len += int(key.sum())
        self.state.batches += 1
        self.state.sifted_bits += int(key.sum())
        self._flush_packets()

    def qber_estimate(self) -> float:
        """QBER of the most recent ~20,000 sampled sifted detections (all intensities).

        Kept for reports; the codes use :meth:`packet_estimate`.
        """
        n = e = 0
        for size, errs in reversed(self._samples):
            n += size
            e += errs
            if n >= SAMPLE_WINDOW:
                break
        return (e + 1.0) / (n + 2.0)

    def _stream_take(self, n: int) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
        bits = np.concatenate(self._stream_bits)
        inten = np.concatenate(self._stream_int)
        self._stream_bits, self._stream_int = [bits[n:]], [inten[n:]]
        return bits[:n], inten[:n]

    def _flush_packets(self) -> None:
        size = self.protocol.packet_bits
        while (self._stream_len - self._stream_used >= size
               and self._reports_through >= self.state.packets - self.report_lag):
            self._emit_packet(size)

    def _span_sample(self, first: int, size: int) -> tuple[float, float, float]:
        """(sample bits, sample errors, mid-time s) of the batches holding key bits
        [first, first + size); a batch shared with another packet counts pro rata."""
        n = e = w_t = w = 0.0
        end = first + size
        while (self._span_first < len(self._spans)
               and self._spans[self._span_first].key_end <= first):
            self._span_first += 1
        for span in self._spans[self._span_first:]:
            if span.key_start >= end:
                break
            width = span.key_end - span.key_start
            overlap = min(span.key_end, end) - max(span.key_start, first)
            if width <= 0 or overlap <= 0:
                continue
            share = overlap / width
            n += share * span.sample_bits
            e += share * span.sample_errors
            w_t += overlap * span.t_end_s
            w += overlap
        return n, e, (w_t / w if w else 0.0)

    def packet_estimate(self, packet_id: int, first: int, size: int) -> QberEstimate:
        """The QBER estimate for packet ``packet_id`` (:mod:`.qber_tracking`): its own
        batches' sample plus the exact counts of packets ≤ packet_id − report_lag."""
        n, e, t_mid = self._span_sample(first, size)
        self._packet_t_mid[packet_id] = t_mid
        exact = [ExactCount(self._packet_t_mid[r.packet_id], r.bits, r.errors)
                 for j in range(max(0, packet_id - self.report_lag - 8),
                                packet_id - self.report_lag + 1)
                 if (r := self._reports.get(j)) is not None and r.decoded]
        return packet_qber(n, e, t_mid, exact)

    def _emit_packet(self, size: int) -> None:
        packet_id = self.state.packets
        first = self._stream_used
        estimate = self.packet_estimate(packet_id, first, size)
        bits, inten = self._stream_take(size)
        self._stream_used += size
        self.state.packets += 1
        self.state.estimates.append(estimate)
        q = estimate.qber
        description: dict[str, object]
        if self.protocol.reconciliation == "blind":
            blind = self.blind_family.select(q, frame_bits=size, sample_bits=estimate.sample_bits)
            syndromes, values = blind.encode(bits[None, :], self.rng)
            syndrome = syndromes[0]
            self._punctured[packet_id] = (blind, values[0])
            description = blind.describe()
        elif self.protocol.reconciliation == "guided":
            guided = self.guided_family.select(q, frame_bits=size,
                                               sample_bits=estimate.sample_bits)
            syndrome = guided.encode(bits[None, :], self.rng)[0]
            self._guided[packet_id] = (guided, [])
            description = guided.describe()
        else:
            code = self.family.select(q, frame_bits=size, sample_bits=estimate.sample_bits)
            syndrome = code.syndrome(bits, self.rng)
            description = code.describe()
        seed = self.rng.bytes(16)
        tag = verification_tag(bits, seed, self.protocol.verification_tag_bits)
        self._packets[packet_id] = _Packet(bits, inten)
        self._send(Syndrome(packet_id, first, size, float(q), description,
                            pack_bits(syndrome), seed, tag))

    def _reveal(self, msg: RevealRequest) -> None:
        """Blind reconciliation: send the values of the requested reveal step of a packet
        that is not resolved yet (a request for a resolved packet or a step out of range is
        ignored; a repeated request gets the same values again, which leaks nothing new)."""
        if msg.packet_id in self._guided:
            self._reveal_guided(msg)
            return
        held = self._punctured.get(msg.packet_id)
        if held is None:
            return
        code, values = held
        if not 1 <= msg.step <= code.steps:
            return
        step_values = code.reveal(values, msg.step)
        self._send(Reveal(msg.packet_id, msg.step, int(step_values.size), pack_bits(step_values)))

    def _reveal_guided(self, msg: RevealRequest) -> None:
        """Guided reconciliation: send this packet's key bits at the requested positions.
        A request that does not fit the code's schedule (size, range, repeated positions,
        a step out of order, or beyond the reveal budget) is ignored; a repeated request
        for a step already answered gets the same answer again (nothing new leaks)."""
        code, answers = self._guided[msg.packet_id]
        positions = np.asarray(msg.positions, np.int64)
        if 1 <= msg.step <= len(answers):
            asked, values = answers[msg.step - 1]
            if np.array_equal(asked, positions):
                self._send(Reveal(msg.packet_id, msg.step, int(values.size), pack_bits(values)))
            return
        packet = self._packets.get(msg.packet_id)
        if msg.step != len(answers) + 1 or packet is None:
            return
        earlier = np.concatenate([np.zeros(0, np.int64), *(a for a, _ in answers)])
        try:
            values = code.reveal(packet.bits, positions, msg.step, earlier)
        except ValueError:
            return
        answers.append((positions, values))
        self._send(Reveal(msg.packet_id, msg.step, int(values.size), pack_bits(values)))

    # -- step 5: privacy amplification ---------------------------------------------------------
    def _amplify(self, msg: PaInstruction) -> None:
        if msg.block_id in self._abandoned or msg.block_id in self.keys:
            return
        try:
            parts = [self._packets[int(p)] for p in msg.packet_ids]
        except KeyError:
            self._abandon(msg.block_id, "unknown packet")
            return
        classes = set(msg.key_intensities.tolist())
        bits = np.concatenate([p.bits[np.isin(p.intensity, list(classes))] for p in parts])
        if bits.size != msg.in_bits or msg.out_bits <= 0 or msg.out_bits > bits.size:
            self._abandon(msg.block_id, "block size mismatch")
            return
        seed = unpack_bits(msg.seed_packed, bits.size + msg.out_bits - 1)
        final = toeplitz_hash(bits, seed, msg.out_bits)
        crc = zlib.crc32(np.packbits(final).tobytes())
        self._pending[msg.block_id] = KeyBlock(msg.block_id, final,
                                               tuple(int(p) for p in msg.packet_ids), msg.report)
        self._confirm_seq[msg.block_id] = self.endpoint.send(PaConfirm(msg.block_id, crc))

    def _stop_confirming(self, block_id: int) -> None:
        """The ground answered the block: stop repeating its PA confirmation."""
        seq = self._confirm_seq.pop(block_id, None)
        if seq is not None:
            self.endpoint.supersede(seq)

    def _abandon(self, block_id: int, reason: str) -> None:
        self._pending.pop(block_id, None)
        if block_id not in self._abandoned:
            self._abandoned.add(block_id)
            self.state.blocks_abandoned.append(block_id)
            self._send(Abandon(block_id, reason))

