"""The key management entity (KME) logic of ETSI GS QKD 014, independent of HTTP.

Simulation design: one :class:`Kme` fronts the key stores of several nodes (for a
link A–B, the stores of A and B). In a deployment each node runs its own KME and the
two KMEs of a link agree on key positions over their own channel; here the
agreement is a function call. When master SAE *m* (at node A) asks for keys for
slave SAE *s* (at node B), the KME

1. carves the keys from the front of A's pool for link A–B (recorded at A as
   ``delivered`` to *m*, bytes erased), one transaction;
2. carves the very same pool positions at B (:meth:`KeyStore.carve_keys_at`),
   recorded as ``reserved`` for *s*, one transaction;
3. returns the keys to *m*. The keys are equal at both ends because QKD made the two
   pools equal.

*s* then fetches them once with ``dec_keys``: reserved keys are handed out and
erased in one transaction at B.

Durability. The record that must be on disk before *m* is answered is B's
reservation: it is what lets *s* fetch the keys, and with it B's pool frontier has
moved past them. A's record (the master end's) can always be rebuilt from it: same
key IDs, same pool positions. So under the service's group committer
(:meth:`Kme.group_committer`) A's carve is written ``durable=False``: committed with
the batch but not waited for on disk, and one WAL sync per batch (B's) makes an
``enc_keys`` durable. After a crash (kill -9, or a power cut that drops A's
unsynced commits) :meth:`Kme.reconcile` puts the two ends back in step:

* a key reserved at B with no record at A: A lost its record (or a crash came
  between the two commits); the record is rebuilt at A, the bytes erased there, and
  *s* can still fetch the key (its master may have received it);
* a key recorded at A with no reservation at B: no master was answered for it; B's
  lagging pool bytes are discarded (never delivered), like any frontier difference.

Called directly (no committer) every write is a ``synchronous=FULL`` transaction of
its own, A's first.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from threading import RLock
from typing import Any

from satqkd.errors import InputError
from satqkd.keys.errors import (
    InsufficientKeyError,
    KeyAccessError,
    KeyDesyncError,
    KeyStateError,
)
from satqkd.keys.etsi014.models import Key, KeyContainer, KeyRequest, Status
from satqkd.keys.etsi014.saemap import SaeMap
from satqkd.keys.group_commit import GroupCommitter
from satqkd.keys.records import link_name
from satqkd.keys.store import KeyStore
from satqkd.keys.sync import link_lock, reconcile

logger = logging.getLogger(__name__)
#: Purpose recorded on the key rows of ETSI GS QKD 014 deliveries, at both ends.
PURPOSE = "etsi014"


class EtsiError(Exception):
    """An ETSI GS QKD 014 error response: HTTP status, message and name/value details."""

    def __init__(self, status_code: int, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.details = [{k: v} for k, v in details.items()]


@dataclass(frozen=True)
class KmeLimits:
    """Limits reported in the Status and enforced on requests (sizes in bits)."""

    key_size_bits: int = 256
    min_key_size_bits: int = 64
    max_key_size_bits: int = 8192
    max_key_per_request: int = 128

    def __post_init__(self) -> None:
        sizes = (self.min_key_size_bits, self.key_size_bits, self.max_key_size_bits)
        if any(s % 8 or s < 8 for s in sizes) or not sizes[0] <= sizes[1] <= sizes[2]:
            raise InputError(
                "key sizes must be multiples of 8 with min <= default <= max",
                field="key_size_bits",
                value=sizes,
            )
        if self.max_key_per_request < 1:
            raise InputError(
                "at least one key per request",
                field="max_key_per_request",
                value=self.max_key_per_request,
            )


def kme_id(node: str) -> str:
    """The KME ID reported for the KME of ``node``."""
    return f"KME-{node}"


class Kme:
    """Key delivery for SAEs at the nodes whose stores it holds.

    Parameters
    ----------
    stores:
        The key stores, one per node.
    sae_map:
        SAE ID → node; defaults to :meth:`SaeMap.identity` over the stores' nodes.
    limits:
        Key sizes and counts per request.
    """

    def __init__(
        self,
        stores: Iterable[KeyStore],
        sae_map: SaeMap | None = None,
        limits: KmeLimits | None = None,
    ) -> None:
        self.stores = {s.node: s for s in stores}
        self.sae_map = sae_map or SaeMap.identity(self.stores)
        self.limits = limits or KmeLimits()

    # -- helpers ------------------------------------------------------------------------

    def _node(self, sae_id: str, *, caller: bool) -> str:
        node = self.sae_map.node_of(sae_id)
        if node is None or node not in self.stores:
            if caller:
                raise EtsiError(401, "the calling SAE is not known to this KME", SAE_ID=sae_id)
            raise EtsiError(400, "unknown SAE", SAE_ID=sae_id)
        return node

    def _pair(self, master_sae: str, slave_sae: str) -> tuple[KeyStore, KeyStore, str]:
        master_node = self._node(master_sae, caller=True)
        slave_node = self._node(slave_sae, caller=False)
        if master_node == slave_node:
            raise EtsiError(400, "master and slave SAE are at the same node", node=master_node)
        return self.stores[master_node], self.stores[slave_node], link_name(master_node, slave_node)

    # -- the three API calls ----------------------------------------------------------------

    def status(self, master_sae: str, slave_sae: str) -> Status:
        """Status (§5.1) of the link between ``master_sae`` (the caller) and ``slave_sae``."""
        master, slave, link = self._pair(master_sae, slave_sae)
        key_bytes = self.limits.key_size_bits // 8
        stored = min(master.available_bytes(link), slave.available_bytes(link)) // key_bytes
        material = master.material_bytes(link)
        return Status(
            source_kme_id=kme_id(master.node),
            target_kme_id=kme_id(slave.node),
            master_sae_id=master_sae,
            slave_sae_id=slave_sae,
            key_size=self.limits.key_size_bits,
            stored_key_count=stored,
            max_key_count=max(stored, material // key_bytes),
            max_key_per_request=self.limits.max_key_per_request,
            max_key_size=self.limits.max_key_size_bits,
            min_key_size=self.limits.min_key_size_bits,
            max_sae_id_count=0,
        )

    def enc_keys(self, master_sae: str, slave_sae: str, request: KeyRequest) -> KeyContainer:
        """Get key (§5.2): new keys for ``master_sae`` (the caller), reserved for ``slave_sae``."""
        return _container(self.enc_key_material(master_sae, slave_sae, request))

    def enc_key_material(
        self, master_sae: str, slave_sae: str, request: KeyRequest
    ) -> list[tuple[str, bytes]]:
        """:meth:`enc_keys` as ``(key_ID, key bytes)`` pairs (the service serialises them)."""
        master, slave, link = self._pair(master_sae, slave_sae)
        lim = self.limits
        number = 1 if request.number is None else request.number
        size = lim.key_size_bits if request.size is None else request.size
        if not 1 <= number <= lim.max_key_per_request:
            raise EtsiError(
                400,
                "number of keys out of range",
                number=number,
                max_key_per_request=lim.max_key_per_request,
            )
        if size % 8 or not lim.min_key_size_bits <= size <= lim.max_key_size_bits:
            raise EtsiError(
                400,
                "key size must be a multiple of 8 within the KME's limits",
                size=size,
                min_key_size=lim.min_key_size_bits,
                max_key_size=lim.max_key_size_bits,
            )
        if request.additional_slave_sae_ids:
            raise EtsiError(
                400,
                "key multicast is not supported (max_SAE_ID_count is 0)",
                additional_slave_SAE_IDs=request.additional_slave_sae_ids,
            )
        if request.extension_mandatory:
            names = [name for ext in request.extension_mandatory for name in ext]
            raise EtsiError(400, "mandatory extensions not supported", extension_mandatory=names)
        with link_lock(link):
            try:
                carved = master.carve_keys(
                    link,
                    size // 8,
                    number,
                    state="delivered",
                    purpose=PURPOSE,
                    master_sae=master_sae,
                    slave_sae=slave_sae,
                    durable=False,  # rebuilt from the slave end's record after a crash
                )
                slave.carve_keys_at(
                    link,
                    [(k.key_id, k.segments) for k in carved],
                    state="reserved",
                    purpose=PURPOSE,
                    master_sae=master_sae,
                    slave_sae=slave_sae,
                )
            except InsufficientKeyError as exc:
                raise EtsiError(
                    503,
                    "not enough key material for this request",
                    requested_bits=exc.needed_bytes * 8,
                    stored_bits=exc.available_bytes * 8,
                ) from exc
            except KeyDesyncError as exc:
                raise EtsiError(
                    503, "the KMEs of the link are out of step", reason=str(exc)
                ) from exc
        return [(k.key_id, k.material) for k in carved]

    def dec_keys(self, slave_sae: str, master_sae: str, key_ids: Sequence[str]) -> KeyContainer:
        """Get key with key IDs (§5.3): the keys reserved for ``slave_sae`` (the caller), once."""
        return _container(self.dec_key_material(slave_sae, master_sae, key_ids))

    def dec_key_material(
        self, slave_sae: str, master_sae: str, key_ids: Sequence[str]
    ) -> list[tuple[str, bytes]]:
        """:meth:`dec_keys` as ``(key_ID, key bytes)`` pairs (the service serialises them)."""
        slave_node = self._node(slave_sae, caller=True)
        self._node(master_sae, caller=False)
        if not key_ids:
            raise EtsiError(400, "no key_ID given")
        if len(key_ids) > self.limits.max_key_per_request:
            raise EtsiError(
                400,
                "too many key IDs",
                count=len(key_ids),
                max_key_per_request=self.limits.max_key_per_request,
            )
        try:
            material = self.stores[slave_node].take_keys(
                key_ids, to_state="delivered", caller_sae=slave_sae, master_sae=master_sae
            )
        except KeyAccessError as exc:
            raise EtsiError(401, str(exc)) from exc
        except KeyStateError as exc:
            # A key reserved for another SAE is refused with 401 wherever it is held.
            for store in self.stores.values():
                for rec in store.find_keys(key_ids):
                    if rec.slave_sae is not None and rec.slave_sae != slave_sae:
                        raise EtsiError(
                            401, "key not issued for the calling SAE", key_ID=rec.key_id
                        ) from exc
            raise EtsiError(400, str(exc)) from exc
        return list(zip(key_ids, material, strict=True))

    def _node_pairs(self) -> list[tuple[str, str]]:
        nodes = sorted(self.stores)
        return [(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1 :]]

    def link_locks(self) -> list[RLock]:
        """The locks of every link between this KME's nodes, in a fixed (sorted) order."""
        return [link_lock(link_name(a, b)) for a, b in self._node_pairs()]

    def group_committer(self) -> GroupCommitter:
        """A group committer over this KME's stores, for serving many SAEs at once.

        It holds every link lock of the KME across a batch, and reconciles the links
        when a batch fails to commit (the stores commit in parallel).
        """
        return GroupCommitter(self.stores.values(), self.link_locks(), recover=self.reconcile)

    def reconcile(self) -> int:
        """Put the two ends of every link this KME holds back in step; return bytes discarded.

        After a crash between (or during) the commits of the two ends: first every key
        reserved for a slave SAE at one end whose master-side record is missing at
        the other end gets that record rebuilt (:meth:`_rebuild_master_records`); then
        pool bytes consumed at one end only are erased at the other
        (:func:`~satqkd.keys.sync.reconcile`): those belong to keys no master was
        ever answered for.
        """
        total = 0
        for a, b in self._node_pairs():
            link = link_name(a, b)
            store_a, store_b = self.stores[a], self.stores[b]
            with link_lock(link):
                self._rebuild_master_records(store_a, store_b, link)
                self._rebuild_master_records(store_b, store_a, link)
                total += reconcile(store_a, store_b, link)
        return total

    def _rebuild_master_records(self, slave_end: KeyStore, master_end: KeyStore, link: str) -> int:
        """Rebuild at ``master_end`` the records of keys reserved at ``slave_end``; return how many.

        A slave-side record is a key row of purpose :data:`PURPOSE` whose slave SAE
        belongs to ``slave_end``'s node. Its master-side twin (same key ID, same pool
        positions, state ``delivered``, no bytes) is missing only after a crash that
        kept the slave end's commit and not the master end's. The pool bytes are
        erased at ``master_end`` as the original carve would have done. A key whose
        bytes ``master_end`` has already consumed otherwise cannot be rebuilt (this
        would mean the two pools were used out of step); it is logged and skipped.
        """
        known = {kid for kid, _ in master_end.key_ids(link, PURPOSE)}
        missing = [
            kid
            for kid, slave_sae in slave_end.key_ids(link, PURPOSE)
            if kid not in known
            and slave_sae is not None
            and self.sae_map.node_of(slave_sae) == slave_end.node
        ]
        if not missing:
            return 0
        order = {b.block_id: i for i, b in enumerate(master_end.blocks(link))}
        records = sorted(
            slave_end.find_keys(missing),
            key=lambda r: (order.get(r.segments[0].block_id, -1), r.segments[0].start_byte),
        )
        rebuilt = 0
        for rec in records:
            try:
                master_end.carve_keys_at(
                    link,
                    [(rec.key_id, rec.segments)],
                    state="delivered",
                    purpose=PURPOSE,
                    master_sae=rec.master_sae,
                    slave_sae=rec.slave_sae,
                )
                rebuilt += 1
            except KeyDesyncError as exc:
                logger.warning("cannot rebuild the master record of key %s: %s", rec.key_id, exc)
        logger.info("rebuilt %d master-side key records at %s", rebuilt, master_end.node)
        return rebuilt


def _container(pairs: list[tuple[str, bytes]]) -> KeyContainer:
    return KeyContainer(keys=[_wire_key(kid, material) for kid, material in pairs])


def _wire_key(key_id: str, material: bytes) -> Key:
    return Key(key_id=key_id, key=base64.b64encode(material).decode("ascii"))
