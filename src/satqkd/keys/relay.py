"""Trusted-node key relay through the satellite, and file transfer between two stations.

Key relay (SPEC §9, Jinan-1/Micius procedure). Pass 1 leaves key MJ in the pools of
link satellite–A (at the satellite and at A); a later pass leaves MN on link
satellite–B. The satellite carves MJ and MN (erasing both), and sends MN ⊕ MJ with the
pool positions of both keys — a public message, one-time-pad encrypted. A moves its
copy of MJ from the pool of satellite–A into the pool of the new link A–B; B carves
MN and recovers MJ = (MN ⊕ MJ) ⊕ MN into the pool of A–B. Each station step is one
transaction. A and B now share MJ, recorded as a ``relay`` block of link A–B with
security parameter ε(MJ) + ε(MN). The satellite knows MJ: it is a *trusted* node.

Consumption: MJ at the satellite and at A (moved to A–B), MN at the satellite and at B.

File transfer (:func:`send_file`): if A and B already share enough relayed key on link
A–B (from an earlier :func:`relay_key`, e.g. ``satqkd relay``), the file is encrypted
end to end with it and the satellite forwards the ciphertext unchanged (route
``"relayed"``). Otherwise, with ``cipher="otp"`` the file is one-time-pad encrypted hop
by hop as in SPEC §9 (A encrypts with its pad on satellite–A, the satellite re-encrypts
with a pad on satellite–B, B decrypts; route ``"hop-by-hop"``); it consumes the file's
length of key on each of the two links at each end. With ``"aes-128-gcm"`` or
``"aes-256-gcm"`` a 128/256-bit key is relayed to A–B first (route ``"relay-then-aes"``)
and the file crosses under AES-GCM. The one-time pad gives secrecy but no integrity
check; AES-GCM authenticates.
"""

from __future__ import annotations

import hashlib
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from satqkd.errors import InputError
from satqkd.keys._db import xor_bytes
from satqkd.keys.encryption import aes_decrypt, aes_encrypt, otp_decrypt, otp_encrypt, otp_forward
from satqkd.keys.errors import InsufficientKeyError, KeyDesyncError
from satqkd.keys.records import Provenance, Segment, canonical_link, link_name, link_nodes
from satqkd.keys.store import KeyStore
from satqkd.keys.sync import link_lock

Cipher = Literal["otp", "aes-128-gcm", "aes-256-gcm"]
CIPHERS: tuple[Cipher, ...] = ("otp", "aes-128-gcm", "aes-256-gcm")


@dataclass(frozen=True)
class RelayMessage:
    """What the satellite sends down: MN ⊕ MJ and where MJ and MN lie in the pools."""

    relay_id: str
    link_ab: str
    link_a: str
    key_id_a: str
    segments_a: tuple[Segment, ...]
    link_b: str
    key_id_b: str
    segments_b: tuple[Segment, ...]
    masked: bytes
    epsilon: float
    pass_ids: tuple[str, ...]

    def provenance(self, satellite: str) -> Provenance:
        """Provenance of the relayed block of link A–B."""
        return Provenance(
            pass_id=f"relay-{self.relay_id}",
            source="relay",
            extra={"via": satellite, "from_passes": list(self.pass_ids)},
        )

    def block_id(self) -> str:
        """Id of the relayed block (the same at A and B)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"satqkd-relay:{self.relay_id}"))


@dataclass(frozen=True)
class RelayResult:
    """Outcome of :func:`relay_key`: the new A–B block and what was consumed where."""

    link_ab: str
    block_id: str
    n_bits: int
    epsilon: float
    message: RelayMessage
    consumed_bits: dict[str, dict[str, int]]


def _other_node(link: str, node: str) -> str:
    a, b = link_nodes(link)
    if node not in (a, b):
        raise InputError(f"link does not touch node {node!r}", field="link", value=link)
    return b if node == a else a


def satellite_relay(sat_store: KeyStore, link_a: str, link_b: str, n_bits: int) -> RelayMessage:
    """The satellite's part: carve MJ (link to A) and MN (link to B), return MN ⊕ MJ.

    Both pools are checked before either is touched, so a shortage consumes nothing.
    """
    if n_bits < 8 or n_bits % 8:
        raise InputError(
            "relay a whole number of bytes (n_bits a multiple of 8)", field="n_bits", value=n_bits
        )
    n_bytes = n_bits // 8
    sat = sat_store.node
    node_a, node_b = _other_node(link_a, sat), _other_node(link_b, sat)
    if node_a == node_b:
        raise InputError("the two stations of a relay differ", field="link_b", value=link_b)
    for link in (link_a, link_b):
        available = sat_store.available_bytes(link)
        if available < n_bytes:
            raise InsufficientKeyError(canonical_link(link), n_bytes, available)
    mj = sat_store.carve(link_a, n_bytes, state="consumed", purpose="relay")
    mn = sat_store.carve(link_b, n_bytes, state="consumed", purpose="relay")
    return RelayMessage(
        relay_id=str(uuid.uuid4()),
        link_ab=link_name(node_a, node_b),
        link_a=mj.link,
        key_id_a=mj.key_id,
        segments_a=mj.segments,
        link_b=mn.link,
        key_id_b=mn.key_id,
        segments_b=mn.segments,
        masked=xor_bytes(mj.material, mn.material),
        epsilon=mj.epsilon + mn.epsilon,
        pass_ids=tuple(dict.fromkeys(mj.pass_ids + mn.pass_ids)),
    )


def station_accept_relay(store: KeyStore, message: RelayMessage, satellite: str) -> str:
    """A station's part: A moves MJ, B unmasks MJ, into the pool of link A–B; return block id."""
    is_source = store.node in link_nodes(message.link_a)
    link, key_id, segments = (
        (message.link_a, message.key_id_a, message.segments_a)
        if is_source
        else (message.link_b, message.key_id_b, message.segments_b)
    )
    return store.transfer_at(
        link,
        segments,
        key_id=key_id,
        to_link=message.link_ab,
        mask=None if is_source else message.masked,
        epsilon=message.epsilon,
        provenance=message.provenance(satellite),
        block_id=message.block_id(),
    )


