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
erased in one transaction at B. Called one by one, steps 1 and 2 commit in that
order, and a crash between them leaves B's pool behind A's; the lagging bytes are
discarded (never delivered) at the next carve or at start-up (:meth:`Kme.reconcile`).
The service runs the calls through a group committer (:meth:`Kme.group_committer`),
which commits A and B in parallel, so after a crash B may also be *ahead* of A: then
:meth:`Kme.reconcile` discards the bytes at A and erases the keys reserved at B that
no master ever received. Either way no SAE was answered for those keys.
"""

from __future__ import annotations

import base64
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
                    purpose="etsi014",
                    master_sae=master_sae,
                    slave_sae=slave_sae,
                )
                slave.carve_keys_at(
                    link,
                    [(k.key_id, k.segments) for k in carved],
                    state="reserved",
                    purpose="etsi014",
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
        return KeyContainer(keys=[_wire_key(k.key_id, k.material) for k in carved])

    def dec_keys(self, slave_sae: str, master_sae: str, key_ids: Sequence[str]) -> KeyContainer:
        """Get key with key IDs (§5.3): the keys reserved for ``slave_sae`` (the caller), once."""
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
        return KeyContainer(keys=[_wire_key(k, m) for k, m in zip(key_ids, material, strict=True)])

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

        After a crash between the commits of the two ends: pool bytes consumed at one
        end only are erased at the other (:func:`~satqkd.keys.sync.reconcile`), and a
        key reserved at one end for a slave SAE whose master-side record is missing
        (the slave end committed, the master end did not, so no master ever received
        it) is erased, marked ``consumed``.
        """
        total = 0
        for a, b in self._node_pairs():
            link = link_name(a, b)
            store_a, store_b = self.stores[a], self.stores[b]
            with link_lock(link):
                total += reconcile(store_a, store_b, link)
                total += _erase_orphans(store_a, store_b, link)
                total += _erase_orphans(store_b, store_a, link)
        return total


def _erase_orphans(here: KeyStore, there: KeyStore, link: str) -> int:
    """Erase keys reserved at ``here`` whose master-side record at ``there`` is missing.

    Returns the bytes erased. Such a key exists only after a crash that committed the
    slave end of a batch but not the master end: no master SAE ever received it.
    """
    held = [k for k in here.list_keys(link, "reserved") if k.purpose == "etsi014"]
    known = {k.key_id for k in there.find_keys([k.key_id for k in held])}
    orphans = [k for k in held if k.key_id not in known]
    if orphans:
        here.take_keys([k.key_id for k in orphans], to_state="consumed")
    return sum(k.size_bits // 8 for k in orphans)


def _wire_key(key_id: str, material: bytes) -> Key:
    return Key(key_id=key_id, key=base64.b64encode(material).decode("ascii"))
