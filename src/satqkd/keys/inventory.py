"""Read-only views of a key store: links, pool blocks, key rows, per-link statistics.

A mixin of :class:`satqkd.keys.store.KeyStore`; nothing here changes the store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from satqkd.keys.records import (
    KEY_STATES,
    BlockRecord,
    KeyRecord,
    KeyState,
    LinkStats,
    Provenance,
    Segment,
    canonical_link,
)


class StoreInventory:
    """Queries over the store's tables; the host class provides ``_conn()``."""

    def _conn(self) -> sqlite3.Connection:  # pragma: no cover - provided by the store
        raise NotImplementedError

    def available_bytes(self, link: str) -> int:
        """Bytes of the pool of ``link`` not yet carved."""
        row = (
            self._conn()
            .execute(
                "SELECT COALESCE(SUM(n_bytes - consumed_bytes), 0) FROM blocks WHERE link = ?",
                (canonical_link(link),),
            )
            .fetchone()
        )
        return int(row[0])

    def material_bytes(self, link: str) -> int:
        """Bytes of all the pool blocks of ``link``, carved or not."""
        row = (
            self._conn()
            .execute(
                "SELECT COALESCE(SUM(n_bytes), 0) FROM blocks WHERE link = ?",
                (canonical_link(link),),
            )
            .fetchone()
        )
        return int(row[0])

    def links(self) -> list[str]:
        """Canonical names of the links this store holds material or keys for."""
        rows = (
            self._conn()
            .execute("SELECT link FROM blocks UNION SELECT link FROM keys ORDER BY 1")
            .fetchall()
        )
        return [r[0] for r in rows]

    def blocks(self, link: str | None = None) -> list[BlockRecord]:
        """The pool blocks (all links, or one), in the order they were added."""
        sql = (
            "SELECT block_id, link, n_bits, n_bytes, consumed_bytes, epsilon, provenance"
            " FROM blocks"
        )
        args: tuple[Any, ...] = ()
        if link is not None:
            sql, args = sql + " WHERE link = ?", (canonical_link(link),)
        rows = self._conn().execute(sql + " ORDER BY seq", args).fetchall()
        return [
            BlockRecord(r[0], r[1], r[2], r[3], r[4], r[5], Provenance.from_json(json.loads(r[6])))
            for r in rows
        ]

    def list_keys(
        self, link: str | None = None, state: KeyState | None = None, limit: int | None = None
    ) -> list[KeyRecord]:
        """Key rows (without their bytes), oldest first, optionally filtered."""
        where, args = [], []
        if link is not None:
            where.append("link = ?")
            args.append(canonical_link(link))
        if state is not None:
            where.append("state = ?")
            args.append(state)
        tail = " ORDER BY created_utc, key_id"
        if limit is not None:
            tail += f" LIMIT {int(limit)}"
        return self._select_keys(" AND ".join(where) or "1", args, tail)

    def _select_keys(self, where: str, args: Sequence[Any], tail: str = "") -> list[KeyRecord]:
        sql = (
            "SELECT key_id, link, size_bits, epsilon, state, purpose, master_sae, slave_sae,"
            " pass_ids, segments, created_utc, updated_utc FROM keys WHERE "
        )
        rows = self._conn().execute(sql + where + tail, tuple(args)).fetchall()
        return [
            KeyRecord(
                *r[:8],
                tuple(json.loads(r[8])),
                tuple(Segment.from_json(s) for s in json.loads(r[9])),
                r[10],
                r[11],
            )
            for r in rows
        ]

    def find_keys(self, key_ids: Sequence[str]) -> list[KeyRecord]:
        """The rows (without bytes) of those of ``key_ids`` this store knows."""
        return [r for kid in dict.fromkeys(key_ids) for r in self._select_keys("key_id = ?", [kid])]

    def held_key_bytes(self, key_id: str) -> bytes | None:
        """Bytes of a key still held (available or reserved), without handing it out; else None.

        For audits and tests; a service hands keys out only through :meth:`take_keys`.
        """
        row = (
            self._conn().execute("SELECT material FROM keys WHERE key_id = ?", (key_id,)).fetchone()
        )
        return None if row is None or row[0] is None else bytes(row[0])

    def stats(self) -> list[LinkStats]:
        """Per-link summary: pool material, keys and bits per state, largest ε."""
        conn = self._conn()
        out = []
        for link in self.links():
            n_blocks, bits, avail, eps = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(n_bytes), 0) * 8,"
                " COALESCE(SUM(n_bytes - consumed_bytes), 0) * 8, COALESCE(MAX(epsilon), 0)"
                " FROM blocks WHERE link = ?",
                (link,),
            ).fetchone()
            by_state = {s: 0 for s in KEY_STATES}
            bits_state = {s: 0 for s in KEY_STATES}
            for state, count, size in conn.execute(
                "SELECT state, COUNT(*), SUM(size_bits) FROM keys WHERE link = ? GROUP BY state",
                (link,),
            ):
                by_state[state], bits_state[state] = count, size
            out.append(LinkStats(link, n_blocks, bits, avail, by_state, bits_state, eps))
        return out

    def key_ids(self, link: str, purpose: str) -> list[tuple[str, str | None]]:
        """``(key_id, slave_sae)`` of every key of ``link`` recorded for ``purpose``."""
        rows = (
            self._conn()
            .execute(
                "SELECT key_id, slave_sae FROM keys WHERE link = ? AND purpose = ?",
                (canonical_link(link), purpose),
            )
            .fetchall()
        )
        return [(r[0], r[1]) for r in rows]
