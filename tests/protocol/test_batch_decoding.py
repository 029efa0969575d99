"""The ground's batched decoding: a frame's result must not depend on its batch."""

from __future__ import annotations

import numpy as np
import pytest

from satqkd.distill.ldpc import CodeFamily

FRAME_BITS = 8_000


@pytest.fixture(scope="module")
def frames() -> tuple:
    rng = np.random.default_rng(3)
    code = CodeFamily.default().select(0.02, FRAME_BITS, sample_bits=None)
    alice = rng.integers(0, 2, (4, FRAME_BITS), dtype=np.uint8)
    # One frame far too noisy for the code, so a failed frame is in the batch too.
    q_true = np.array([0.012, 0.018, 0.06, 0.015])
    bob = alice ^ (rng.random(alice.shape) < q_true[:, None]).astype(np.uint8)
    return code, alice, bob, code.syndromes(alice, rng)


def test_per_frame_qber_batch_equals_one_by_one(frames: tuple) -> None:
    code, alice, bob, syndromes = frames
    qbers = np.array([0.013, 0.019, 0.02, 0.016])
    batch = code.decode_many(syndromes, bob, qbers)
    for i, res in enumerate(batch):
        alone = code.decode(syndromes[i], bob[i], float(qbers[i]))
        assert np.array_equal(res.bits, alone.bits)
        assert (res.converged, res.iterations) == (alone.converged, alone.iterations)
    assert [r.converged for r in batch] == [True, True, False, True]
    assert np.array_equal(batch[0].bits, alice[0])


def test_scalar_qber_still_accepted_and_shape_checked(frames: tuple) -> None:
    code, _, bob, syndromes = frames
    same = code.decode_many(syndromes[:2], bob[:2], 0.015)
    arr = code.decode_many(syndromes[:2], bob[:2], np.array([0.015, 0.015]))
    assert all(np.array_equal(a.bits, b.bits) for a, b in zip(same, arr, strict=True))
    with pytest.raises(ValueError):
        code.decode_many(syndromes[:2], bob[:2], np.array([0.015, 0.015, 0.015]))
    with pytest.raises(ValueError):
        code.decode_many(syndromes[:2], bob[:2], np.array([0.015, 0.6]))
