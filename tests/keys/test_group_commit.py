"""Group commit: operations of concurrent callers share transactions, each one all or nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from satqkd.keys import KeyStore, Segment
from satqkd.keys._db import Batch
from satqkd.keys.errors import InsufficientKeyError
from satqkd.keys.etsi014 import Kme, SaeMap
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
def test_callers_hear_of_results_only_after_the_commit(kme: Kme, monkeypatch, inline: bool) -> None:
    committed_at: list[float] = []
    original = Batch.commit

    def slow_commit(self: Batch) -> None:
        time.sleep(0.05)
        original(self)
        committed_at.append(time.monotonic())

    monkeypatch.setattr(Batch, "commit", slow_commit)
    committer = kme.group_committer()
    # A lone call is committed on the loop thread while commits are fast, else in the
    # commit threads (both stores in parallel).
    committer.commit_s = 0.0 if inline else 1.0

    async def main() -> tuple[Any, float]:
        enc = await committer.call(kme.enc_keys, "alice", "bob", KeyRequest(number=2))
        return enc, time.monotonic()

    enc, heard_at = asyncio.run(main())
    committer.close()
    assert len(enc.keys) == 2 and len(committed_at) == 2  # both ends
    assert heard_at >= max(committed_at)
    assert committer.n_inline == (1 if inline else 0)


def test_a_failed_commit_fails_every_caller_and_reconciles(kme: Kme, monkeypatch) -> None:
    original = Batch.commit
    hefei_conn = kme.stores["hefei"]._conn()  # this thread's, which runs the event loop

    def failing_commit(self: Batch) -> None:
        if self.conn is hefei_conn:
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


def test_reconcile_erases_keys_reserved_without_a_master_record(kme: Kme) -> None:
    """The slave end of a batch committed, the master end did not (a crash between them)."""
    jinan, hefei = kme.stores["jinan"], kme.stores["hefei"]
    (block,) = jinan.blocks(LINK)
    ghosts = [(str(uuid.uuid4()), [Segment(block.block_id, i, i + 32)]) for i in (0, 32)]
    hefei.carve_keys_at(
        LINK, ghosts, state="reserved", purpose="etsi014", master_sae="alice", slave_sae="bob"
    )
    # 64 pool bytes discarded at jinan (consumed at hefei), 64 bytes of orphans erased.
    assert kme.reconcile() == 64 + 64
    assert [k.state for k in hefei.list_keys(LINK)] == ["consumed", "consumed"]
    assert all(hefei.held_key_bytes(kid) is None for kid, _ in ghosts)
    assert jinan.available_bytes(LINK) == hefei.available_bytes(LINK) == 32 * 398
    assert kme.reconcile() == 0
    # Service goes on from the common frontier.
    enc = kme.enc_keys("alice", "bob", KeyRequest())
    assert kme.dec_keys("bob", "alice", [enc.keys[0].key_id]).keys == enc.keys
