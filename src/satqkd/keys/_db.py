"""SQLite plumbing of the key store: schema, per-thread connections, write transactions.

Every connection runs with ``synchronous=FULL`` (a commit is on disk before it
returns) and ``secure_delete=ON`` (SQLite overwrites freed record space with zeros);
the file is in WAL mode. Writes take the database lock at ``BEGIN IMMEDIATE`` so a
read-modify-write of the pool frontier can never interleave with another writer,
in this process or another.

Group commit (:class:`Batch`): a thread may open a batch, in which every
:meth:`Database.write` becomes a savepoint of one long transaction, and operations
are delimited by :meth:`Batch.end_op` (an operation that failed is rolled back alone).
A batch runs on a connection of its own with ``synchronous=NORMAL``: its ``COMMIT``
writes the WAL frames but does not wait for the disk. Nothing of a batch that wrote
durably (``write(durable=True)``, the default) may be reported to anyone before
:meth:`Database.sync_wal` has returned after the commit: that fsync of the WAL file is
exactly what ``synchronous=FULL`` adds at a commit, so the guarantee is the same, but
it is paid once for any number of batches and outside the write lock (see
:mod:`satqkd.keys.wal_sync`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from satqkd.errors import InputError
from satqkd.keys.errors import InsufficientKeyError, KeyDesyncError, KeyStateError
from satqkd.keys.records import KEY_STATES, KeyState, Segment

#: Page size of a new store. Every page a transaction changes goes to the WAL whole, and a
#: key-service operation changes ~5 pages per store (key row, its two index entries, the
#: pool chunk, the block's frontier): with SQLite's default 4 KiB pages a lone
#: enc_keys + dec_keys pair wrote 22 + 30 KiB of WAL to the two stores, which the WAL
#: sync and every checkpoint must then write and flush; with 1 KiB pages 7 + 9 KiB
#: (at the same CPU cost). Stores created with another page size keep theirs.
PAGE_SIZE_BYTES = 1024
#: Pool material is stored in chunks of this many bytes, so that carving a short key
#: rewrites one or two small rows rather than a whole 500-kbit block.
CHUNK_BYTES = 256
SCHEMA_VERSION = "1"
#: Key states in which a key row still holds its bytes.
HELD_STATES = ("available", "reserved")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    block_id TEXT NOT NULL UNIQUE,
    link TEXT NOT NULL,
    n_bits INTEGER NOT NULL,
    n_bytes INTEGER NOT NULL,
    consumed_bytes INTEGER NOT NULL DEFAULT 0,
    epsilon REAL NOT NULL,
    provenance TEXT NOT NULL,
    created_utc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS blocks_by_link ON blocks (link, seq);
CREATE TABLE IF NOT EXISTS chunks (
    block_id TEXT NOT NULL,
    chunk_index INTEGER NOT NULL,
    material BLOB NOT NULL,
    PRIMARY KEY (block_id, chunk_index)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keys (
    key_id TEXT PRIMARY KEY,
    link TEXT NOT NULL,
    size_bits INTEGER NOT NULL,
    epsilon REAL NOT NULL,
    state TEXT NOT NULL,
    purpose TEXT NOT NULL,
    master_sae TEXT,
    slave_sae TEXT,
    pass_ids TEXT NOT NULL,
    segments TEXT NOT NULL,
    material BLOB,
    created_utc TEXT NOT NULL,
    updated_utc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS keys_by_link ON keys (link, state);
"""


_second: tuple[int, str] = (-1, "")


