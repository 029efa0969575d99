"""The protocol's message types (SPEC §7), each a typed dataclass with a wire encoding.

Steps of the live procedure and the messages that carry them:

2. ground → satellite :class:`Detections`: pulse index and basis of every detection of a
   batch (one per second of the pass), which 10 % are sampled, and the sampled bit values.
3. satellite → ground :class:`SiftResult` (basis/intensity comparison per batch, error
   counts of the sample) and :class:`Syndrome` (LDPC code, QBER estimate, syndrome and a
   verification hash of each 100-kbit packet of sifted key).
4. ground → satellite :class:`PaInstruction` (the packets of a block, final length and
   Toeplitz seed); authenticated like every message.
5. satellite → ground :class:`PaConfirm` (CRC-32 of the satellite's final key).
6. ground → satellite :class:`KeyAck` (the ground checked the CRC and stored the key).

Blind reconciliation (``protocol.reconciliation = "blind"`` or ``"guided"``): while a packet
does not decode, the ground sends :class:`RevealRequest` for the next reveal step and the
satellite answers with :class:`Reveal`, the values of that step's punctured positions
(:mod:`satqkd.distill.ldpc.blind`) or of the key positions the request names
(:mod:`satqkd.distill.ldpc.guided`); each revealed bit is charged to the packet's leak.

After decoding each packet the ground sends :class:`DecodeReport` (decoded or not, and the
exact number of errors it corrected); the satellite uses these for the codes of later
packets (:mod:`satqkd.protocol.qber_tracking`), never to change a packet already sent.

:class:`Ack` acknowledges messages by sequence number (the link repeats every message until
acknowledged); :class:`Abandon` drops a block on either side; :class:`EndOfPass` says the
ground has sent its last batch (and, from the satellite, how many packets there are);
:class:`Close` ends the session: the ground sends it once every block is resolved and every
earlier message of its own is acknowledged, so a satellite that receives it knows it has
everything. Bit arrays travel packed (``numpy.packbits``, MSB first).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from satqkd.protocol.wire import WireError, decode_body, encode_body


class Kind(IntEnum):
    """Message type codes on the wire."""

    ACK = 1
    DETECTIONS = 2
    SIFT_RESULT = 3
    SYNDROME = 4
    PA_INSTRUCTION = 5
    PA_CONFIRM = 6
    KEY_ACK = 7
    ABANDON = 8
    END_OF_PASS = 9
    CLOSE = 10
    DECODE_REPORT = 11
    REVEAL_REQUEST = 12
    REVEAL = 13


def pack_bits(bits: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """0/1 bytes → packed bytes (MSB first)."""
    return np.packbits(np.asarray(bits, dtype=np.uint8))


def unpack_bits(packed: NDArray[np.uint8], n: int) -> NDArray[np.uint8]:
    """Packed bytes → the first ``n`` bits as 0/1 bytes."""
    if packed.size * 8 < n:
        raise WireError("packed bit array shorter than its length")
    return np.unpackbits(packed, count=n)


class Message:
    """Base: a dataclass whose fields map one-to-one onto wire fields."""

    KIND: ClassVar[Kind]

    def to_body(self) -> bytes:
        """The message's body bytes."""
        return encode_body({f.name: _to_wire(getattr(self, f.name)) for f in fields(self)})

    @classmethod
    def from_body(cls, body: bytes) -> Message:
        """Parse a body; :class:`WireError` when fields are missing or of the wrong type."""
        data = decode_body(body)
        kwargs = {}
        for f in fields(cls):
            if f.name not in data:
                raise WireError(f"{cls.__name__}: missing field {f.name}")
            kwargs[f.name] = _from_wire(data[f.name], f.type)
        return cls(**kwargs)


