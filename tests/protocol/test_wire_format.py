"""The wire format: every message type round-trips; malformed bytes are rejected cleanly."""

from __future__ import annotations

import struct
from dataclasses import fields

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from satqkd.protocol.messages import (
    MESSAGE_TYPES,
    Abandon,
    Ack,
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
    decode_message,
)
from satqkd.protocol.wire import (
    MAGIC,
    WIRE_VERSION,
    Envelope,
    WireError,
    decode_body,
    encode_body,
    parse_envelope,
)

U8, U32 = np.uint8, np.uint32


def examples() -> list[Message]:
    """One message of every type, with every field set to something non-trivial."""
    return [
        Ack(np.array([1, 7, 2**32 - 1], dtype=U32)),
        Detections(3, 4.0, 5, 1_000_000_007, np.array([0, 9, 1, 2**31, 5], dtype=U32),
                   np.array([0b10100000], dtype=U8), np.array([0b01000000], dtype=U8),
                   np.array([0b10000000], dtype=U8)),
        SiftResult(3, 5, np.array([0b11001000], dtype=U8), np.array([0, 2, 1], dtype=U8),
                   np.arange(6, dtype=U32), np.array([0, 1, 0, 0, 2, 0], dtype=U32)),
        Syndrome(2, 200_000, 100_000, 0.0125, {"seed": 7, "rate": 0.8, "name": "peg"},
                 np.array([1, 2, 255], dtype=U8), b"\x00" * 15 + b"\x01", b"\xfe" * 8),
        PaInstruction(1, np.array([5, 6], dtype=U32), np.array([0], dtype=U8), 90_000, 12_345,
                      np.array([0xAA, 0x55], dtype=U8), {"epsilon": {"total": 1.5e-9}}),
        PaConfirm(1, 0xDEADBEEF),
        KeyAck(1, 1),
        Abandon(4, "final key length is zero — ε"),
        EndOfPass(299),
        Close(3),
        DecodeReport(7, 1, 100_000, 812),
        RevealRequest(7, 3, np.zeros(0, dtype=U32)),
        RevealRequest(7, 4, np.array([3, 17, 99_999], dtype=U32)),
        Reveal(7, 3, 12, np.array([0b10110011, 0b01010000], dtype=U8)),
    ]


def assert_same(a: Message, b: Message) -> None:
    assert type(a) is type(b)
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), f.name
        else:
            assert x == y and type(x) is type(y), f.name


def envelope_bytes(message: Message, seq: int = 42, tag: bytes = b"T" * 8) -> bytes:
    return Envelope(int(message.KIND), 1, seq, message.to_body(), tag).to_bytes()


def test_every_kind_has_an_example() -> None:
    assert {int(m.KIND) for m in examples()} == set(MESSAGE_TYPES) == {int(k) for k in Kind}


@pytest.mark.parametrize("message", examples(), ids=lambda m: type(m).__name__)
def test_round_trip(message: Message) -> None:
    data = envelope_bytes(message)
    env = parse_envelope(data)
    assert (env.kind, env.sender, env.seq, env.tag) == (int(message.KIND), 1, 42, b"T" * 8)
    assert env.to_bytes() == data
    assert_same(decode_message(env.kind, env.body), message)


@pytest.mark.parametrize("message", examples(), ids=lambda m: type(m).__name__)
def test_serialisation_is_deterministic(message: Message) -> None:
    copy = decode_message(int(message.KIND), message.to_body())
    assert copy.to_body() == message.to_body()


def test_header_layout_is_as_documented() -> None:
    """magic | version u8 | kind u8 | sender u8 | flags u8 | seq u32 | length u32 | body |
    tag_len u8 | tag, little-endian."""
    msg = PaConfirm(9, 77)
    body = msg.to_body()
    data = Envelope(int(Kind.PA_CONFIRM), 0, 0x01020304, body, b"abc").to_bytes()
    assert data[:4] == MAGIC
    assert data[4] == WIRE_VERSION and data[5] == Kind.PA_CONFIRM and data[6] == 0
    assert data[7] == 0
    assert struct.unpack_from("<II", data, 8) == (0x01020304, len(body))
    assert data[16:16 + len(body)] == body
    assert data[16 + len(body)] == 3 and data[-3:] == b"abc"


