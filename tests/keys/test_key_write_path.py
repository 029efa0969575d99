"""The store's hot write path: key IDs and the write transaction's context manager."""

from __future__ import annotations

import threading
import uuid

import pytest

from satqkd.keys import InsufficientKeyError, KeyStore, Provenance
from satqkd.keys.records import new_key_id

LINK = "jinan1-sat:jinan"


def test_new_key_ids_are_version_4_uuids_spelled_as_uuid_does() -> None:
    ids = [new_key_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for kid in ids:
        parsed = uuid.UUID(kid)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == kid  # lower-case hex, 8-4-4-4-12


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
