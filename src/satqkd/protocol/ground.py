"""The ground-station actor: upload of detections, decoding, estimation, PA (SPEC §7).

The ground holds only its own detections (recovered pulse index, basis, bit, time), its
random numbers (sampling, Toeplitz seeds), the protocol settings, the source's published
intensities and probabilities, and its copy of the authentication key.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from satqkd.config.models import Protocol
from satqkd.distill.amplification import toeplitz_hash
from satqkd.distill.estimation import (
    SIGNAL,
    DecoyCounts,
    DecoySource,
    estimate,
    final_key_length,
)
from satqkd.distill.ldpc import DecodeResult, RateAdaptedCode
from satqkd.distill.ldpc.blind import BLIND_SCHEME
from satqkd.distill.ldpc.guided import GUIDED_SCHEME
from satqkd.distill.security import EpsilonBudget
from satqkd.distill.verification import verification_tag
from satqkd.protocol.blocks import KeyBlock, unverified_block_id
from satqkd.protocol.endpoint import Endpoint, MessageAuthenticator, Received
from satqkd.protocol.ground_blind import BlindReconciler
from satqkd.protocol.messages import (
    Abandon,
    Close,
    DecodeReport,
    Detections,
    EndOfPass,
    KeyAck,
    Kind,
    PaConfirm,
    PaInstruction,
    Reveal,
    SiftResult,
    Syndrome,
    pack_bits,
    unpack_bits,
)
from satqkd.simulate.records import GroundRecord

GROUND_ID = 1
KEY_INTENSITIES = {"chernoff": (SIGNAL,), "gaussian": (SIGNAL,), "composable": (0, 1, 2)}
#: At most this many waiting packets that share a code are decoded together (decode_many).
MAX_BATCH_FRAMES = 16


def _same_code(a: Syndrome, b: Syndrome) -> bool:
    """Both packets use the same adapted code (the design QBER is only informative)."""
    return ({k: v for k, v in a.code.items() if k != "qber_design"}
            == {k: v for k, v in b.code.items() if k != "qber_design"})


def report_leak_bits(packet_bits: int) -> int:
    """Bits charged for disclosing a packet's corrected error count: ⌈log₂(bits + 1)⌉.

    The count is one of ``bits + 1`` values, so it tells an eavesdropper at most this much
    about the key; charging it keeps the key length safe whatever the analysis assumes.
    """
    return math.ceil(math.log2(packet_bits + 1))


@dataclass
class PacketResult:
    """The outcome of one packet at the ground (reported per packet)."""

    packet_id: int
    t_s: float
    qber: float
    decoded: bool
    leak_bits: int
    iterations: int
    reveal_rounds: int = 0


@dataclass
class BlockResult:
    """One privacy-amplification block as the ground saw it."""

    block_id: int
    packet_ids: tuple[int, ...]
    t_last_detection_s: float
    final_bits: int
    report: dict
    state: str = "sent"
    latency_s: float | None = None


@dataclass
class _PacketData:
    bits: NDArray[np.uint8]
    intensity: NDArray[np.uint8]
    basis: NDArray[np.uint8]
    counts: NDArray[np.int64]
    errors: NDArray[np.int64]
    t_last_s: float
    leak_bits: int


@dataclass
class GroundState:
    """Counters for reports."""

    batches_sent: int = 0
    packets: list[PacketResult] = field(default_factory=list)
    blocks: dict[int, BlockResult] = field(default_factory=dict)


class GroundStation:
    """The ground station's post-processing, driven by its detections, messages, the clock.

    Parameters
    ----------
    record:
        The station's own detections after index recovery and gating.
    source:
        The published decoy intensities and probabilities (for the estimate).
    protocol:
        Sampling fraction, packet and block sizes, method, security parameters.
    authenticator:
        Tags the ground's messages and verifies the satellite's.
    seed:
        The ground's own randomness (sampling, Toeplitz seeds).
    """

    def __init__(
        self, record: GroundRecord, source: DecoySource, protocol: Protocol,
        authenticator: MessageAuthenticator, *, seed: int, batch_s: float = 1.0,
        frame_bytes: int = 1024, retransmit_s: float = 0.05,
    ) -> None:
        self.record = record
        self.source = source
        self.protocol = protocol
        self.endpoint = Endpoint(GROUND_ID, authenticator, frame_bytes=frame_bytes,
                                 retransmit_s=retransmit_s)
        # Two independent streams: the 10 % sample is drawn batch by batch, the Toeplitz
        # seeds block by block, and how the two interleave depends on timing; separate
        # streams keep both choices independent of it (runs are then repeatable).
        self.sample_rng = np.random.default_rng([seed, 0x6B0, 0])
        self.seed_rng = np.random.default_rng([seed, 0x6B0, 1])
        self.batch_s = batch_s
        self.state = GroundState()
        self.key_intensities = KEY_INTENSITIES[protocol.finite_key_method]
        t = record.detection_time_s
        self._n_batches = int(np.ceil(t[-1] / batch_s)) + 1 if len(t) else 1
        self._batch_edges = np.searchsorted(t, np.arange(self._n_batches + 1) * batch_s)
        self._next_batch = 0
        self._sampled: dict[int, NDArray[np.bool_]] = {}
        self._sift: dict[int, SiftResult] = {}
        self._next_sift = 0
        self._stream: list[tuple[NDArray, NDArray, NDArray, NDArray]] = []
        self._stream_len = 0
        self._stream_base = 0
        self._syndromes: dict[int, Syndrome] = {}
        self._packets: dict[int, _PacketData] = {}
        self._next_packet = 0
        self._ready: list[int] = []
        # Blind packets waiting for reveals (with their decoder states), and outcomes
        # (decoded or not) of packets not yet passed on: packets join blocks in packet order
        # whatever order they resolve in, so the blocks (hence the keys) do not depend on the
        # timing of the reveals.
        self._blind = BlindReconciler(self.endpoint.send, self._verified, self._packet_done)
        self._resolved: dict[int, bool] = {}
        self._next_resolved = 0
        self._sat_packets_total: int | None = None
        self._next_block = 0
        self._pending: dict[int, tuple[KeyBlock, int]] = {}
        self._instruction_seq: dict[int, int] = {}
        self.keys: dict[int, KeyBlock] = {}
        self.processing_s = 0.0
        self.finished_sending = False
        self.close_sent = False

    # -- driving (the same calls for every transport) --------------------------------------
    def tick(self, now_s: float) -> None:
        """Send every detection batch complete by ``now_s`` (pass time, s)."""
        t = self.next_batch_time()
        while t is not None and t <= now_s:
            self.send_batch()
            t = self.next_batch_time()

    def next_event_s(self) -> float | None:
        """When :meth:`tick` next has work: the end of the next batch (pass time, s)."""
        return self.next_batch_time()

    @property
    def finished(self) -> bool:
        """Every block resolved and stored, every earlier message acknowledged, and
        :class:`Close` sent (its own acknowledgement is the driver's to wait for)."""
        return self.close_sent

    def _maybe_close(self) -> None:
        """Once everything is resolved and acknowledged, send :class:`Close` (last message).

        Sent only after every earlier message was acknowledged, so that the satellite,
        on receiving it, has received every ``KeyAck`` and can stop.
        """
        if not self.close_sent and self.done and self.endpoint.pending() == 0:
            self.close_sent = True
            self.endpoint.send(Close(len(self.keys)))

    # -- step 2: detections up ----------------------------------------------------------------
    def next_batch_time(self) -> float | None:
        """When the next batch of detections is complete (None when all are sent)."""
        if self._next_batch >= self._n_batches:
            return None
        return (self._next_batch + 1) * self.batch_s

    def send_batch(self) -> None:
        """Send the next batch: indices, bases, the 10 % sample and its bits."""
        k = self._next_batch
        lo, hi = self._batch_edges[k], self._batch_edges[k + 1]
        idx = self.record.pulse_index[lo:hi]
        n = int(hi - lo)
        sampled = self.sample_rng.random(n) < self.protocol.sampling_fraction
        first = int(idx[0]) if n else 0
        delta = np.diff(idx.astype(np.int64), prepend=first).astype(np.uint32)
        self._sampled[k] = sampled
        self.endpoint.send(Detections(
            k, (k + 1) * self.batch_s, n, first, delta, pack_bits(self.record.basis[lo:hi]),
            pack_bits(sampled.astype(np.uint8)), pack_bits(self.record.bit[lo:hi][sampled]),
        ))
        self._next_batch += 1
        self.state.batches_sent += 1
        if self._next_batch >= self._n_batches:
            self.endpoint.send(EndOfPass(self._n_batches - 1))
            self.finished_sending = True
        self._maybe_close()

    # -- message handling ---------------------------------------------------------------------
    def receive(self, frame: bytes, now_s: float) -> None:
        """Take a frame from the downlink."""
        for rec in self.endpoint.incoming(frame):
            t0 = time.perf_counter()
            self._handle(rec, now_s)
            self.processing_s += time.perf_counter() - t0
        self._maybe_close()

    def _handle(self, rec: Received, now_s: float) -> None:
        if not rec.authentic:
            # Only a block still waiting for its confirmation: a stored key stays stored
            # (the satellite stores it when our KeyAck arrives).
            if rec.kind == Kind.PA_CONFIRM:
                block_id = unverified_block_id(rec.body)
                if block_id is not None and block_id in self._pending:
                    self._abandon(block_id, "authentication failed")
            return
        msg = rec.message
        if isinstance(msg, SiftResult):
            self._sift[msg.batch_id] = msg
            while self._next_sift in self._sift:
                self._add_sift(self._sift.pop(self._next_sift))
                self._next_sift += 1
            self._decode_ready()
        elif isinstance(msg, Syndrome):
            self._syndromes[msg.packet_id] = msg
            self._decode_ready()
        elif isinstance(msg, PaConfirm):
            self._check_block(msg, now_s)
        elif isinstance(msg, Abandon):
            self._stop_instructing(msg.block_id)
            self._abandon(msg.block_id, msg.reason, notify=False)
        elif isinstance(msg, Reveal):
            self._revealed(msg)
        elif isinstance(msg, EndOfPass):
            self._sat_packets_total = msg.last_batch_id + 1
            self._decode_ready()

    def _add_sift(self, msg: SiftResult) -> None:
        k = msg.batch_id
        lo, hi = self._batch_edges[k], self._batch_edges[k + 1]
        sifted = unpack_bits(msg.sifted_packed, msg.count).astype(bool)
        sampled = self._sampled[k]
        intensity = np.zeros(msg.count, dtype=np.uint8)
        intensity[sifted] = msg.intensity
        key = sifted & ~sampled
        self._stream.append((self.record.bit[lo:hi][key], intensity[key],
                             self.record.basis[lo:hi][key],
                             self.record.detection_time_s[lo:hi][key]))
        self._stream_len += int(key.sum())

    # -- step 4: decoding, estimation, PA instruction ---------------------------------------------
    def _decode_ready(self) -> None:
        """Decode every packet whose syndrome and key bits are in, in packet order.

        Packets waiting together with the same code (at most :data:`MAX_BATCH_FRAMES`) go
        through ``decode_many`` as one batch. Only packets already waiting are batched, so
        none waits for another. Every batch is decoded frame by frame by a one-frame kernel:
        the quasi-cyclic kernel for the lifted 100-kbit codes (``kernel="qc"``; ≈ 21 Mbit/s
        per core at QBER 1 %), the check-parallel row kernel for short unlifted ones
        (``kernel="rows"``), never the frame-parallel kernel: the kernels order the checks
        differently, and with one kernel per code a packet's result depends only on its own
        inputs, never on how many packets happened to be waiting with it (which depends on
        timing).
        """
        while self._next_packet in self._syndromes:
            group: list[Syndrome] = []
            pid = self._next_packet
            while (pid in self._syndromes and len(group) < MAX_BATCH_FRAMES
                   and self._stream_len >= self._syndromes[pid].first_bit
                   + self._syndromes[pid].n_bits
                   and (not group or _same_code(self._syndromes[pid], group[0]))):
                group.append(self._syndromes.pop(pid))
                pid += 1
            if not group:
                break
            self._decode(group)
            self._next_packet = pid
        self._make_blocks(final=self.all_packets_in)

    @property
    def all_packets_in(self) -> bool:
        """The satellite said how many packets there are, and all have been resolved."""
        return (self._sat_packets_total is not None
                and self._next_packet >= self._sat_packets_total
                and self._next_resolved >= self._sat_packets_total)

    @property
    def done(self) -> bool:
        """Everything sent, every packet decoded, every block resolved."""
        return (self.finished_sending and self.all_packets_in and not self._ready
                and not self._pending)

    def _stream_slice(self, first: int, n: int) -> tuple[NDArray, ...]:
        arrays = [np.concatenate([s[i] for s in self._stream]) for i in range(4)]
        start = first - self._stream_base
        out = tuple(a[start:start + n] for a in arrays)
        self._stream = [tuple(a[start + n:] for a in arrays)]  # type: ignore[list-item]
        self._stream_base = first + n
        return out

    def _decode(self, group: list[Syndrome]) -> None:
        """Decode packets that share one code, report each outcome to the satellite."""
        data = [self._stream_slice(syn.first_bit, syn.n_bits) for syn in group]
        if group[0].code.get("scheme") in (BLIND_SCHEME, GUIDED_SCHEME):
            self._blind.start(group, data)
            return
        code = RateAdaptedCode.from_description(group[0].code)
        syndromes = np.stack([unpack_bits(syn.syndrome_packed, code.syndrome_bits)
                              for syn in group])
        noisy = np.stack([d[0] for d in data])
        qbers = np.array([syn.qber_estimate for syn in group])
        results = code.decode_many(syndromes, noisy, qbers if len(group) > 1 else qbers[0],
                                   kernel="qc" if code.mother.lifted is not None else "rows")
        for syn, (bits, inten, basis, t_det), res in zip(group, data, results, strict=True):
            self._packet_done(syn, code.leak_bits, bits, inten, basis, t_det, res,
                              self._verified(syn, res))

    def _verified(self, syn: Syndrome, res: DecodeResult) -> bool:
        """The decode met the syndrome and matches the satellite's verification tag."""
        return bool(res.converged) and verification_tag(
            res.bits, syn.verify_seed, self.protocol.verification_tag_bits) == syn.verify_tag

    def _revealed(self, msg: Reveal) -> None:
        """The satellite revealed the next step of a waiting blind packet: decode again."""
        if self._blind.revealed(msg):
            self._make_blocks(final=self.all_packets_in)

    def _packet_done(self, syn: Syndrome, syndrome_leak_bits: int, bits: NDArray,
                     inten: NDArray, basis: NDArray, t_det: NDArray, res: DecodeResult,
                     ok: bool, reveal_rounds: int = 0) -> None:
        """Record a resolved packet; ``syndrome_leak_bits`` is the code's leak (m − p, plus
        the revealed bits for blind reconciliation)."""
        err = res.bits != bits
        counts = np.zeros((3, 2), dtype=np.int64)
        errors = np.zeros((3, 2), dtype=np.int64)
        np.add.at(counts, (inten, basis), 1)
        np.add.at(errors, (inten, basis), err.astype(np.int64))
        qber = float(err.mean()) if ok else float(syn.qber_estimate)
        # The corrected error count goes back to the satellite: charged to the leak.
        leak = (int(syndrome_leak_bits) + self.protocol.verification_tag_bits
                + (report_leak_bits(syn.n_bits) if ok else 0))
        self.state.packets.append(PacketResult(syn.packet_id, float(t_det[-1]), qber, ok,
                                               leak, int(res.iterations), int(reveal_rounds)))
        self.endpoint.send(DecodeReport(syn.packet_id, int(ok), int(syn.n_bits),
                                        int(err.sum()) if ok else 0))
        if ok:
            self._packets[syn.packet_id] = _PacketData(res.bits, inten, basis, counts, errors,
                                                       float(t_det[-1]), leak)
        self._resolved[syn.packet_id] = ok
        while self._next_resolved in self._resolved:
            if self._resolved.pop(self._next_resolved):
                self._ready.append(self._next_resolved)
            self._next_resolved += 1

    def _make_blocks(self, final: bool = False) -> None:
        per_block = max(1, self.protocol.pa_block_bits // self.protocol.packet_bits)
        while len(self._ready) >= per_block or (final and self._ready):
            ids, self._ready = self._ready[:per_block], self._ready[per_block:]
            self._block(ids)

    def _block(self, packet_ids: list[int]) -> None:
        block_id = self._next_block
        self._next_block += 1
        parts = [self._packets[p] for p in packet_ids]
        counts = DecoyCounts(sum(p.counts for p in parts), sum(p.errors for p in parts))
        proto = self.protocol
        est = estimate(counts, self.source, proto.finite_key_method,
                       failure_probability=proto.eps_pe)
        leak = sum(p.leak_bits for p in parts)
        eps = EpsilonBudget(pe_per_bound=proto.eps_pe, error_correction=proto.eps_ec,
                            privacy_amplification=proto.eps_pa,
                            authentication=proto.eps_auth)
        length = final_key_length(est, leak, proto.verification_tag_bits, eps)
        mask = [np.isin(p.intensity, self.key_intensities) for p in parts]
        bits = np.concatenate([p.bits[m] for p, m in zip(parts, mask, strict=True)])
        report = length.as_dict()
        report["packet_ids"] = [int(p) for p in packet_ids]
        t_last = max(p.t_last_s for p in parts)
        result = BlockResult(block_id, tuple(packet_ids), t_last, int(length.final_key_bits),
                             report)
        self.state.blocks[block_id] = result
        out = int(length.final_key_bits)
        if out <= 0 or out > bits.size:
            result.state = "no key"
            self.endpoint.send(Abandon(block_id, "final key length is zero"))
            return
        seed = self.seed_rng.integers(0, 2, size=bits.size + out - 1, dtype=np.uint8)
        final = toeplitz_hash(bits, seed, out)
        self._pending[block_id] = (KeyBlock(block_id, final, tuple(packet_ids), report),
                                   zlib.crc32(np.packbits(final).tobytes()))
        self._instruction_seq[block_id] = self.endpoint.send(PaInstruction(
            block_id, np.array(packet_ids, dtype=np.uint32),
            np.array(self.key_intensities, dtype=np.uint8), int(bits.size), out,
            pack_bits(seed), report))

    # -- step 6: check and store ------------------------------------------------------------
    def _check_block(self, msg: PaConfirm, now_s: float) -> None:
        self._stop_instructing(msg.block_id)
        pending = self._pending.pop(msg.block_id, None)
        result = self.state.blocks.get(msg.block_id)
        if pending is None or result is None:
            return
        block, crc = pending
        ok = crc == msg.crc32
        if ok:
            block.committed_s = now_s
            self.keys[msg.block_id] = block
            result.state = "key"
        else:
            result.state = "crc mismatch"
        self.endpoint.send(KeyAck(msg.block_id, int(ok)))

    def _stop_instructing(self, block_id: int) -> None:
        """The satellite answered the block: stop repeating its PA instruction."""
        seq = self._instruction_seq.pop(block_id, None)
        if seq is not None:
            self.endpoint.supersede(seq)

    def _abandon(self, block_id: int, reason: str, notify: bool = True) -> None:
        if block_id in self.keys:  # already stored: the satellite stores it on our KeyAck
            return
        self._pending.pop(block_id, None)
        result = self.state.blocks.get(block_id)
        if result is not None and result.state in ("sent",):
            result.state = f"abandoned: {reason}"
        if notify:
            self.endpoint.send(Abandon(block_id, reason))
