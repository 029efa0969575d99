"""Background disk work of a group-committing service: WAL syncs and checkpoints.

A batch of the group committer (:mod:`satqkd.keys.group_commit`) commits on a
``synchronous=NORMAL`` connection: the commit writes the WAL frames and returns at
once. Its callers are answered only after a *sync* of the WAL file that started
after the commit returned (:meth:`satqkd.keys._db.Database.sync_wal`, the very
fdatasync that ``synchronous=FULL`` would have run inside the commit). Doing it
here instead of inside ``COMMIT`` buys two things:

* one sync covers every batch committed before it started (the batches of a busy
  service share syncs; a store no caller needs durable is not synced at all), and
* the store's write lock is not held while the disk works, so the next batch runs
  its SQL while the previous one's sync is in flight.

:class:`WalSyncer` is one store's sync thread. :class:`Checkpointer` copies WAL
frames into the database files from another thread (``PRAGMA
wal_checkpoint(PASSIVE)``, which never blocks writers), because the batch connection
runs without automatic checkpoints: one inside a commit would stall the event loop
for milliseconds. When the WAL has grown, a second pass holds the store's write lock
(the next batch waits for the few frames left to copy), so that the WAL restarts
from its beginning instead of growing without bound.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from satqkd.keys.store import KeyStore

logger = logging.getLogger(__name__)

Done = Callable[[BaseException | None], None]

#: Seconds between passive checkpoints of each store.
CHECKPOINT_PERIOD_S = 1.0
#: A WAL longer than this many frames (1 KiB pages: 4 MiB) after a passive checkpoint gets a
#: second one under the store's write lock, which lets the next writer restart it. That
#: one stalls the service for a WAL and a database fsync, so it is kept rare.
RESTART_FRAMES = 4096


class WalSyncer:
    """Syncs one store's WAL in a thread; every waiter submitted before a sync is covered by it."""

    def __init__(self, store: KeyStore) -> None:
        self.store = store
        self._cv = threading.Condition()
        self._waiting: list[Done] = []
        self._closed = False
        #: True while a sync runs or waiters are queued.
        self.busy = False
        #: Running mean of the sync time, seconds; syncs run.
        self.sync_s = 0.0
        self.n_syncs = 0
        #: Seconds spent in syncs, all together.
        self.total_sync_s = 0.0
        self._thread = threading.Thread(target=self._run, name="satqkd-wal-sync", daemon=True)
        self._thread.start()

    def submit(self, done: Done) -> None:
        """Call ``done(None)`` from the sync thread once a sync started after now has returned.

        ``done(exc)`` instead if that sync failed.
        """
        with self._cv:
            if self._closed:
                raise RuntimeError("the WAL syncer is closed")
            self._waiting.append(done)
            self.busy = True
            self._cv.notify()

    def sync_now(self) -> None:
        """Sync in the calling thread (a lone caller, when syncs are fast)."""
        self._timed_sync()

    def close(self) -> None:
        """Run the syncs still asked for, then end the thread."""
        with self._cv:
            self._closed = True
            self._cv.notify()
        self._thread.join()

    def _timed_sync(self) -> None:
        t0 = time.perf_counter()
        try:
            self.store.sync_wal()
        finally:
            took = time.perf_counter() - t0
            self.sync_s += 0.1 * (took - self.sync_s)
            self.total_sync_s += took
            self.n_syncs += 1

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._waiting and not self._closed:
                    self.busy = False
                    self._cv.wait()
                if not self._waiting:
                    return
                waiting, self._waiting = self._waiting, []
            failure: BaseException | None = None
            try:
                self._timed_sync()
            except Exception as exc:
                failure = exc
            for done in waiting:
                done(failure)


class Checkpointer:
    """Passive WAL checkpoints of some stores every :data:`CHECKPOINT_PERIOD_S`, in a thread."""

    def __init__(self, stores: Iterable[KeyStore], period_s: float = CHECKPOINT_PERIOD_S) -> None:
        self.stores = list(stores)
        self.period_s = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="satqkd-checkpoint", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread (after a last checkpoint)."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self.period_s)
            for store in self.stores:
                try:
                    log, _ = store.checkpoint_passive()
                    if log > RESTART_FRAMES:
                        store.checkpoint_passive(exclusive=True)
                except Exception:  # a busy or closed database: try again next period
                    logger.debug("passive checkpoint of %s failed", store.path, exc_info=True)
            if stopping:
                return