def test_every_truncation_is_rejected() -> None:
    data = envelope_bytes(Syndrome(*[getattr(examples()[3], f.name)
                                     for f in fields(Syndrome)]))
    for n in range(len(data)):
        with pytest.raises(WireError):
            env = parse_envelope(data[:n])
            decode_message(env.kind, env.body)


def test_trailing_bytes_are_rejected() -> None:
    with pytest.raises(WireError):
        parse_envelope(envelope_bytes(KeyAck(1, 1)) + b"\x00")
    body = KeyAck(1, 1).to_body() + b"\x00"
    with pytest.raises(WireError, match="trailing"):
        decode_message(int(Kind.KEY_ACK), body)


def test_bad_magic_and_version_are_rejected() -> None:
    data = bytearray(envelope_bytes(EndOfPass(3)))
    bad_magic = bytes(b"SQKX" + data[4:])
    with pytest.raises(WireError, match="magic"):
        parse_envelope(bad_magic)
    for version in (0, WIRE_VERSION + 1, 255):
        data[4] = version
        with pytest.raises(WireError, match="version"):
            parse_envelope(bytes(data))


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(WireError, match="unknown message kind"):
        decode_message(200, EndOfPass(3).to_body())


def test_missing_field_and_wrong_types_are_rejected() -> None:
    with pytest.raises(WireError, match="missing field"):
        decode_message(int(Kind.KEY_ACK), encode_body({"block_id": 1}))
    with pytest.raises(WireError, match="integer"):
        decode_message(int(Kind.KEY_ACK), encode_body({"block_id": "one", "ok": 1}))
    with pytest.raises(WireError, match="string"):
        decode_message(int(Kind.ABANDON), encode_body({"block_id": 1, "reason": 5}))
    with pytest.raises(WireError, match="array"):
        decode_message(int(Kind.ACK), encode_body({"seqs": 5}))
    with pytest.raises(WireError, match="uint32"):
        decode_message(int(Kind.ACK), encode_body({"seqs": np.arange(3, dtype=np.uint64)}))
    with pytest.raises(WireError, match="JSON"):
        fields_ = {f.name: getattr(examples()[4], f.name) for f in fields(PaInstruction)}
        fields_["report"] = "{not json"
        decode_message(int(Kind.PA_INSTRUCTION), encode_body(fields_))


def test_unknown_field_type_and_dtype_are_rejected() -> None:
    good = encode_body({"x": 1})
    bad_type = good[:2 + 1 + 1] + b"\x09" + good[2 + 1 + 1 + 1:]
    with pytest.raises(WireError, match="field type"):
        decode_body(bad_type)
    arr = encode_body({"a": np.arange(2, dtype=np.uint8)})
    bad_dtype = arr[:2 + 1 + 1 + 1] + b"\x63" + arr[2 + 1 + 1 + 2:]
    with pytest.raises(WireError):
        decode_body(bad_dtype)
    with pytest.raises(WireError, match="unsupported"):
        encode_body({"a": np.arange(2, dtype=np.int8)})


def test_bad_tag_length_is_rejected() -> None:
    data = bytearray(envelope_bytes(KeyAck(1, 1), tag=b"12345678"))
    data[-9] = 9  # tag_len claims one byte more than there is
    with pytest.raises(WireError, match="tag"):
        parse_envelope(bytes(data))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_wire_errors(data: bytes) -> None:
    for blob in (data, MAGIC + bytes([WIRE_VERSION]) + data):
        try:
            env = parse_envelope(blob)
            decode_message(env.kind, env.body)
        except WireError:
            pass


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(len(examples()))), st.integers(0, 10**6), st.integers(0, 7))
def test_bit_flips_raise_only_wire_errors_or_parse(which: int, pos: int, bit: int) -> None:
    """A flipped bit gives a clean rejection or some message (which authentication then
    rejects); never another exception."""
    data = bytearray(envelope_bytes(examples()[which]))
    data[pos % len(data)] ^= 1 << bit
    try:
        env = parse_envelope(bytes(data))
        decode_message(env.kind, env.body)
    except WireError:
        pass
