"""Group commit for an asyncio service: many callers' store operations, few fsyncs.

Why: a durable commit is an fsync of the WAL (0.1-0.3 ms on an idle virtual disk,
several ms on a busy one), so a key service committing once per request spends its
time waiting for the disk, one request after another. The committer instead takes
every operation queued while the event loop was busy, runs them one after another
inside one transaction per store (each operation in its own savepoint: one that
fails is rolled back alone, the others stay) and commits; the stores' write locks
are released at once and the next batch may run. Each caller is answered only once
the WAL of every store its batch wrote *durably* has been synced to disk
(:mod:`satqkd.keys.wal_sync`): one sync, in a thread, covers all the batches
committed before it started.

What a caller is told is therefore always durable: a ``kill -9`` (or a power cut) at
any moment loses only work that no caller has heard of, exactly as with one
``synchronous=FULL`` transaction per request. A write marked ``durable=False`` (the
master end's record of keys carved by ``enc_keys``) is not waited for: its callers'
guarantee rests on the other end's durable record, from which
:meth:`satqkd.keys.etsi014.Kme.reconcile` rebuilds it after a crash. Without such
marks every store written is synced.

The operations run on the event-loop thread (short SQL statements, no disk wait).
A batch of a single operation (a lone caller) is synced on the loop thread itself
while syncs are fast (:data:`INLINE_SYNC_S`): a thread hand-over would cost as much,
and there is nobody else to serve anyway. A failed sync stops the committer for
good (every waiting and later caller gets :class:`CommitFailedError`): after a
failed fsync nobody can tell what reached the disk, so the service must restart and
reconcile from what did.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

from satqkd.keys._db import Batch
from satqkd.keys.errors import KeyStoreError
from satqkd.keys.store import KeyStore
from satqkd.keys.wal_sync import Checkpointer, WalSyncer

T = TypeVar("T")
logger = logging.getLogger(__name__)

#: At most this many operations per batch (bounds the time the loop spends in SQL).
MAX_BATCH = 256
#: A single-operation batch is synced on the loop thread while the running mean of
#: sync times (one store, seconds) stays below this; else in the store's sync thread.
INLINE_SYNC_S = 0.5e-3


@dataclass
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    ok: bool = True
    value: Any = None


class CommitFailedError(KeyStoreError):
    """A batch could not be made durable: none of its operations took effect for its callers."""


class GroupCommitter:
    """Groups the store operations of concurrent coroutines into shared commits and syncs.

    Parameters
    ----------
    stores:
        The stores the operations write to. A batch holds their write locks from
        its first operation to its commit: no other writer of the process interleaves.
    locks:
        Further locks held across each batch (e.g. the link locks of
        :func:`satqkd.keys.sync.link_lock`), acquired in the order given.
    recover:
        Called after a batch failed to commit (some stores may have committed,
        others not), e.g. to reconcile the two ends of links.

    Use from one event loop at a time; :meth:`call` is the only entry point.
    """

    def __init__(
        self,
        stores: Iterable[KeyStore],
        locks: Sequence[threading.RLock] = (),
        recover: Callable[[], object] | None = None,
    ) -> None:
        self.stores = list(stores)
        self._locks = list(locks)
        self._recover = recover
        self._pending: list[_Job] = []
        self._busy = False
        self._closed = False
        self._failed: CommitFailedError | None = None
        self._syncers = [WalSyncer(s) for s in self.stores]
        self._checkpointer = Checkpointer(self.stores)
        #: Batches committed, operations run, syncs run on the loop thread.
        self.n_batches = 0
        self.n_ops = 0
        self.n_inline = 0

    @property
    def n_syncs(self) -> int:
        """WAL syncs run so far (all stores)."""
        return sum(s.n_syncs for s in self._syncers)

    @property
    def mean_sync_ms(self) -> float:
        """Mean duration of the WAL syncs so far, milliseconds (0 before the first)."""
        n = self.n_syncs
        return 1e3 * sum(s.total_sync_s for s in self._syncers) / n if n else 0.0

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in the next batch; return its result once the batch is durable.

        ``fn`` calls store methods as usual; they write into the batch. An exception
        it raises rolls back its own writes only and is raised here.
        """
        if self._closed:
            raise RuntimeError("the group committer is closed")
        if self._failed is not None:
            raise self._failed
        loop = asyncio.get_running_loop()
        job = _Job(fn, args, loop.create_future())
        self._pending.append(job)
        if not self._busy:
            self._busy = True
            # Let the requests of this loop iteration join the batch.
            loop.call_soon(self._start, loop)
        return await job.future  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop accepting operations; finish the syncs asked for and end the threads."""
        self._closed = True
        for syncer in self._syncers:
            syncer.close()
        self._checkpointer.close()

    # -- one batch ----------------------------------------------------------------------

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        jobs, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        if not jobs:
            self._busy = False
            return
        if self._failed is not None:
            self._next(loop)
            self._answer(jobs, self._failed)
            return
        held: list[threading.RLock] = []
        batches: list[Batch] = []
        try:
            for lock in self._locks:
                lock.acquire()
                held.append(lock)
            for store in self.stores:
                batches.append(store.open_batch())
                batches[-1].single = len(jobs) == 1
            for job in jobs:
                try:
                    job.value = job.fn(*job.args)
                except Exception as exc:
                    job.ok, job.value = False, exc
                for b in batches:
                    b.end_op(job.ok)
            for store in self.stores:
                store.detach_batch()
        except Exception as exc:  # the batch could not even be run: fail its callers
            for store in self.stores:
                store.detach_batch()
            self._release(batches, held)
            self._next(loop)
            self._answer(jobs, CommitFailedError(f"the key stores could not run a batch: {exc}"))
            return
        failure: BaseException | None = None
        to_sync: list[WalSyncer] = []
        for syncer, b in zip(self._syncers, batches, strict=True):
            if not b.begun:
                continue
            needs_sync = b.needs_sync
            try:
                b.commit()
            except Exception as exc:
                failure = failure or exc
            else:
                if needs_sync:
                    to_sync.append(syncer)
        self._release(batches, held)  # roll back what did not commit, unlock
        self.n_batches += 1
        self.n_ops += len(jobs)
        if failure is not None:
            if self._recover is not None:
                try:
                    self._recover()
                except Exception:  # the next start-up reconciles; keep serving
                    logger.exception("reconciling the key stores after a failed commit")
            self._next(loop)
            self._answer(jobs, CommitFailedError(f"the key stores could not commit: {failure}"))
            return
        # The next batch may run its SQL while this one's sync is in flight.
        self._next(loop)
        if not to_sync:
            self._answer(jobs, None)
        elif (
            len(jobs) == 1
            and len(to_sync) == 1
            and not to_sync[0].busy
            and to_sync[0].sync_s < INLINE_SYNC_S
        ):
            self.n_inline += 1
            try:
                to_sync[0].sync_now()
            except Exception as exc:
                self._synced(jobs, exc)
            else:
                self._synced(jobs, None)
        else:
            self._submit(loop, jobs, to_sync)

    def _release(self, batches: list[Batch], held: list[threading.RLock]) -> None:
        """Close the batches (rolling back what did not commit), then release the locks.

        In reverse order of opening, every one even if one fails (the first failure is
        raised afterwards). Plain loops: an ``ExitStack`` costs more per batch.
        """
        failure: BaseException | None = None
        for store, batch in reversed(list(zip(self.stores, batches, strict=False))):
            try:
                store.close_batch(batch)
            except BaseException as exc:
                failure = failure or exc
        for lock in reversed(held):
            lock.release()
        if failure is not None:
            raise failure

    def _submit(
        self, loop: asyncio.AbstractEventLoop, jobs: list[_Job], syncers: list[WalSyncer]
    ) -> None:
        remaining = [len(syncers)]
        failures: list[BaseException] = []
        guard = threading.Lock()

        def done(exc: BaseException | None) -> None:  # in a sync thread
            with guard:
                if exc is not None:
                    failures.append(exc)
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                with suppress(RuntimeError):  # a closed loop: no caller is waiting any more
                    loop.call_soon_threadsafe(self._synced, jobs, failures[0] if failures else None)

        for syncer in syncers:
            syncer.submit(done)

    def _next(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._pending:
            loop.call_soon(self._start, loop)
        else:
            self._busy = False

    def _synced(self, jobs: list[_Job], failure: BaseException | None) -> None:
        if failure is not None and self._failed is None:
            logger.error("a WAL sync failed; the key service stops committing: %s", failure)
            self._failed = CommitFailedError(
                f"the key store could not be synced to disk ({failure}); restart the service"
            )
        # A batch synced after a failed sync is not trusted either (the failed sync
        # may have dropped pages that a later one then did not write).
        self._answer(jobs, self._failed)

    @staticmethod
    def _answer(jobs: list[_Job], error: BaseException | None) -> None:
        for job in jobs:
            if job.future.done():
                continue
            if error is not None:
                job.future.set_exception(error)
            elif job.ok:
                job.future.set_result(job.value)
            else:
                job.future.set_exception(job.value)
