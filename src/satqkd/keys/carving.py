"""Cutting key bytes out of a pool, inside a store's write transaction (a mixin of the store).

Shared by every carve of :class:`satqkd.keys.store.KeyStore`: erase the pool bytes at
given segments (checking them against the block's frontier unless they were just read
from it), sum the ε and collect the pass ids of the blocks drawn on, write the key row.
The immutable columns of a block are cached per store: a carve then reads only the
frontier it must move.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from satqkd.keys._db import erase_range, insert_key
from satqkd.keys.errors import KeyDesyncError
from satqkd.keys.records import CarvedKey, KeyState, Segment


class PoolCarving:
    """Carving helpers; the host class initialises ``_block_meta`` to an empty dict."""

    #: block id -> (link, n_bytes, epsilon, pass id): columns never changed once written.
    _block_meta: dict[str, tuple[str, int, float, str]]

    def _meta(self, c: sqlite3.Connection, block_id: str) -> tuple[str, int, float, str] | None:
        """``(link, n_bytes, epsilon, pass_id)`` of a block (cached: never changed), or None."""
        meta = self._block_meta.get(block_id)
        if meta is None:
            row = c.execute(
                "SELECT link, n_bytes, epsilon, provenance FROM blocks WHERE block_id = ?",
                (block_id,),
            ).fetchone()
            if row is None:
                return None
            meta = self._block_meta[block_id] = (
                row[0],
                row[1],
                row[2],
                str(json.loads(row[3])["pass_id"]),
            )
        return meta

    def _consume(
        self,
        c: sqlite3.Connection,
        link: str,
        segments: Sequence[Segment],
        *,
        at_front: bool = False,
    ) -> tuple[bytes, int]:
        """Erase the pool bytes at ``segments`` and return them, with the bytes discarded.

        Unused bytes of a block before a segment are erased too (see :meth:`carve_at`).
        ``at_front``: the segments were just read from the pool frontier in this very
        transaction (:func:`front_segments`), so the frontier checks are skipped.
        """
        parts, discarded = [], 0
        for s in segments:
            if not at_front:
                meta = self._meta(c, s.block_id)
                if meta is None or meta[0] != link:
                    raise KeyDesyncError(f"block {s.block_id} is not in the pool of {link}")
                (used,) = c.execute(
                    "SELECT consumed_bytes FROM blocks WHERE block_id = ?", (s.block_id,)
                ).fetchone()
                if not 0 <= s.start_byte < s.stop_byte <= meta[1]:
                    raise KeyDesyncError(f"segment {s.to_json()} lies outside its block")
                if used > s.start_byte:
                    raise KeyDesyncError(
                        f"bytes {s.start_byte}..{s.stop_byte} of block {s.block_id}"
                        f" are already consumed here (frontier {used})"
                    )
                if used < s.start_byte:
                    erase_range(c, s.block_id, used, s.start_byte)
                    discarded += s.start_byte - used
            parts.append(erase_range(c, s.block_id, s.start_byte, s.stop_byte))
            c.execute(
                "UPDATE blocks SET consumed_bytes = ? WHERE block_id = ?",
                (s.stop_byte, s.block_id),
            )
        return b"".join(parts), discarded

    def _carve_one(
        self,
        c: sqlite3.Connection,
        link: str,
        key_id: str,
        segments: Sequence[Segment],
        state: KeyState,
        purpose: str,
        master_sae: str | None,
        slave_sae: str | None,
        *,
        at_front: bool = False,
    ) -> CarvedKey:
        material, discarded = self._consume(c, link, segments, at_front=at_front)
        epsilon, pass_ids = self._provenance(c, segments)
        insert_key(
            c,
            key_id=key_id,
            link=link,
            material=material,
            segments=segments,
            epsilon=epsilon,
            pass_ids=pass_ids,
            state=state,
            purpose=purpose,
            master_sae=master_sae,
            slave_sae=slave_sae,
        )
        return CarvedKey(key_id, link, material, tuple(segments), epsilon, pass_ids, discarded)

    def _provenance(
        self, c: sqlite3.Connection, segments: Sequence[Segment]
    ) -> tuple[float, tuple[str, ...]]:
        """Summed ε and the pass ids of the blocks a key draws on."""
        epsilon, pass_ids = 0.0, []
        for bid in dict.fromkeys(s.block_id for s in segments):
            meta = self._meta(c, bid)
            if meta is None:
                raise KeyDesyncError(f"block {bid} is not in the store")
            epsilon += meta[2]
            if meta[3] not in pass_ids:
                pass_ids.append(meta[3])
        return epsilon, tuple(pass_ids)
