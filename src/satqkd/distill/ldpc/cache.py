"""On-disk cache of built parity-check graphs, so a second run builds no code.

A 100-kbit mother code takes about a second to build; the satellite and the ground station
(possibly in different processes) each need the same handful per pass. Graphs are stored as
uncompressed ``.npz`` files (H in CSR form: ``row_ptr``, ``col_idx``; ≈2 MB per 100-kbit
code) under ``$SATQKD_CACHE_DIR/ldpc/`` (default ``~/.cache/satqkd/ldpc/``), named by a hash
of the construction parameters and :data:`FORMAT_VERSION`. Writes go to a temporary file in
the same directory followed by :func:`os.replace`, so concurrent processes never read a
partial file. Set ``SATQKD_CACHE_DIR`` to an empty string to disable the cache; any I/O
error or inconsistent file just means "build it again".
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

#: Bump when the construction or the stored layout changes (old files are then ignored).
FORMAT_VERSION = 3


def cache_dir() -> Path | None:
    """Directory of cached graphs, or ``None`` when caching is disabled."""
    root = os.environ.get("SATQKD_CACHE_DIR")
    if root is None:
        return Path.home() / ".cache" / "satqkd" / "ldpc"
    return Path(root) / "ldpc" if root else None


def _path(key: tuple[object, ...]) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha256(repr((FORMAT_VERSION, *key)).encode()).hexdigest()[:24]
    return folder / f"h-{digest}.npz"


def load(key: tuple[object, ...], m: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(row_ptr, col_idx)`` stored under ``key``, or ``None`` (missing or unusable)."""
    stored = load_with_shifts(key, m)
    return None if stored is None else stored[:2]


def load_with_shifts(
    key: tuple[object, ...], m: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """``(row_ptr, col_idx, shifts)`` stored under ``key`` (``shifts`` ``None`` when the
    graph was stored without), or ``None`` (missing or unusable)."""
    path = _path(key)
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path) as data:
            row_ptr = np.asarray(data["row_ptr"], np.int64)
            col_idx = np.asarray(data["col_idx"], np.int32)
            shifts = np.asarray(data["shifts"], np.int32) if "shifts" in data else None
            stored = str(data["key"])
    except (OSError, KeyError, ValueError):
        return None
    if stored != repr(key) or row_ptr.size != m + 1 or row_ptr[-1] != col_idx.size:
        return None
    if shifts is not None and shifts.size != col_idx.size:
        return None
    return row_ptr, col_idx, shifts


def store(key: tuple[object, ...], row_ptr: np.ndarray, col_idx: np.ndarray,
          shifts: np.ndarray | None = None) -> None:
    """Save a graph (and, for a lifted code's base graph, its circulant ``shifts``) under
    ``key`` atomically (best effort: I/O errors are ignored)."""
    path = _path(key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as handle:
                arrays = {} if shifts is None else {"shifts": shifts}
                np.savez(handle, row_ptr=row_ptr, col_idx=col_idx, key=np.array(repr(key)),
                         **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return
