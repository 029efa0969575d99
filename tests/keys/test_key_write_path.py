"""The store's hot write path: key IDs and the write transaction's context manager."""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np
import pytest

from satqkd.keys import InsufficientKeyError, KeyStore, Provenance
from satqkd.keys.records import new_key_id

LINK = "jinan1-sat:jinan"


def test_new_key_ids_are_version_7_uuids_spelled_as_uuid_does() -> None:
    before_ms = time.time_ns() // 1_000_000
    ids = [new_key_id() for _ in range(2000)]
    after_ms = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    stamps = []
    for kid in ids:
        parsed = uuid.UUID(kid)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == kid  # lower-case hex, 8-4-4-4-12
        stamps.append(parsed.int >> 80)
    # The 48-bit millisecond prefix is the creation time: IDs sort in creation order
    # (to the millisecond), so the store's key-ID index grows at its right edge.
    assert before_ms <= stamps[0] and stamps[-1] <= after_ms
    assert stamps == sorted(stamps)
    # The 74 other bits are random: about half of each is set.
    rand = np.array([[(uuid.UUID(k).int >> i) & 1 for i in range(62)] for k in ids[:500]])
    assert np.all(np.abs(rand.mean(axis=0) - 0.5) < 0.12)


def test_new_stores_use_small_pages(stores) -> None:
    """A new store has 1 KiB pages (a quarter of the WAL bytes per key-service write)."""
    sat: KeyStore = stores("jinan1-sat")
    assert sat._db.conn().execute("PRAGMA page_size").fetchone()[0] == 1024


def test_failed_write_rolls_back_and_releases_the_write_lock(stores, rng) -> None:
    sat: KeyStore = stores("jinan1-sat")
    sat.add_block(LINK, rng.bytes(64), 1e-10, Provenance("p"))
    with pytest.raises(RuntimeError, match="half-way"), sat._db.write() as c:
        c.execute("UPDATE blocks SET consumed_bytes = 10")
        raise RuntimeError("half-way")
    assert sat.available_bytes(LINK) == 64  # rolled back
    with pytest.raises(InsufficientKeyError):
        sat.carve(LINK, 65)
    # Another thread can still write: neither failure left the write lock held.
    done: list[bytes] = []
    worker = threading.Thread(target=lambda: done.append(sat.carve(LINK, 8).material))
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive() and len(done) == 1
    assert sat.available_bytes(LINK) == 56
