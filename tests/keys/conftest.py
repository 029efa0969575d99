"""Fixtures of the key-management tests: stores at the two ends of links, seeded key material."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from satqkd.keys import KeyStore, Provenance


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20220727)


@pytest.fixture
def stores(tmp_path: Path) -> Callable[..., KeyStore]:
    """Factory: ``stores("jinan")`` opens (or creates) the store of node ``jinan`` in tmp_path."""
    opened: list[KeyStore] = []

    def open_store(node: str) -> KeyStore:
        store = KeyStore(tmp_path / f"{node}.db", node)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


@pytest.fixture
def share() -> Callable[..., str]:
    """The function :func:`share_block`, as a fixture (test modules do not import conftest)."""
    return share_block


def share_block(
    store_x: KeyStore,
    store_y: KeyStore,
    material: bytes,
    *,
    pass_id: str = "pass-1",
    block_index: int = 0,
    epsilon: float = 1e-10,
) -> str:
    """Put the same final-key block into the pools of link x–y at both ends (as QKD does)."""
    link = f"{store_x.node}:{store_y.node}"
    prov = Provenance(pass_id, block_index)
    bid = store_x.add_block(link, material, epsilon, prov)
    assert store_y.add_block(link, material, epsilon, prov) == bid
    return bid
