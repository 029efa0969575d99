"""The wire format of protocol messages: a typed, versioned, authenticated envelope.

Every message between the satellite and the ground station is one envelope::

    magic   4 bytes  b"SQKD"
    version u8       WIRE_VERSION (1)
    kind    u8       message type (:class:`satqkd.protocol.messages.Kind`)
    sender  u8       0 satellite, 1 ground station
    flags   u8       reserved, 0
    seq     u32      per-sender message sequence number (also the authentication index)
    length  u32      body length in bytes
    body    length bytes (see below)
    tag_len u8       authentication tag length
    tag     tag_len bytes: authentication tag over everything before ``tag_len``

The body is a list of named fields::

    count u16, then per field: name_len u8, name (ASCII), type u8, value
    type 0 int64 (8 bytes) | 1 float64 (8) | 2 str (u32 length + UTF-8)
    | 3 bytes (u32 length + raw) | 4 array (dtype u8, u32 count, count·itemsize raw bytes)
    array dtypes: 0 uint8, 1 uint16, 2 uint32, 3 uint64, 4 int64, 5 float64

All integers little-endian. The format is deterministic (fields keep their order), so the
same message always serialises to the same bytes, and an authentication tag over the bytes
is a tag over the message.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

MAGIC = b"SQKD"
WIRE_VERSION = 1
_HEADER = struct.Struct("<4sBBBBII")
_DTYPES = [np.uint8, np.uint16, np.uint32, np.uint64, np.int64, np.float64]
_DTYPE_CODE = {np.dtype(d): i for i, d in enumerate(_DTYPES)}


class WireError(ValueError):
    """Bytes that are not a well-formed message (truncated, wrong magic, bad field)."""


def encode_body(fields: dict[str, Any]) -> bytes:
    """Serialise named fields (int, float, str, bytes or 1-D numpy arrays)."""
    out = [struct.pack("<H", len(fields))]
    for name, value in fields.items():
        raw = name.encode("ascii")
        out.append(struct.pack("<B", len(raw)) + raw)
        if isinstance(value, bool | int | np.integer):
            out.append(struct.pack("<Bq", 0, int(value)))
        elif isinstance(value, float | np.floating):
            out.append(struct.pack("<Bd", 1, float(value)))
        elif isinstance(value, str):
            data = value.encode("utf-8")
            out.append(struct.pack("<BI", 2, len(data)) + data)
        elif isinstance(value, bytes | bytearray):
            out.append(struct.pack("<BI", 3, len(value)) + bytes(value))
        elif isinstance(value, np.ndarray):
            arr = np.ascontiguousarray(value).ravel()
            code = _DTYPE_CODE.get(arr.dtype)
            if code is None:
                raise WireError(f"field {name}: unsupported dtype {arr.dtype}")
            out.append(struct.pack("<BBI", 4, code, arr.size) + arr.astype(
                arr.dtype.newbyteorder("<"), copy=False).tobytes())
        else:
            raise WireError(f"field {name}: unsupported type {type(value).__name__}")
    return b"".join(out)


def decode_body(data: bytes) -> dict[str, Any]:
    """Inverse of :func:`encode_body`; :class:`WireError` on malformed input."""
    try:
        (count,) = struct.unpack_from("<H", data, 0)
        pos = 2
        fields: dict[str, Any] = {}
        for _ in range(count):
            (n,) = struct.unpack_from("<B", data, pos)
            name = data[pos + 1:pos + 1 + n].decode("ascii")
            pos += 1 + n
            (kind,) = struct.unpack_from("<B", data, pos)
            pos += 1
            if kind == 0:
                (fields[name],) = struct.unpack_from("<q", data, pos)
                pos += 8
            elif kind == 1:
                (fields[name],) = struct.unpack_from("<d", data, pos)
                pos += 8
            elif kind in (2, 3):
                (length,) = struct.unpack_from("<I", data, pos)
                pos += 4
                raw = data[pos:pos + length]
                if len(raw) != length:
                    raise WireError("truncated field")
                fields[name] = raw.decode("utf-8") if kind == 2 else bytes(raw)
                pos += length
            elif kind == 4:
                code, length = struct.unpack_from("<BI", data, pos)
                pos += 5
                dtype = np.dtype(_DTYPES[code]).newbyteorder("<")
                nbytes = length * dtype.itemsize
                raw = data[pos:pos + nbytes]
                if len(raw) != nbytes:
                    raise WireError("truncated array")
                fields[name] = np.frombuffer(raw, dtype=dtype).astype(_DTYPES[code])
                pos += nbytes
            else:
                raise WireError(f"unknown field type {kind}")
        if pos != len(data):
            raise WireError("trailing bytes after the last field")
        return fields
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise WireError(f"malformed body: {exc}") from None


@dataclass(frozen=True)
class Envelope:
    """A parsed envelope: who sent what, its sequence number, body and tag."""

    kind: int
    sender: int
    seq: int
    body: bytes
    tag: bytes

    def signed_bytes(self) -> bytes:
        """The bytes the authentication tag covers (everything before ``tag_len``)."""
        return _HEADER.pack(MAGIC, WIRE_VERSION, self.kind, self.sender, 0, self.seq,
                            len(self.body)) + self.body

    def to_bytes(self) -> bytes:
        """The whole envelope on the wire."""
        return self.signed_bytes() + struct.pack("<B", len(self.tag)) + self.tag


def parse_envelope(data: bytes) -> Envelope:
    """Parse an envelope (tag not checked here); :class:`WireError` if malformed."""
    if len(data) < _HEADER.size + 1:
        raise WireError("too short for an envelope")
    magic, version, kind, sender, _flags, seq, length = _HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise WireError("bad magic")
    if version != WIRE_VERSION:
        raise WireError(f"unsupported wire version {version}")
    end = _HEADER.size + length
    if len(data) < end + 1:
        raise WireError("truncated body")
    tag_len = data[end]
    tag = data[end + 1:end + 1 + tag_len]
    if len(tag) != tag_len or len(data) != end + 1 + tag_len:
        raise WireError("bad tag length")
    return Envelope(kind, sender, seq, bytes(data[_HEADER.size:end]), bytes(tag))