def now_utc() -> str:
    """The current UTC time, ISO 8601 with milliseconds (``2022-09-25T14:19:00.123+00:00``).

    As ``datetime.now(UTC).isoformat(timespec="milliseconds")``, a quarter of its cost:
    the text of the current second is formatted once (every key row carries two).
    """
    global _second
    t = time.time()
    sec = int(t)
    cached = _second
    if cached[0] != sec:
        cached = _second = (sec, datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{cached[1]}.{int((t - sec) * 1000):03d}+00:00"


def key_material_bytes(
    bits_or_bytes: bytes | bytearray | memoryview | np.ndarray,
) -> tuple[bytes, int]:
    """Pack key material to bytes; return ``(packed, n_bits)``.

    A bit array (``[n]`` of 0/1, any integer or bool dtype) is packed most significant
    bit first (:func:`numpy.packbits`); a trailing partial byte is dropped, because keys
    are carved in whole bytes. ``n_bits`` is the length before that truncation.
    """
    if isinstance(bits_or_bytes, bytes | bytearray | memoryview):
        packed = bytes(bits_or_bytes)
        return packed, 8 * len(packed)
    bits = np.asarray(bits_or_bytes)
    if bits.ndim != 1:
        raise InputError("a key block is a 1-D bit array", field="bits", value=bits.shape)
    if bits.size and (bits.min() < 0 or bits.max() > 1):
        raise InputError("a key block holds only bits 0 and 1", field="bits")
    n_whole = (bits.size // 8) * 8
    return np.packbits(bits[:n_whole].astype(np.uint8)).tobytes(), int(bits.size)


def xor_bytes(a: bytes, b: bytes) -> bytes:
    """Bytewise exclusive or of two equally long byte strings (vectorised)."""
    if len(a) != len(b):
        raise ValueError("xor of byte strings of different lengths")
    return np.bitwise_xor(np.frombuffer(a, np.uint8), np.frombuffer(b, np.uint8)).tobytes()


class Database:
    """One SQLite file shared by threads: a connection per thread, explicit transactions."""

    def __init__(self, path: Path, busy_timeout_s: float) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._all_conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        # Writers of this process queue here, not in SQLite's sleeping busy handler.
        # Re-entrant: a batch holds it across all the writes it groups.
        self._write_lock = threading.RLock()
        # Before anything is written (no effect on an existing file, which keeps its size).
        self.conn().execute(f"PRAGMA page_size={PAGE_SIZE_BYTES}")
        self.conn().execute("PRAGMA journal_mode=WAL")
        self._batch_conn: sqlite3.Connection | None = None
        self._wal_fd: int | None = None
        self._wal_ino = -1

    def _connect(self, synchronous: str) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_s,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_s * 1000)}")
        with self._conns_lock:
            self._all_conns.append(conn)
        return conn

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect("FULL")
        return conn

    def write(self, *, durable: bool = True) -> _Write:
        """A write transaction holding the database's write lock from its first statement.

        Use as ``with db.write() as conn:``. Inside a batch of this thread
        (:meth:`open_batch`) it is a savepoint of the batch's transaction instead: all
        or nothing as well, but durable only once the batch is committed and the WAL
        synced. ``durable=False`` (only meaningful in a batch) says that the caller may
        be answered before these writes are on disk, because they can be rebuilt from
        another store's durable record after a crash (see
        :meth:`satqkd.keys.etsi014.Kme.reconcile`); outside a batch every write
        transaction is committed with ``synchronous=FULL`` regardless.
        """
        return _Write(self, durable)

    def open_batch(self) -> Batch:
        """Start a batch on this thread: hold the write lock until :meth:`close_batch`.

        The batch runs on the database's batch connection (``synchronous=NORMAL``, no
        automatic checkpoint: a checkpoint inside the commit would stall the event
        loop of a service for milliseconds; :meth:`checkpoint_passive` runs them in a
        background thread instead).
        """
        if getattr(self._local, "batch", None) is not None:
            raise RuntimeError("a batch is already open on this thread")
        self._write_lock.acquire()
        if self._batch_conn is None:
            self._batch_conn = self._connect("NORMAL")
            self._batch_conn.execute("PRAGMA wal_autocheckpoint=0")
        batch = Batch(self._batch_conn)
        self._local.batch = batch
        return batch

    def sync_wal(self) -> None:
        """Make every transaction committed so far durable: fdatasync the WAL file.

        This is the sync that ``synchronous=FULL`` performs at each commit in WAL mode
        (SQLite writes a commit's frames, then syncs the WAL file). A sync started after
        a commit returned therefore covers that commit. The file is reopened if its
        inode changed (SQLite deletes the WAL only when the last connection closes,
        after checkpointing it into the database file); a new file's directory entry
        is synced once as well. Without a WAL file the database file is synced.
        """
        wal = f"{self.path}-wal"
        try:
            ino = os.stat(wal).st_ino
        except FileNotFoundError:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                _fdatasync(fd)
            finally:
                os.close(fd)
            return
        if self._wal_fd is None or ino != self._wal_ino:
            if self._wal_fd is not None:
                os.close(self._wal_fd)
            self._wal_fd, self._wal_ino = os.open(wal, os.O_RDONLY), ino
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        _fdatasync(self._wal_fd)

    def checkpoint_passive(self, *, exclusive: bool = False) -> tuple[int, int]:
        """Copy WAL frames into the database without blocking writers; (log, copied) frames.

        Run from a background thread (its own connection, ``synchronous=FULL``: SQLite
        syncs the WAL before and the database file after copying). ``exclusive``: hold
        this process's write lock meanwhile, so that the checkpoint completes and the
        next writer restarts the WAL from its start (else, under steady writes, the
        WAL file would grow without bound). Best done right after an unlocked one,
        which leaves only a few frames to copy while the lock is held.
        """
        with self._write_lock if exclusive else nullcontext():
            _, log, done = self.conn().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(log), int(done)

    def detach_batch(self) -> None:
        """Stop routing this thread's writes into its batch (the batch stays open).

        Between its last operation and its commit (run by another thread) a batch
        must take no more writes.
        """
        self._local.batch = None

    def close_batch(self, batch: Batch) -> None:
        """End a batch opened by this thread: roll back what was not committed, unlock."""
        try:
            batch.rollback()
        finally:
            self._local.batch = None
            self._write_lock.release()

    def init_schema(self, node: str | None) -> str:
        """Create the tables if needed; record or check the owning node; return its name."""
        with self.write() as c:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    c.execute(statement)
            rows = dict(c.execute("SELECT name, value FROM meta").fetchall())
            if "node" not in rows:
                if node is None:
                    raise InputError(
                        "a new key store needs the name of its node",
                        source=str(self.path),
                        field="node",
                        value=None,
                    )
                c.execute("INSERT INTO meta VALUES ('node', ?)", (node,))
                c.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                return node
            if node is not None and rows["node"] != node:
                raise InputError(
                    f"the store belongs to node {rows['node']!r}",
                    source=str(self.path),
                    field="node",
                    value=node,
                )
            return rows["node"]

    def close(self) -> None:
        """Close every connection opened (in all threads)."""
        with self._conns_lock:
            for conn in self._all_conns:
                conn.close()
            self._all_conns.clear()
        self._batch_conn = None
        if self._wal_fd is not None:
            os.close(self._wal_fd)
            self._wal_fd = None
        self._local = threading.local()


