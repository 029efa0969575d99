"""Synthetic reconciliation inputs for the LDPC tests: frames through a binary symmetric channel."""

from __future__ import annotations

import numpy as np


def bsc_frames(
    frames: int, frame_bits: int, qber: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Alice's random frames and Bob's copies through a BSC with crossover ``qber``."""
    rng = np.random.default_rng(seed)
    alice = rng.integers(0, 2, size=(frames, frame_bits), dtype=np.uint8)
    flips = (rng.random((frames, frame_bits)) < qber).astype(np.uint8)
    return alice, alice ^ flips