def _locked(*links: str) -> ExitStack:
    stack = ExitStack()
    for link in sorted({canonical_link(x) for x in links}):
        stack.enter_context(link_lock(link))
    return stack


def relay_key(
    sat_store: KeyStore,
    store_a: KeyStore,
    store_b: KeyStore,
    link_a: str,
    link_b: str,
    n_bits: int,
) -> RelayResult:
    """Relay ``n_bits`` of key from link satellite–A to a new shared key of A and B.

    Runs :func:`satellite_relay` and :func:`station_accept_relay` at A and at B under
    the links' locks. Afterwards ``store_a`` and ``store_b`` hold the same block in the
    pool of link A–B (ids in the result).
    """
    with _locked(link_a, link_b):
        message = satellite_relay(sat_store, link_a, link_b, n_bits)
        block_a = station_accept_relay(store_a, message, sat_store.node)
        block_b = station_accept_relay(store_b, message, sat_store.node)
    if block_a != block_b:
        raise KeyDesyncError("the two stations recorded the relayed key under different ids")
    consumed = {
        sat_store.node: {message.link_a: n_bits, message.link_b: n_bits},
        store_a.node: {message.link_a: n_bits},
        store_b.node: {message.link_b: n_bits},
    }
    return RelayResult(message.link_ab, block_a, n_bits, message.epsilon, message, consumed)


@dataclass(frozen=True)
class SendResult:
    """Outcome of :func:`send_file`."""

    cipher: Cipher
    n_bytes: int
    sha256_sent: str
    sha256_received: str
    key_bits_consumed: dict[str, int]
    output: Path
    #: ``"relayed"`` (end to end with A–B key), ``"hop-by-hop"`` (OTP re-encrypted at the
    #: satellite) or ``"relay-then-aes"`` (an AES key relayed to A–B first).
    route: str = "hop-by-hop"

    @property
    def identical(self) -> bool:
        """True when the received file hashes like the sent one."""
        return self.sha256_sent == self.sha256_received


def send_file(
    path: str | Path,
    output: str | Path,
    *,
    sat_store: KeyStore,
    store_a: KeyStore,
    store_b: KeyStore,
    link_a: str,
    link_b: str,
    cipher: Cipher = "otp",
) -> SendResult:
    """Carry the file ``path`` from station A to station B through the satellite.

    ``output`` receives B's decryption. Key is consumed as described in the module
    docstring; with too little key the transfer is refused before anything is used
    (:class:`~satqkd.keys.errors.InsufficientKeyError`).
    """
    if cipher not in CIPHERS:
        raise InputError(f"cipher is one of {', '.join(CIPHERS)}", field="cipher", value=cipher)
    src = Path(path)
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", source=str(src)) from exc
    sat = sat_store.node
    link_ab = link_name(_other_node(link_a, sat), _other_node(link_b, sat))
    key_bytes = len(data) if cipher == "otp" else int(cipher.split("-")[1]) // 8
    with _locked(link_ab):
        relayed_pool = min(store_a.available_bytes(link_ab), store_b.available_bytes(link_ab))
    if relayed_pool >= key_bytes:
        received = _send_end_to_end(data, store_a, store_b, link_ab, cipher)
        consumed = {canonical_link(link_ab): 8 * key_bytes}
        route = "relayed"
    elif cipher == "otp":
        route = "hop-by-hop"
        with _locked(link_a, link_b):
            need = len(data)
            for store, link in (
                (store_a, link_a),
                (sat_store, link_a),
                (sat_store, link_b),
                (store_b, link_b),
            ):
                available = store.available_bytes(link)
                if available < need:
                    raise InsufficientKeyError(canonical_link(link), need, available)
            uploaded = otp_encrypt(store_a, link_a, data)
            downloaded = otp_forward(sat_store, uploaded, link_b)
            received = otp_decrypt(store_b, downloaded)
        consumed = {canonical_link(link_a): 8 * need, canonical_link(link_b): 8 * need}
    else:
        route = "relay-then-aes"
        key_bits = int(cipher.split("-")[1])
        relayed = relay_key(sat_store, store_a, store_b, link_a, link_b, key_bits)
        with link_lock(relayed.link_ab):
            sealed = aes_encrypt(store_a, relayed.link_ab, data, key_bits=key_bits)
            received = aes_decrypt(store_b, sealed)
        consumed = {canonical_link(link_a): key_bits, canonical_link(link_b): key_bits}
    out = Path(output)
    out.write_bytes(received)
    return SendResult(
        cipher,
        len(data),
        hashlib.sha256(data).hexdigest(),
        hashlib.sha256(received).hexdigest(),
        consumed,
        out,
        route,
    )


def _send_end_to_end(
    data: bytes, store_a: KeyStore, store_b: KeyStore, link_ab: str, cipher: Cipher
) -> bytes:
    """Encrypt at A with key of the relayed pool A–B, decrypt at B; return B's plaintext."""
    with link_lock(link_ab):
        if cipher == "otp":
            return otp_decrypt(store_b, otp_encrypt(store_a, link_ab, data))
        key_bits = int(cipher.split("-")[1])
        return aes_decrypt(store_b, aes_encrypt(store_a, link_ab, data, key_bits=key_bits))
