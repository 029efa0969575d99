"""Keeping the two ends of a link in step: one lock per link, and pool reconciliation.

A key is carved at one end of a link (:meth:`KeyStore.carve`) and then at the other
end at the same positions (:meth:`KeyStore.carve_at`). If the two ends both started
carving at once, each would take the same front positions for a different purpose:
the same pad bytes used twice. The rule is therefore *one initiator at a time per
link*; inside one process the KME, the relay and the encrypted-transfer helpers hold
:func:`link_lock` across each initiator/follower pair. Separate processes sharing a
link must agree on a single initiating end (in a deployment, the link's designated
pool master); a violation is detected by :class:`~satqkd.keys.errors.KeyDesyncError`
at the follower, after the fact.
"""

from __future__ import annotations

import threading

from satqkd.keys.records import canonical_link
from satqkd.keys.store import KeyStore

_locks: dict[str, threading.RLock] = {}
_registry_lock = threading.Lock()


def link_lock(link: str) -> threading.RLock:
    """The process-wide (re-entrant) lock of ``link`` (any spelling of the link)."""
    canon = canonical_link(link)
    with _registry_lock:
        return _locks.setdefault(canon, threading.RLock())


def reconcile(store_a: KeyStore, store_b: KeyStore, link: str) -> int:
    """Bring the pools of ``link`` at its two ends to the same frontier; return bytes discarded.

    For every block both stores hold, bytes consumed at one end but not at the other
    are erased unused at the lagging end: they can never again be a shared secret.
    Needed only after a crash between the two ends' commits.
    """
    canon = canonical_link(link)
    used_a = {b.block_id: b.consumed_bytes for b in store_a.blocks(canon)}
    used_b = {b.block_id: b.consumed_bytes for b in store_b.blocks(canon)}
    discarded = 0
    for bid in used_a.keys() & used_b.keys():
        target = max(used_a[bid], used_b[bid])
        discarded += store_a.discard_to(bid, target) + store_b.discard_to(bid, target)
    return discarded
