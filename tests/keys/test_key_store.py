"""The SQLite key store: pools, carving, one-time hand-out, erasure, concurrency."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest

from satqkd.errors import InputError
from satqkd.keys import (
    InsufficientKeyError,
    KeyAccessError,
    KeyDesyncError,
    KeyStateError,
    KeyStore,
    Provenance,
    canonical_link,
)
from satqkd.keys.sync import reconcile

LINK = "jinan1-sat:jinan"


def test_canonical_link_orders_names_and_rejects_bad_links() -> None:
    assert canonical_link("jinan1-sat:jinan") == canonical_link("jinan:jinan1-sat")
    assert canonical_link(" b : a ") == "a:b"
    for bad in ("jinan", "a:a", "a:b:c", ":b"):
        with pytest.raises(InputError):
            canonical_link(bad)


def test_add_block_packs_bits_msb_first_and_drops_partial_byte(stores, rng) -> None:
    sat = stores("jinan1-sat")
    bits = rng.integers(0, 2, 8 * 100 + 5)
    bid = sat.add_block(LINK, bits, 1e-10, Provenance("p", 3))
    (block,) = sat.blocks(LINK)
    assert (block.block_id, block.n_bits, block.n_bytes) == (bid, 805, 100)
    key = sat.carve(LINK, 100)
    assert key.material == np.packbits(bits[:800].astype(np.uint8)).tobytes()
    assert key.material[0] == int("".join(map(str, bits[:8])), 2)


def test_block_ids_agree_at_both_ends_and_duplicates_are_refused(stores, share) -> None:
    sat, gs = stores("jinan1-sat"), stores("jinan")
    bid = share(sat, gs, bytes(range(64)))
    with pytest.raises(InputError, match="already in the store"):
        sat.add_block(LINK, bytes(64), 1e-10, Provenance("pass-1", 0))
    assert sat.blocks()[0].block_id == gs.blocks()[0].block_id == bid


def test_store_refuses_foreign_links_and_other_nodes(stores, tmp_path) -> None:
    gs = stores("jinan")
    with pytest.raises(InputError, match="no link without that node"):
        gs.add_block("hefei:jinan1-sat", bytes(8), 1e-10, Provenance("p"))
    with pytest.raises(InputError, match="belongs to node"):
        KeyStore(tmp_path / "jinan.db", "hefei")
    with pytest.raises(InputError, match="needs the name of its node"):
        KeyStore(tmp_path / "new.db")


def test_carving_is_sequential_across_blocks_and_sums_epsilon(stores, rng) -> None:
    sat = stores("jinan1-sat")
    raw = rng.bytes(700)
    sat.add_block(LINK, raw[:300], 1e-10, Provenance("p1", 0))
    sat.add_block(LINK, raw[300:], 2e-10, Provenance("p2", 0))
    keys = sat.carve_keys(LINK, 100, 5, state="available")
    assert b"".join(k.material for k in keys) == raw[:500]
    straddle = sat.carve(LINK, 150)
    assert straddle.material == raw[500:650]
    assert [s.n_bytes for s in straddle.segments] == [150]
    assert keys[2].epsilon == pytest.approx(1e-10) and keys[3].epsilon == pytest.approx(2e-10)
    mixed = sat.blocks()
    assert [b.available_bytes for b in mixed] == [0, 50]
    assert sat.available_bytes(LINK) == 50


def test_insufficient_key_consumes_nothing(stores, rng) -> None:
    sat = stores("jinan1-sat")
    sat.add_block(LINK, rng.bytes(64), 1e-10, Provenance("p"))
    with pytest.raises(InsufficientKeyError, match="needs 520 bits, the pool holds 512 bits"):
        sat.carve(LINK, 65)
    with pytest.raises(InsufficientKeyError):
        sat.carve_keys(LINK, 16, 5)
    assert sat.available_bytes(LINK) == 64 and sat.list_keys() == []


def test_carve_at_reproduces_the_other_end_and_detects_desync(stores, rng, share) -> None:
    sat, gs = stores("jinan1-sat"), stores("jinan")
    share(sat, gs, rng.bytes(512))
    key = sat.carve(LINK, 40)
    twin = gs.carve_at(LINK, key.segments, key_id=key.key_id, state="reserved", slave_sae="s")
    assert twin.material == key.material and twin.discarded_bytes == 0
    with pytest.raises(KeyDesyncError, match="already consumed"):
        gs.carve_at(LINK, key.segments, key_id="another")
    # The follower lagging behind (a crash between the two commits) discards the gap.
    lost = sat.carve(LINK, 10)
    nxt = sat.carve(LINK, 10)
    late = gs.carve_at(LINK, nxt.segments, key_id=nxt.key_id)
    assert late.material == nxt.material and late.discarded_bytes == len(lost.material)


def test_take_keys_hands_out_once_to_the_named_slave_only(stores, rng) -> None:
    gs = stores("jinan")
    gs.add_block(LINK, rng.bytes(256), 1e-10, Provenance("p"))
    k1, k2 = gs.carve_keys(LINK, 32, 2, state="reserved", master_sae="m", slave_sae="s")
    with pytest.raises(KeyAccessError):
        gs.take_keys([k1.key_id], caller_sae="intruder")
    with pytest.raises(KeyStateError, match="unknown key"):
        gs.take_keys([k1.key_id, "00000000-0000-0000-0000-000000000000"], caller_sae="s")
    assert gs.take_keys([k1.key_id, k2.key_id], caller_sae="s", master_sae="m") == [
        k1.material,
        k2.material,
    ]
    with pytest.raises(KeyStateError, match="handed out only once"):
        gs.take_keys([k1.key_id], caller_sae="s")
    assert gs.held_key_bytes(k1.key_id) is None
    assert {r.state for r in gs.list_keys()} == {"delivered"}


def test_failed_take_is_all_or_nothing(stores, rng) -> None:
    gs = stores("jinan")
    gs.add_block(LINK, rng.bytes(128), 1e-10, Provenance("p"))
    k1, k2 = gs.carve_keys(LINK, 32, 2, state="available")
    gs.take_keys([k2.key_id])
    with pytest.raises(KeyStateError):
        gs.take_keys([k1.key_id, k2.key_id])
    assert gs.held_key_bytes(k1.key_id) == k1.material


def test_erased_key_bytes_leave_the_database_file(stores, rng, tmp_path) -> None:
    gs = stores("jinan")
    raw = rng.bytes(4096)
    gs.add_block(LINK, raw, 1e-10, Provenance("p"))
    delivered = gs.carve(LINK, 600, state="delivered")  # spans three 256-byte chunks
    held = gs.carve(LINK, 32, state="available")
    gs.take_keys([held.key_id])
    gs.checkpoint()
    image = (tmp_path / "jinan.db").read_bytes()
    assert (tmp_path / "jinan.db-wal").stat().st_size == 0
    for secret in (delivered.material, held.material):
        for i in range(0, len(secret) - 16, 16):
            assert secret[i : i + 16] not in image
    assert raw[700:716] in image  # control: unused material is stored as is


def test_concurrent_threads_never_share_key_bytes(stores, rng) -> None:
    sat = stores("jinan1-sat")
    sat.add_block(LINK, rng.bytes(8 * 1024), 1e-10, Provenance("p"))
    got: list[bytes] = []
    lock = threading.Lock()

    def consumer() -> None:
        while True:
            try:
                key = sat.carve(LINK, 16)
            except InsufficientKeyError:
                return
            with lock:
                got.append(key)

    threads = [threading.Thread(target=consumer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts = sorted(k.segments[0].start_byte for k in got)
    assert starts == list(range(0, 8 * 1024, 16))
    assert len({k.material for k in got}) == len(got) == 512


def test_stats_and_listing(stores, rng, share) -> None:
    sat, gs = stores("jinan1-sat"), stores("jinan")
    share(sat, gs, rng.bytes(1000), pass_id="2022-09-25T14:00Z")
    sat.carve_keys(LINK, 32, 3, state="delivered")
    sat.carve(LINK, 100, state="available")
    (stats,) = sat.stats()
    assert stats.link == canonical_link(LINK) and stats.n_blocks == 1
    assert (stats.material_bits, stats.available_bits) == (8000, 8000 - 8 * 196)
    assert stats.keys_by_state == {"available": 1, "reserved": 0, "delivered": 3, "consumed": 0}
    assert stats.bits_by_state["delivered"] == 768
    rec = sat.list_keys(state="available")[0]
    assert rec.pass_ids == ("2022-09-25T14:00Z",) and rec.size_bits == 800
    assert sat.links() == [canonical_link(LINK)] and gs.list_keys() == []


def test_reconcile_discards_what_only_one_end_consumed(stores, rng, share) -> None:
    sat, gs = stores("jinan1-sat"), stores("jinan")
    share(sat, gs, rng.bytes(300))
    sat.carve(LINK, 100)  # the follower never heard of it
    assert reconcile(sat, gs, LINK) == 100
    assert sat.available_bytes(LINK) == gs.available_bytes(LINK) == 200
    nxt = gs.carve(LINK, 50)
    assert sat.carve_at(LINK, nxt.segments, key_id=nxt.key_id).material == nxt.material


def test_database_uses_wal_and_full_sync(stores) -> None:
    gs = stores("jinan")
    conn = sqlite3.connect(gs.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert gs._conn().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert gs._conn().execute("PRAGMA secure_delete").fetchone()[0] == 1
