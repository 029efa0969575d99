"""Group commit: operations of concurrent callers share transactions, each one all or nothing."""

from __future__ import annotations

import asyncio
import base64
import functools
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from satqkd.keys import KeyStore, Provenance, Segment
from satqkd.keys._db import Batch
from satqkd.keys.errors import InsufficientKeyError
from satqkd.keys.etsi014 import EtsiError, Kme, SaeMap
from satqkd.keys.etsi014.models import KeyRequest
from satqkd.keys.group_commit import CommitFailedError, GroupCommitter

LINK = "hefei:jinan"


@pytest.fixture
def kme(stores, share, rng) -> Kme:
    jinan, hefei = stores("jinan"), stores("hefei")
    share(jinan, hefei, rng.bytes(32 * 400))
    return Kme([jinan, hefei], SaeMap({"alice": "jinan", "bob": "hefei"}))


def _pairs(committer: GroupCommitter, kme: Kme, n_clients: int, rounds: int) -> list[Any]:
    async def client() -> list[Any]:
        got = []
        for _ in range(rounds):
            enc = await committer.call(kme.enc_keys, "alice", "bob", KeyRequest())
            dec = await committer.call(kme.dec_keys, "bob", "alice", [enc.keys[0].key_id])
            assert dec.keys == enc.keys
            got.append(enc.keys[0])
        return got

    async def main() -> list[Any]:
        return [
            k for keys in await asyncio.gather(*[client() for _ in range(n_clients)]) for k in keys
        ]

    return asyncio.run(main())


def test_concurrent_callers_share_commits_and_keys_stay_distinct(kme: Kme) -> None:
    committer = kme.group_committer()
    keys = _pairs(committer, kme, n_clients=20, rounds=5)
    committer.close()
    assert len({k.key_id for k in keys}) == len({k.key for k in keys}) == 100
    assert committer.n_ops == 200 and committer.n_batches < committer.n_ops / 4
    jinan, hefei = kme.stores["jinan"], kme.stores["hefei"]
    assert jinan.available_bytes(LINK) == hefei.available_bytes(LINK) == 32 * 300
    assert len(hefei.list_keys(LINK, "delivered")) == 100


def test_a_failing_operation_is_rolled_back_alone(kme: Kme, tmp_path: Path) -> None:
    jinan = kme.stores["jinan"]
    committer = GroupCommitter(kme.stores.values())

    def carve_then_fail() -> None:
        jinan.carve_keys(LINK, 32, 2, state="delivered")
        raise RuntimeError("this operation fails after its writes")

    async def main() -> list[Any]:
        calls = [
            committer.call(jinan.carve_keys, LINK, 32, 1),
            committer.call(carve_then_fail),
            committer.call(jinan.carve_keys, LINK, 32, 1),
            committer.call(jinan.carve_keys, LINK, 32 * 1000, 1),  # too large: refused
        ]
        return await asyncio.gather(*calls, return_exceptions=True)

    first, failed, third, refused = asyncio.run(main())
    committer.close()
    assert committer.n_batches == 1
    assert isinstance(failed, RuntimeError) and isinstance(refused, InsufficientKeyError)
    # The two good carves took adjacent bytes and are durable; the failed one left nothing.
    assert [s.start_byte for k in (*first, *third) for s in k.segments] == [0, 32]
    with KeyStore(tmp_path / "jinan.db") as reopened:
        assert reopened.available_bytes(LINK) == 32 * 398
        assert {k.key_id for k in reopened.list_keys()} == {first[0].key_id, third[0].key_id}


@pytest.mark.parametrize("inline", [True, False])
def test_callers_hear_of_results_only_after_the_wal_sync(
    kme: Kme, monkeypatch, inline: bool
) -> None:
    synced: list[tuple[str, float]] = []
    original = KeyStore.sync_wal

    def slow_sync(self: KeyStore) -> None:
        time.sleep(0.05)
        original(self)
        synced.append((self.node, time.monotonic()))

    monkeypatch.setattr(KeyStore, "sync_wal", slow_sync)
    committer = kme.group_committer()
    # A lone call is synced on the loop thread while syncs are fast, else in the
    # store's sync thread.
    for syncer in committer._syncers:
        syncer.sync_s = 0.0 if inline else 1.0

    async def main() -> tuple[Any, float]:
        enc = await committer.call(kme.enc_keys, "alice", "bob", KeyRequest(number=2))
        return enc, time.monotonic()

    enc, heard_at = asyncio.run(main())
    committer.close()
    assert len(enc.keys) == 2
    # Only the slave end's reservation is waited for; the master end's record is not.
    assert [node for node, _ in synced] == ["hefei"]
    assert heard_at >= synced[0][1]
    assert committer.n_inline == (1 if inline else 0)


