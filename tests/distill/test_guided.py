"""Tests of guided blind reconciliation (reveals of Bob's least reliable bits; small frames)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from bsc import bsc_frames  # tests/distill/bsc.py

from satqkd.distill.ldpc import CodeFamily, binary_entropy
from satqkd.distill.ldpc.guided import GuidedCode, GuidedFamily, reconcile_guided
from satqkd.errors import InputError

FAMILY = GuidedFamily.default()
FRAME_BITS = 4000


def test_selection_starts_below_one_way_and_caps_the_reveals() -> None:
    code = FAMILY.select(0.02, FRAME_BITS, sample_bits=20_000)
    one_way = CodeFamily.default().select(0.02, FRAME_BITS, sample_bits=20_000)
    assert code.code.leak_bits < one_way.leak_bits
    q_low = 0.02 - np.sqrt(0.02 * 0.98 / 20_000)
    assert code.code.leak_bits == np.ceil(FAMILY.start_factor * FRAME_BITS * binary_entropy(q_low))
    assert code.step_bits == int(np.ceil(0.01 * FRAME_BITS * binary_entropy(0.02)))
    # The budget is the one-way leak at q̂ + 3σ_N: above the one-way leak at q̂ + 1.5σ_N.
    assert code.max_reveal_bits > one_way.leak_bits
    sizes = [code.step_size(k) for k in range(1, code.steps + 1)]
    assert sum(sizes) == code.max_reveal_bits and max(sizes) == code.step_bits
    with pytest.raises(ValueError):
        code.step_size(code.steps + 1)
    with pytest.raises(InputError):
        FAMILY.select(0.0, FRAME_BITS)


def test_description_rebuilds_the_same_code() -> None:
    alice = FAMILY.select(0.013, FRAME_BITS, sample_bits=20_000)
    bob = GuidedCode.from_description(json.loads(json.dumps(alice.describe())))
    assert bob.code.code_id == alice.code.code_id
    assert (bob.step_bits, bob.max_reveal_bits) == (alice.step_bits, alice.max_reveal_bits)
    assert FAMILY.select(0.013, FRAME_BITS, sample_bits=20_000).describe() == alice.describe()
    for bad in ({"scheme": "other"}, {"step_bits": 0}, {"max_reveal_bits": 1}):
        with pytest.raises(InputError):
            GuidedCode.from_description({**alice.describe(), **bad})


def test_alice_answers_only_requests_that_fit_the_schedule() -> None:
    code = FAMILY.select(0.03, FRAME_BITS, sample_bits=None)
    bits = np.arange(FRAME_BITS, dtype=np.uint8) % 2
    ask = np.arange(code.step_bits) * 3
    none = np.zeros(0, np.int64)
    np.testing.assert_array_equal(code.reveal(bits, ask, 1, none), bits[ask])
    np.testing.assert_array_equal(code.reveal(bits, ask + 1, 2, ask), bits[ask + 1])
    for positions, step, earlier in (
        (ask[:-1], 1, none),  # wrong size
        (ask, 2, none),  # step 2 before step 1's bits
        (np.r_[ask[:-1], ask[0]], 1, none),  # repeated position
        (np.r_[ask[:-1], FRAME_BITS], 1, none),  # out of range
        (np.r_[ask[1:] + 1, ask[0]], 2, ask),  # disclosed by step 1 already
    ):
        with pytest.raises(ValueError):
            code.reveal(bits, positions, step, earlier)
    with pytest.raises(ValueError):
        code.reveal(bits, ask, code.steps + 1, np.arange(code.max_reveal_bits))


def _requests(code: GuidedCode, alice: np.ndarray, bob: np.ndarray, qber: float,
              rounds: int, seed: int) -> list[np.ndarray]:
    """Bob's first ``rounds`` requests for one frame (Alice's values disclosed between)."""
    syndrome = code.encode(alice[None, :], np.random.default_rng(seed))
    state = code.new_state()
    positions: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for step in range(1, rounds + 1):
        done = np.concatenate([np.zeros(0, np.int64), *positions])
        res = code.decode_many(syndrome, bob[None, :], qber, [done],
                               [np.concatenate([np.zeros(0, np.uint8), *values])], 30, [state])
        assert not res[0].converged  # the start leak is set too low to decode
        ask = code.request_positions(state, done, step)
        assert ask.size == code.step_size(step) and np.intersect1d(ask, done).size == 0
        positions.append(ask)
        values.append(code.reveal(alice, ask, step, done))
    return positions


def test_requests_depend_only_on_the_error_pattern() -> None:
    """The positions Bob names are a function of e = x ⊕ y: flipping Alice's and Bob's
    bits together (and drawing other punctured values) leaves every request unchanged,
    while another error pattern gives other requests."""
    low = GuidedFamily(start_factor=0.7)
    code = low.select(0.03, FRAME_BITS, sample_bits=None)
    assert code.code.punctured > 0
    alice, bob = bsc_frames(1, FRAME_BITS, 0.03, seed=11)
    first = _requests(code, alice[0], bob[0], 0.03, 3, seed=1)
    flip = np.random.default_rng(5).integers(0, 2, FRAME_BITS, dtype=np.uint8)
    again = _requests(code, alice[0] ^ flip, bob[0] ^ flip, 0.03, 3, seed=2)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other_alice, other_bob = bsc_frames(1, FRAME_BITS, 0.03, seed=12)
    other = _requests(code, other_alice[0], other_bob[0], 0.03, 1, seed=1)
    assert not np.array_equal(other[0], first[0])


def test_guided_frames_decode_with_less_leak_than_one_way() -> None:
    qber = 0.02
    alice, bob = bsc_frames(8, FRAME_BITS, qber, seed=21)
    code = FAMILY.select(qber, FRAME_BITS, sample_bits=None)
    out = reconcile_guided(code, alice, bob, qber, np.random.default_rng(22))
    assert out.ok.all()
    np.testing.assert_array_equal(out.bits, alice)
    # Leak = m − p + disclosed bits, whole steps of them.
    np.testing.assert_array_equal(out.leak_bits, code.code.leak_bits + out.revealed_bits)
    assert np.all(out.revealed_bits == out.reveal_rounds * code.step_bits)
    one_way = CodeFamily.default().select(qber, FRAME_BITS, sample_bits=None).leak_bits
    assert out.leak_bits.mean() < one_way


def test_a_frame_beyond_the_budget_is_given_up_never_passed_on() -> None:
    code = FAMILY.select(0.01, FRAME_BITS, sample_bits=None)
    alice, bob = bsc_frames(1, FRAME_BITS, 0.08, seed=31)
    out = reconcile_guided(code, alice, bob, 0.01, np.random.default_rng(32))
    assert not out.ok[0]
    assert out.revealed_bits[0] == code.max_reveal_bits
    assert out.attempts[0] == code.steps + 1