def _to_wire(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def _from_wire(value: Any, annotation: Any) -> Any:
    text = str(annotation)
    if text.startswith("dict"):
        if not isinstance(value, str):
            raise WireError("expected a JSON object")
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise WireError(f"bad JSON field: {exc}") from None
    if text.startswith("NDArray"):
        if not isinstance(value, np.ndarray):
            raise WireError("expected an array")
        expected = _array_dtype(text)
        if value.dtype != expected:
            raise WireError(f"expected an array of {expected}, got {value.dtype}")
    if text == "int" and not isinstance(value, int):
        raise WireError("expected an integer")
    if text == "str" and not isinstance(value, str):
        raise WireError("expected a string")
    if text == "float" and not isinstance(value, float | int):
        raise WireError("expected a number")
    if text == "bytes" and not isinstance(value, bytes):
        raise WireError("expected bytes")
    return value


def _array_dtype(annotation: str) -> np.dtype:
    """The dtype named in an ``NDArray[np.<name>]`` annotation."""
    name = annotation.removeprefix("NDArray[").removesuffix("]").removeprefix("np.")
    return np.dtype(name)


@dataclass(frozen=True)
class Ack(Message):
    """Acknowledges received messages by their sequence numbers."""

    KIND: ClassVar[Kind] = Kind.ACK
    seqs: NDArray[np.uint32]


@dataclass(frozen=True)
class Detections(Message):
    """A batch of detections: index deltas, bases, the 10 % sample and its bits."""

    KIND: ClassVar[Kind] = Kind.DETECTIONS
    batch_id: int
    t_end_s: float
    count: int
    first_index: int
    index_delta: NDArray[np.uint32]
    basis_packed: NDArray[np.uint8]
    sampled_packed: NDArray[np.uint8]
    sampled_bits_packed: NDArray[np.uint8]


@dataclass(frozen=True)
class SiftResult(Message):
    """Which detections of a batch kept their basis, their intensity, and sample errors."""

    KIND: ClassVar[Kind] = Kind.SIFT_RESULT
    batch_id: int
    count: int
    sifted_packed: NDArray[np.uint8]
    intensity: NDArray[np.uint8]
    sample_counts: NDArray[np.uint32]
    sample_errors: NDArray[np.uint32]


@dataclass(frozen=True)
class Syndrome(Message):
    """One packet of sifted key: its LDPC code, syndrome and verification hash."""

    KIND: ClassVar[Kind] = Kind.SYNDROME
    packet_id: int
    first_bit: int
    n_bits: int
    qber_estimate: float
    code: dict
    syndrome_packed: NDArray[np.uint8]
    verify_seed: bytes
    verify_tag: bytes


@dataclass(frozen=True)
class PaInstruction(Message):
    """Step 4: privacy-amplify these packets' key bits of these intensities to ``out_bits``."""

    KIND: ClassVar[Kind] = Kind.PA_INSTRUCTION
    block_id: int
    packet_ids: NDArray[np.uint32]
    key_intensities: NDArray[np.uint8]
    in_bits: int
    out_bits: int
    seed_packed: NDArray[np.uint8]
    report: dict


@dataclass(frozen=True)
class PaConfirm(Message):
    """Step 5: the satellite amplified the block; CRC-32 of its final key."""

    KIND: ClassVar[Kind] = Kind.PA_CONFIRM
    block_id: int
    crc32: int


@dataclass(frozen=True)
class KeyAck(Message):
    """Step 6: the ground checked the CRC and stored the key (or did not: ``ok`` = 0)."""

    KIND: ClassVar[Kind] = Kind.KEY_ACK
    block_id: int
    ok: int


@dataclass(frozen=True)
class Abandon(Message):
    """Drop a block (failed verification, zero key length, ...)."""

    KIND: ClassVar[Kind] = Kind.ABANDON
    block_id: int
    reason: str


@dataclass(frozen=True)
class EndOfPass(Message):
    """The ground sent its last detection batch."""

    KIND: ClassVar[Kind] = Kind.END_OF_PASS
    last_batch_id: int


@dataclass(frozen=True)
class Close(Message):
    """The ground resolved every block and had every earlier message acknowledged."""

    KIND: ClassVar[Kind] = Kind.CLOSE
    blocks: int


@dataclass(frozen=True)
class DecodeReport(Message):
    """The ground decoded (or failed) packet ``packet_id``: the errors it corrected.

    The error count of the key bits is not secret in this analysis: the decoy-state
    estimate is computed from the error counts of the key part, in the open. The per-packet
    count is nevertheless charged to the packet's leak,
    ⌈log₂(bits + 1)⌉ bits (:func:`satqkd.protocol.ground.report_leak_bits`), so disclosing
    it can only lower the final key length, never overstate it.
    """

    KIND: ClassVar[Kind] = Kind.DECODE_REPORT
    packet_id: int
    decoded: int
    bits: int
    errors: int


@dataclass(frozen=True)
class RevealRequest(Message):
    """Blind reconciliation: packet ``packet_id`` did not decode; send reveal step ``step``
    (1-based; step k is asked for only after steps 1 … k − 1 arrived). ``positions``: empty
    for a blind code (the step's punctured positions follow from the code); for a guided
    code the key-frame indices whose values the ground asks for (its least reliable bits)."""

    KIND: ClassVar[Kind] = Kind.REVEAL_REQUEST
    packet_id: int
    step: int
    positions: NDArray[np.uint32]


@dataclass(frozen=True)
class Reveal(Message):
    """Blind reconciliation: the values of reveal step ``step``'s positions of packet
    ``packet_id`` (``bits`` of them, packed): the code's punctured positions in its reveal
    order, or, for a guided code, the requested positions in the order asked."""

    KIND: ClassVar[Kind] = Kind.REVEAL
    packet_id: int
    step: int
    bits: int
    values_packed: NDArray[np.uint8]


MESSAGE_TYPES: dict[int, type[Message]] = {
    cls.KIND: cls
    for cls in (Ack, Detections, SiftResult, Syndrome, PaInstruction, PaConfirm, KeyAck,
                Abandon, EndOfPass, Close, DecodeReport, RevealRequest, Reveal)
}


def decode_message(kind: int, body: bytes) -> Message:
    """The message of type ``kind`` from its body; :class:`WireError` if unknown/malformed."""
    cls = MESSAGE_TYPES.get(kind)
    if cls is None:
        raise WireError(f"unknown message kind {kind}")
    return cls.from_body(body)