def test_writes_not_marked_durable_are_not_synced(kme: Kme, monkeypatch) -> None:
    synced: list[str] = []
    monkeypatch.setattr(KeyStore, "sync_wal", lambda self: synced.append(self.node))
    jinan = kme.stores["jinan"]
    committer = GroupCommitter(kme.stores.values())

    async def main() -> None:
        await committer.call(functools.partial(jinan.carve_keys, durable=False), LINK, 32, 1)
        assert synced == []
        await committer.call(jinan.carve_keys, LINK, 32, 1)  # durable by default
        assert synced == ["jinan"]
        await committer.call(kme.status, "alice", "bob")  # reads only: nothing to sync
        assert synced == ["jinan"]

    asyncio.run(main())
    committer.close()


def test_the_next_batch_runs_while_a_sync_is_in_flight(kme: Kme, monkeypatch) -> None:
    original = KeyStore.sync_wal
    release = threading.Event()

    def held_sync(self: KeyStore) -> None:
        assert release.wait(5)
        original(self)

    monkeypatch.setattr(KeyStore, "sync_wal", held_sync)
    jinan = kme.stores["jinan"]
    committer = GroupCommitter(kme.stores.values())
    for syncer in committer._syncers:
        syncer.sync_s = 1.0  # never inline: the sync thread holds the first batch

    async def main() -> list[str]:
        order: list[str] = []

        async def durable() -> None:
            await committer.call(jinan.carve_keys, LINK, 32, 1)
            order.append("durable")

        async def lazy() -> None:
            await asyncio.sleep(0.05)  # a batch of its own, after the first committed
            await committer.call(functools.partial(jinan.carve_keys, durable=False), LINK, 32, 1)
            order.append("lazy")
            release.set()

        await asyncio.gather(durable(), lazy())
        return order

    assert asyncio.run(main()) == ["lazy", "durable"]
    committer.close()
    assert committer.n_batches == 2


def test_a_failed_sync_stops_the_committer(kme: Kme, monkeypatch) -> None:
    def failing_sync(self: KeyStore) -> None:
        raise OSError("I/O error")

    monkeypatch.setattr(KeyStore, "sync_wal", failing_sync)
    committer = kme.group_committer()

    async def main() -> list[Any]:
        first = await asyncio.gather(
            committer.call(kme.enc_keys, "alice", "bob", KeyRequest()), return_exceptions=True
        )
        later = await asyncio.gather(
            committer.call(kme.status, "alice", "bob"), return_exceptions=True
        )
        return first + later

    results = asyncio.run(main())
    committer.close()
    assert all(isinstance(r, CommitFailedError) for r in results), results


def test_a_failed_commit_fails_every_caller_and_reconciles(kme: Kme, monkeypatch) -> None:
    original = Batch.commit

    def failing_commit(self: Batch) -> None:
        if self.conn.execute("PRAGMA database_list").fetchone()[2].endswith("hefei.db"):
            raise OSError("disk full")
        original(self)

    reconciled: list[int] = []
    committer = GroupCommitter(
        kme.stores.values(), kme.link_locks(), recover=lambda: reconciled.append(kme.reconcile())
    )

    async def main() -> list[Any]:
        monkeypatch.setattr(Batch, "commit", failing_commit)
        calls = [committer.call(kme.enc_keys, "alice", "bob", KeyRequest()) for _ in range(3)]
        return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(main())
    committer.close()
    assert all(isinstance(r, CommitFailedError) for r in results)
    # jinan committed three keys hefei never recorded: reconciliation discards those
    # bytes at hefei too, so the two ends stay in step and nothing is delivered.
    assert reconciled == [3 * 32]
    jinan, hefei = kme.stores["jinan"], kme.stores["hefei"]
    assert jinan.available_bytes(LINK) == hefei.available_bytes(LINK) == 32 * 397
    assert hefei.list_keys(LINK, "reserved") == []


