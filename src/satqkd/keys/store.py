"""The key store of one node: an SQLite file holding, per link, a pool of QKD key material.

Design
------
* One store per node (the satellite, each ground station). Every link the node takes
  part in has a *pool*: the final-key blocks of privacy amplification, appended in
  order as raw material (:meth:`KeyStore.add_block`). Keys of any whole number of
  bytes are *carved* from the front of the pool (:meth:`KeyStore.carve`); the other
  end of the link carves the very same bytes by address (:meth:`KeyStore.carve_at`),
  because QKD made the two pools identical.
* Each carve is one SQLite transaction (``BEGIN IMMEDIATE``, WAL journal,
  ``synchronous=FULL``): the pool frontier moves, the carved bytes are overwritten in
  the pool (fully used 256-byte chunks are deleted, a partly used chunk is rewritten
  with a zero prefix) and the key row is written, all or nothing. A key handed out by
  :meth:`KeyStore.take_keys` has its blob replaced by zeros in the same transaction
  that marks it delivered. ``secure_delete`` makes SQLite zero freed record space, so
  after a WAL checkpoint the bytes are gone from the database file.
* A crash (even ``kill -9``) at any point leaves the store as of its last commit: a
  key is delivered at most once, and material that was not carved is intact.
* A service may group many callers' calls into one transaction (:meth:`open_batch`,
  :mod:`satqkd.keys.group_commit`): each call stays all or nothing, and nobody hears
  of a result before the batch is committed, so the guarantees above are unchanged.

Key states: ``available`` (carved, held for later), ``reserved`` (carved for a named
slave SAE, waiting for it), ``delivered`` (handed out, bytes erased), ``consumed``
(used inside satqkd, e.g. a one-time pad or a relay, bytes erased).

Erasure is at the SQLite level. Old page images may survive in the WAL file until a
checkpoint (:meth:`KeyStore.checkpoint`), and no file system promises that rewritten
blocks are physically overwritten on the disk; a real KMS would add an encrypted or
RAM-backed volume.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from satqkd.errors import InputError
from satqkd.keys._db import (
    CHUNK_BYTES,
    HELD_STATES,
    Batch,
    Database,
    erase_range,
    front_segments,
    key_material_bytes,
    now_utc,
    xor_bytes,
)
from satqkd.keys.carving import PoolCarving
from satqkd.keys.errors import (
    KeyAccessError,
    KeyDesyncError,
    KeyStateError,
)
from satqkd.keys.inventory import StoreInventory
from satqkd.keys.records import (
    CarvedKey,
    KeyState,
    Provenance,
    Segment,
    canonical_link,
    link_nodes,
    new_key_id,
)


class KeyStore(StoreInventory, PoolCarving):
    """The SQLite key store of one node.

    Parameters
    ----------
    path:
        Database file; created with its schema when absent.
    node:
        Name of the node that owns the store. Required to create a store; checked
        against the recorded name when opening an existing one.
    busy_timeout_s:
        How long a writer waits for another writer's transaction before failing.

    The store is safe to share between threads (each thread gets its own SQLite
    connection) and between processes (SQLite file locking).
    """

    def __init__(
        self, path: str | Path, node: str | None = None, *, busy_timeout_s: float = 30.0
    ) -> None:
        self.path = Path(path)
        self._db = Database(self.path, busy_timeout_s)
        self.node: str = self._db.init_schema(node)
        # block id -> (link, n_bytes, epsilon, pass id): columns never changed once written.
        self._block_meta: dict[str, tuple[str, int, float, str]] = {}

    def _conn(self) -> sqlite3.Connection:
        return self._db.conn()

    def close(self) -> None:
        """Close every connection the store opened (in all threads)."""
        self._db.close()

    def __enter__(self) -> KeyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open_batch(self) -> Batch:
        """Group this thread's following writes into one transaction (see :class:`Batch`)."""
        return self._db.open_batch()

    def detach_batch(self) -> None:
        """Route this thread's writes no longer into its batch (before committing it)."""
        self._db.detach_batch()

    def close_batch(self, batch: Batch) -> None:
        """End a batch this thread opened, rolling back whatever was not committed."""
        self._db.close_batch(batch)

    def sync_wal(self) -> None:
        """Make every commit so far durable, batch commits included (fdatasync of the WAL)."""
        self._db.sync_wal()

    def checkpoint_passive(self, *, exclusive: bool = False) -> tuple[int, int]:
        """Copy WAL frames into the database file without blocking SQLite writers.

        For a background thread; see :meth:`Database.checkpoint_passive`.
        """
        return self._db.checkpoint_passive(exclusive=exclusive)

    def checkpoint(self) -> None:
        """Copy the WAL into the database file and truncate the WAL to zero bytes.

        After this, erased key bytes no longer exist in either file (``secure_delete``).
        """
        self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- adding material --------------------------------------------------------------

    def _check_link(self, link: str) -> str:
        canon = canonical_link(link)
        if self.node not in link_nodes(canon):
            raise InputError(
                f"store of node {self.node!r} holds no link without that node",
                source=str(self.path),
                field="link",
                value=link,
            )
        return canon

    def add_block(
        self,
        link: str,
        bits_or_bytes: bytes | bytearray | memoryview | np.ndarray,
        epsilon: float,
        provenance: Provenance,
        *,
        block_id: str | None = None,
    ) -> str:
        """Append one block of final key to the pool of ``link``; return its block id.

        ``bits_or_bytes`` is the final key of one privacy-amplification block, as a bit
        array or packed bytes (see :func:`key_material_bytes`); ``epsilon`` its security
        parameter. ``block_id`` defaults to :meth:`Provenance.block_id`, which both ends
        of the link compute alike, so their pools are addressed the same way. Adding a
        block id twice raises :class:`~satqkd.errors.InputError` (it would duplicate key).
        """
        canon = self._check_link(link)
        packed, n_bits = key_material_bytes(bits_or_bytes)
        with self._db.write() as c:
            return self._insert_block(c, canon, packed, n_bits, epsilon, provenance, block_id)

    def _insert_block(
        self,
        c: sqlite3.Connection,
        link: str,
        packed: bytes,
        n_bits: int,
        epsilon: float,
        provenance: Provenance,
        block_id: str | None,
    ) -> str:
        if not 0.0 <= epsilon < 1.0:
            raise InputError("epsilon must lie in [0, 1)", field="epsilon", value=epsilon)
        if not packed:
            raise InputError("a key block needs at least 8 bits", field="bits", value=n_bits)
        if provenance.created_utc is None:
            provenance = Provenance(
                provenance.pass_id,
                provenance.block_index,
                provenance.source,
                now_utc(),
                provenance.extra,
            )
        bid = block_id or provenance.block_id(link)
        chunks = [
            (bid, i, packed[i * CHUNK_BYTES : (i + 1) * CHUNK_BYTES])
            for i in range((len(packed) + CHUNK_BYTES - 1) // CHUNK_BYTES)
        ]
        try:
            c.execute(
                "INSERT INTO blocks (block_id, link, n_bits, n_bytes, epsilon, provenance,"
                " created_utc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    bid,
                    link,
                    n_bits,
                    len(packed),
                    float(epsilon),
                    json.dumps(provenance.to_json()),
                    provenance.created_utc,
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise InputError(
                "block already in the store", source=str(self.path), field="block_id", value=bid
            ) from exc
        c.executemany("INSERT INTO chunks VALUES (?, ?, ?)", chunks)
        return bid

    def transfer_at(
        self,
        link: str,
        segments: Sequence[Segment],
        *,
        key_id: str,
        to_link: str,
        mask: bytes | None,
        epsilon: float,
        provenance: Provenance,
        block_id: str,
    ) -> str:
        """Consume the key at ``segments`` of ``link`` and append it, XOR ``mask``, to ``to_link``.

        One transaction: the key relay at a ground station. The source station moves its
        copy of MJ into the pool of the new link (``mask=None``); the target station turns
        the satellite's MN ⊕ MJ and its own MN into MJ (``mask`` = MN ⊕ MJ). Returns the
        new block's id.
        """
        canon, dest = self._check_link(link), self._check_link(to_link)
        with self._db.write() as c:
            key = self._carve_one(c, canon, key_id, segments, "consumed", "relay", None, None)
            material = key.material
            if mask is not None:
                if len(mask) != len(material):
                    raise KeyDesyncError("the relay mask and the key differ in length")
                material = xor_bytes(material, mask)
            return self._insert_block(
                c, dest, material, 8 * len(material), epsilon, provenance, block_id
            )

    # -- carving ------------------------------------------------------------------------

    def carve_keys(
        self,
        link: str,
        n_bytes: int,
        count: int = 1,
        *,
        state: KeyState = "consumed",
        purpose: str = "",
        master_sae: str | None = None,
        slave_sae: str | None = None,
        durable: bool = True,
    ) -> list[CarvedKey]:
        """Cut ``count`` keys of ``n_bytes`` each from the front of the pool of ``link``.

        One transaction for all of them: the bytes are erased from the pool and a key
        row per key is written in ``state`` (in ``delivered`` or ``consumed`` state the
        row keeps no bytes). Each :class:`CarvedKey` carries its bytes and their
        :class:`Segment` addresses, which the other end passes to :meth:`carve_keys_at`.
        Raises :class:`~satqkd.keys.errors.InsufficientKeyError`, consuming nothing,
        when the pool is too small for all of them. ``durable=False`` only matters in a
        group-commit batch (:meth:`Database.write`): the caller then guarantees that the
        carve can be rebuilt after a crash from the other end's durable record.
        """
        canon = self._check_link(link)
        if n_bytes < 1 or count < 1:
            raise InputError(
                "a carve takes at least one key of one byte", field="n_bytes", value=n_bytes
            )
        out = []
        with self._db.write(durable=durable) as c:
            all_segments = front_segments(c, canon, n_bytes * count)
            for _ in range(count):
                segments, need = [], n_bytes
                while need:
                    s = all_segments.pop(0)
                    take = min(need, s.n_bytes)
                    segments.append(Segment(s.block_id, s.start_byte, s.start_byte + take))
                    if take < s.n_bytes:
                        all_segments.insert(
                            0, Segment(s.block_id, s.start_byte + take, s.stop_byte)
                        )
                    need -= take
                out.append(
                    self._carve_one(
                        c,
                        canon,
                        new_key_id(),
                        segments,
                        state,
                        purpose,
                        master_sae,
                        slave_sae,
                        at_front=True,
                    )
                )
        return out

    def carve(
        self,
        link: str,
        n_bytes: int,
        *,
        state: KeyState = "consumed",
        purpose: str = "",
        master_sae: str | None = None,
        slave_sae: str | None = None,
    ) -> CarvedKey:
        """Cut one key of ``n_bytes`` from the front of the pool (see :meth:`carve_keys`)."""
        return self.carve_keys(
            link,
            n_bytes,
            1,
            state=state,
            purpose=purpose,
            master_sae=master_sae,
            slave_sae=slave_sae,
        )[0]

    def carve_keys_at(
        self,
        link: str,
        keys: Sequence[tuple[str, Sequence[Segment]]],
        *,
        state: KeyState = "consumed",
        purpose: str = "",
        master_sae: str | None = None,
        slave_sae: str | None = None,
    ) -> list[CarvedKey]:
        """Carve exactly the keys the other end carved, ``(key_id, segments)`` pairs, at once.

        Unused bytes of a block *before* a segment are erased unused and counted in
        ``discarded_bytes``: the other end has already consumed them (this happens only
        after a crash between the two ends' commits), so they can never again be a
        shared secret. Raises :class:`~satqkd.keys.errors.KeyDesyncError`, consuming
        nothing, when a segment is already consumed here or its block is unknown.
        """
        canon = self._check_link(link)
        if not keys or not all(segments for _, segments in keys):
            raise InputError("no segments to carve", field="segments", value=[])
        with self._db.write() as c:
            return [
                self._carve_one(c, canon, kid, segs, state, purpose, master_sae, slave_sae)
                for kid, segs in keys
            ]

    def carve_at(
        self,
        link: str,
        segments: Sequence[Segment],
        *,
        key_id: str,
        state: KeyState = "consumed",
        purpose: str = "",
        master_sae: str | None = None,
        slave_sae: str | None = None,
    ) -> CarvedKey:
        """Carve one key at the other end's ``segments`` (see :meth:`carve_keys_at`)."""
        return self.carve_keys_at(
            link,
            [(key_id, segments)],
            state=state,
            purpose=purpose,
            master_sae=master_sae,
            slave_sae=slave_sae,
        )[0]

    def take_keys(
        self,
        key_ids: Sequence[str],
        *,
        to_state: KeyState = "delivered",
        link: str | None = None,
        caller_sae: str | None = None,
        master_sae: str | None = None,
    ) -> list[bytes]:
        """Hand out held keys once: return their bytes, erase them, mark them ``to_state``.

        All or nothing, in one transaction. With ``caller_sae`` each key must have been
        reserved for that slave SAE (else :class:`~satqkd.keys.errors.KeyAccessError`);
        with ``master_sae`` it must have been requested by that master, and with ``link``
        it must belong to that link. A key unknown, listed twice, or no longer held
        (already delivered: a replay) raises :class:`~satqkd.keys.errors.KeyStateError`.
        """
        if to_state not in ("delivered", "consumed"):
            raise InputError(
                "keys are taken as delivered or consumed", field="to_state", value=to_state
            )
        if len(set(key_ids)) != len(key_ids):
            raise KeyStateError("a key id is listed twice")
        canon = canonical_link(link) if link is not None else None
        with self._db.write() as c:
            rows = []
            for kid in key_ids:
                row = c.execute(
                    "SELECT link, state, master_sae, slave_sae, material FROM keys"
                    " WHERE key_id = ?",
                    (kid,),
                ).fetchone()
                if row is None or (canon is not None and row[0] != canon):
                    raise KeyStateError(f"unknown key {kid}")
                rows.append((kid, *row))
            for kid, _, _, _, slave, _ in rows:
                if caller_sae is not None and slave != caller_sae:
                    raise KeyAccessError(f"key {kid} was not issued for SAE {caller_sae!r}")
            for kid, _, state, master, _, _ in rows:
                if master_sae is not None and master != master_sae:
                    raise KeyStateError(f"key {kid} was not requested by SAE {master_sae!r}")
                if state not in HELD_STATES:
                    raise KeyStateError(f"key {kid} is {state}: a key is handed out only once")
            now = now_utc()
            c.executemany(
                "UPDATE keys SET state = ?, material = NULL, updated_utc = ? WHERE key_id = ?",
                [(to_state, now, kid) for kid in key_ids],
            )
        return [bytes(r[5]) for r in rows]

    def discard_to(self, block_id: str, frontier: int) -> int:
        """Erase, unused, the bytes of a pool block up to ``frontier``; return how many.

        Re-aligns this end of a link with the other end after a crash between their
        commits (see :func:`satqkd.keys.sync.reconcile`).
        """
        with self._db.write() as c:
            (used,) = c.execute(
                "SELECT consumed_bytes FROM blocks WHERE block_id = ?", (block_id,)
            ).fetchone()
            if used >= frontier:
                return 0
            erase_range(c, block_id, used, frontier)
            c.execute(
                "UPDATE blocks SET consumed_bytes = ? WHERE block_id = ?", (frontier, block_id)
            )
        return frontier - used