class _Write:
    """:meth:`Database.write`'s context manager: a class, cheaper than a generator (hot path)."""

    __slots__ = ("_conn", "_db", "_durable", "_in_batch")

    def __init__(self, db: Database, durable: bool) -> None:
        self._db = db
        self._durable = durable

    def __enter__(self) -> sqlite3.Connection:
        db = self._db
        batch: Batch | None = getattr(db._local, "batch", None)
        self._in_batch = batch is not None
        if batch is not None:
            return batch.enter(self._durable)
        conn = self._conn = db.conn()
        db._write_lock.acquire()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            db._write_lock.release()
            raise
        return conn

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if self._in_batch:  # the batch's end_op keeps or undoes the operation
            return
        try:
            self._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self._db._write_lock.release()


def _fdatasync(fd: int) -> None:
    """``fdatasync`` where the OS has it (as SQLite's unix VFS uses), else ``fsync``."""
    (os.fdatasync if hasattr(os, "fdatasync") else os.fsync)(fd)


class Batch:
    """One transaction grouping many operations (group commit), on one connection.

    The transaction starts (``BEGIN IMMEDIATE``) at the first write. Each operation's
    writes sit inside the savepoint ``op``, opened at its first write and closed by
    :meth:`end_op`: kept when the operation succeeded, rolled back when it failed, so a
    failed operation leaves nothing behind while the others stay in the batch. A
    batch of a single operation (``single``) needs no savepoint: if it fails, the
    whole transaction is rolled back.

    ``needs_sync`` is set when a kept operation wrote durably: after :meth:`commit`,
    its callers may be answered only once :meth:`Database.sync_wal` has returned.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.begun = False
        self.single = False
        self.needs_sync = False
        self._op_open = False
        self._op_durable = False

    def enter(self, durable: bool = True) -> sqlite3.Connection:
        """The connection, inside the transaction and the current operation's savepoint.

        The atomic unit inside a batch is the operation: a store method that fails
        half-way is undone with the rest of its operation (:meth:`end_op`), so there is
        nothing to do when the method's own ``with`` block ends.
        """
        c = self.conn
        if not self.begun:
            c.execute("BEGIN IMMEDIATE")
            self.begun = True
        if not self._op_open:
            if not self.single:
                c.execute("SAVEPOINT op")
            self._op_open = True
        self._op_durable = self._op_durable or durable
        return c

    def end_op(self, ok: bool) -> None:
        """Close the current operation: keep its writes (``ok``) or roll them back."""
        if not self._op_open:
            return
        self._op_open = False
        durable, self._op_durable = self._op_durable, False
        if ok:
            self.needs_sync = self.needs_sync or durable
        if self.single:
            if not ok:
                self.rollback()
            return
        if not ok:
            self.conn.execute("ROLLBACK TO op")
        self.conn.execute("RELEASE op")

    def commit(self) -> None:
        """Commit the kept operations (WAL frames written, not yet synced to disk)."""
        if self._op_open:
            raise RuntimeError("an operation of the batch is still open")
        if self.begun:
            self.conn.execute("COMMIT")
            self.begun = False

    def rollback(self) -> None:
        """Drop everything not yet committed."""
        self._op_open = False
        if self.begun:
            self.begun = False
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")


def erase_range(c: sqlite3.Connection, block_id: str, start: int, stop: int) -> bytes:
    """Read bytes ``[start, stop)`` of a pool block and erase them (inside ``c``'s transaction).

    Chunks used up entirely are deleted (``secure_delete`` zeroes their space); a chunk
    used in part is rewritten with zeros over the used prefix. Pool bytes are always
    consumed from the front of a block, so a chunk's used part is always a prefix.
    """
    first, last = start // CHUNK_BYTES, (stop - 1) // CHUNK_BYTES
    rows = c.execute(
        "SELECT chunk_index, material FROM chunks"
        " WHERE block_id = ? AND chunk_index BETWEEN ? AND ? ORDER BY chunk_index",
        (block_id, first, last),
    ).fetchall()
    if [r[0] for r in rows] != list(range(first, last + 1)):
        raise KeyDesyncError(f"pool chunks of block {block_id} are missing")
    out = bytearray()
    for index, material in rows:
        base = index * CHUNK_BYTES
        lo, hi = max(start, base) - base, min(stop, base + len(material)) - base
        out += material[lo:hi]
        if hi >= len(material):
            c.execute(
                "DELETE FROM chunks WHERE block_id = ? AND chunk_index = ?", (block_id, index)
            )
        else:
            c.execute(
                "UPDATE chunks SET material = ? WHERE block_id = ? AND chunk_index = ?",
                (bytes(hi) + material[hi:], block_id, index),
            )
    return bytes(out)


def insert_key(
    c: sqlite3.Connection,
    *,
    key_id: str,
    link: str,
    material: bytes,
    segments: Sequence[Segment],
    epsilon: float,
    pass_ids: Sequence[str],
    state: KeyState,
    purpose: str,
    master_sae: str | None,
    slave_sae: str | None,
) -> None:
    """Write a key row; the bytes are kept only in a held state (available, reserved)."""
    if state not in KEY_STATES:
        raise InputError("unknown key state", field="state", value=state)
    now = now_utc()
    try:
        c.execute(
            "INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key_id,
                link,
                8 * len(material),
                epsilon,
                state,
                purpose,
                master_sae,
                slave_sae,
                json.dumps(list(pass_ids)),
                json.dumps([s.to_json() for s in segments]),
                material if state in HELD_STATES else None,
                now,
                now,
            ),
        )
    except sqlite3.IntegrityError as exc:
        raise KeyStateError(f"key {key_id} already exists") from exc


def front_segments(c: sqlite3.Connection, link: str, n_bytes: int) -> list[Segment]:
    """Segments of the next ``n_bytes`` of the pool (inside ``c``'s transaction)."""
    cursor = c.execute(
        "SELECT block_id, n_bytes, consumed_bytes FROM blocks"
        " WHERE link = ? AND consumed_bytes < n_bytes ORDER BY seq",
        (link,),
    )
    segments: list[Segment] = []
    need = n_bytes
    try:
        for bid, size, used in cursor:  # row by row: usually the first block suffices
            take = min(need, size - used)
            segments.append(Segment(bid, used, used + take))
            need -= take
            if need == 0:
                return segments
    finally:
        cursor.close()
    raise InsufficientKeyError(link, n_bytes, n_bytes - need)