def test_reconcile_rebuilds_master_records_of_reserved_keys(kme: Kme) -> None:
    """The slave end of a batch is on disk, the master end's record is not (crash, power cut)."""
    jinan, hefei = kme.stores["jinan"], kme.stores["hefei"]
    (block,) = jinan.blocks(LINK)
    ghosts = [(str(uuid.uuid4()), [Segment(block.block_id, i, i + 32)]) for i in (0, 32)]
    reserved = hefei.carve_keys_at(
        LINK, ghosts, state="reserved", purpose="etsi014", master_sae="alice", slave_sae="bob"
    )
    assert kme.reconcile() == 0  # nothing discarded: the master end is rebuilt instead
    records = {k.key_id: k for k in jinan.list_keys(LINK)}
    assert set(records) == {kid for kid, _ in ghosts}
    for kid, segments in ghosts:
        assert records[kid].state == "delivered" and list(records[kid].segments) == segments
        assert records[kid].master_sae == "alice" and jinan.held_key_bytes(kid) is None
    assert jinan.available_bytes(LINK) == hefei.available_bytes(LINK) == 32 * 398
    assert kme.reconcile() == 0
    # The slave can still fetch them (its master may have received them), once.
    got = kme.dec_keys("bob", "alice", [kid for kid, _ in ghosts])
    assert [base64.b64decode(k.key) for k in got.keys] == [k.material for k in reserved]
    # Service goes on from the common frontier.
    enc = kme.enc_keys("alice", "bob", KeyRequest())
    assert kme.dec_keys("bob", "alice", [enc.keys[0].key_id]).keys == enc.keys
    assert enc.keys[0].key not in {k.key for k in got.keys}


def test_losing_the_master_ends_unsynced_commits_loses_no_key(tmp_path: Path, rng) -> None:
    """A power cut drops the master store's commits that were never synced (it is a prefix).

    Simulated by restoring the master store's files as they were before the batches:
    every key a master SAE received is still delivered to its slave, once, and no pool
    byte is handed out twice afterwards.
    """
    pool = rng.bytes(32 * 200)
    jinan, hefei = (
        KeyStore(tmp_path / "jinan.db", "jinan"),
        KeyStore(tmp_path / "hefei.db", "hefei"),
    )
    for store in (jinan, hefei):
        store.add_block(LINK, pool, 1e-10, Provenance("pass-1"))
    jinan.checkpoint()  # the whole store in jinan.db: a copy of it is a consistent snapshot
    snapshot = (tmp_path / "jinan.db").read_bytes()
    sae_map = SaeMap({"alice": "jinan", "bob": "hefei"})
    kme = Kme([jinan, hefei], sae_map)
    committer = kme.group_committer()

    async def clients() -> list[tuple[str, bytes, bool]]:
        async def client(i: int) -> list[tuple[str, bytes, bool]]:
            out = []
            for j in range(4):
                (key,) = await committer.call(kme.enc_key_material, "alice", "bob", KeyRequest())
                fetched = (i + j) % 2 == 0
                if fetched:
                    back = await committer.call(kme.dec_key_material, "bob", "alice", [key[0]])
                    assert back == [key]
                out.append((*key, fetched))
            return out

        return [k for ks in await asyncio.gather(*[client(i) for i in range(8)]) for k in ks]

    issued = asyncio.run(clients())
    committer.close()
    jinan.close()
    hefei.close()
    (tmp_path / "jinan.db").write_bytes(snapshot)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"jinan.db{suffix}").unlink(missing_ok=True)

    with KeyStore(tmp_path / "jinan.db") as jinan, KeyStore(tmp_path / "hefei.db") as hefei:
        assert jinan.list_keys(LINK) == []  # the master end lost every record
        kme = Kme([jinan, hefei], sae_map)
        assert kme.reconcile() == 0
        assert len(jinan.list_keys(LINK, "delivered")) == len(issued) == 32
        for kid, material, fetched in issued:
            if fetched:
                with pytest.raises(EtsiError) as err:
                    kme.dec_key_material("bob", "alice", [kid])
                assert err.value.status_code == 400  # delivered once already
            else:
                assert kme.dec_key_material("bob", "alice", [kid]) == [(kid, material)]
        assert jinan.available_bytes(LINK) == hefei.available_bytes(LINK) == 32 * 168
        ((kid, fresh),) = kme.enc_key_material("alice", "bob", KeyRequest())
        assert fresh == pool[32 * 32 : 32 * 33]
        assert fresh not in {m for _, m, _ in issued}
