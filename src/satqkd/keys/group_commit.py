"""Group commit for an asyncio service: many callers' store operations, few fsyncs.

Why: with ``synchronous=FULL`` every commit is an fsync of the WAL (0.1 ms on an idle
virtual disk, several ms on a busy one), so a key service committing once per
request spends its time waiting for the disk, one request after another. The
committer instead takes every operation queued while it was busy, runs them one after
another inside one transaction per store (each operation in its own savepoint: one
that fails is rolled back alone, the others stay), commits all the stores at once
(in parallel worker threads: one fsync latency for the whole batch, during which the
event loop goes on serving), and only then hands each caller its result.

What a caller is told is therefore always durable: a ``kill -9`` at any moment loses
only work that no caller has heard of, exactly as with one transaction per request.
The stores commit in parallel, so a crash can leave one committed and another not;
callers have heard of neither, and :meth:`satqkd.keys.etsi014.Kme.reconcile` (run at
start-up and after a failed commit) puts the two ends of each link back in step.

The operations themselves run on the event-loop thread (they are short SQL
statements, no disk wait); only the commits run in threads, one per store. A thread
hand-over costs about 0.1 ms of CPU on the project's virtual machine, as much as a
fast fsync, so a batch of a single operation (a lone caller) is committed on the
loop thread itself while commits are fast (:data:`INLINE_COMMIT_S`): that blocks the
loop for one fast fsync, when there is nobody else to serve anyway.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from typing import Any, TypeVar

from satqkd.keys._db import Batch
from satqkd.keys.errors import KeyStoreError
from satqkd.keys.store import KeyStore

T = TypeVar("T")
logger = logging.getLogger(__name__)

#: At most this many operations per batch (bounds the time the loop spends in SQL).
MAX_BATCH = 256
#: A single-operation batch is committed on the loop thread while the running mean of
#: commit times (one store, seconds) stays below this; else in the commit threads.
INLINE_COMMIT_S = 0.5e-3


@dataclass
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    ok: bool = True
    value: Any = None


class CommitFailedError(KeyStoreError):
    """A batch could not be committed: none of its operations took effect for its callers."""


class GroupCommitter:
    """Groups the store operations of concurrent coroutines into shared commits.

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
        self._threads: dict[int, tuple[queue.SimpleQueue[Any], threading.Thread]] = {}
        #: Running mean of one store's commit time, seconds.
        self.commit_s = 0.0
        #: Batches committed, operations run, batches committed on the loop thread.
        self.n_batches = 0
        self.n_ops = 0
        self.n_inline = 0

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in the next batch; return its result once the batch is durable.

        ``fn`` calls store methods as usual; they write into the batch. An exception
        it raises rolls back its own writes only and is raised here.
        """
        if self._closed:
            raise RuntimeError("the group committer is closed")
        loop = asyncio.get_running_loop()
        job = _Job(fn, args, loop.create_future())
        self._pending.append(job)
        if not self._busy:
            self._busy = True
            # Let the requests of this loop iteration join the batch.
            loop.call_soon(self._start, loop)
        return await job.future  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop accepting operations and end the commit threads."""
        self._closed = True
        for q, t in self._threads.values():
            q.put(None)
            t.join()
        self._threads.clear()

    def _commit_queue(self, batch: Batch) -> queue.SimpleQueue[Any]:
        key = id(batch.conn)
        entry = self._threads.get(key)
        if entry is None:
            q: queue.SimpleQueue[Any] = queue.SimpleQueue()
            t = threading.Thread(target=_committer, args=(q,), name="satqkd-commit", daemon=True)
            t.start()
            entry = self._threads[key] = (q, t)
        return entry[0]

    # -- one batch ----------------------------------------------------------------------

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        jobs, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        if not jobs:
            self._busy = False
            return
        stack = ExitStack()
        batches: list[Batch] = []
        try:
            for lock in self._locks:
                stack.enter_context(lock)
            for store in self.stores:
                batches.append(store.open_batch())
                stack.callback(store.close_batch, batches[-1])
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
            self._finish(loop, jobs, stack, exc)
            return
        begun = [b for b in batches if b.begun]
        if not begun:
            self._finish(loop, jobs, stack, None)
            return
        if len(jobs) == 1 and self.commit_s < INLINE_COMMIT_S:
            self.n_inline += 1
            failure = None
            for b in begun:
                try:
                    self._timed_commit(b)
                except Exception as exc:
                    failure = failure or exc
            self._finish(loop, jobs, stack, failure)
            return
        remaining = [len(begun)]
        failures: list[BaseException] = []
        guard = threading.Lock()

        def done(exc: BaseException | None) -> None:
            with guard:
                if exc is not None:
                    failures.append(exc)
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                failure = failures[0] if failures else None
                with suppress(RuntimeError):  # a closed loop: no caller is waiting any more
                    loop.call_soon_threadsafe(self._finish, loop, jobs, stack, failure)

        for b in begun:
            self._commit_queue(b).put((self._timed_commit, b, done))

    def _timed_commit(self, batch: Batch) -> None:
        t0 = time.perf_counter()
        try:
            batch.commit()
        finally:
            self.commit_s += 0.1 * (time.perf_counter() - t0 - self.commit_s)

    def _finish(
        self,
        loop: asyncio.AbstractEventLoop,
        jobs: list[_Job],
        stack: ExitStack,
        failure: BaseException | None,
    ) -> None:
        stack.close()  # roll back anything left, release the write and link locks
        if failure is not None:
            error = CommitFailedError(f"the key stores could not commit: {failure}")
            for job in jobs:
                job.ok, job.value = False, error
            if self._recover is not None:
                try:
                    self._recover()
                except Exception:  # the next start-up reconciles; keep serving
                    logger.exception("reconciling the key stores after a failed commit")
        self.n_batches += 1
        self.n_ops += len(jobs)
        # Next batch first, so that the state is right even if a caller's loop stops
        # as soon as its future is resolved.
        if self._pending:
            loop.call_soon(self._start, loop)
        else:
            self._busy = False
        for job in jobs:
            if not job.future.done():
                if job.ok:
                    job.future.set_result(job.value)
                else:
                    job.future.set_exception(job.value)


def _committer(jobs: queue.SimpleQueue[Any]) -> None:
    """Thread of one store's commits: commit each batch handed over, report the outcome."""
    while True:
        item = jobs.get()
        if item is None:
            return
        commit, batch, done = item
        try:
            commit(batch)
        except Exception as exc:
            done(exc)
        else:
            done(None)
