"""Tests of blind (incremental) LDPC reconciliation (small frames, so they stay fast)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from satqkd.distill.ldpc import CodeFamily, binary_entropy
from satqkd.distill.ldpc.blind import BlindCode, BlindFamily, reconcile_blind
from satqkd.distill.ldpc.decoder import LLR_MAX
from satqkd.errors import InputError

FAMILY = BlindFamily.default()
FRAME_BITS = 4000


def _bsc_frames(frames: int, qber: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    alice = rng.integers(0, 2, size=(frames, FRAME_BITS), dtype=np.uint8)
    return alice, alice ^ (rng.random((frames, FRAME_BITS)) < qber).astype(np.uint8)


def _h(code: BlindCode) -> sp.csr_matrix:
    g = code.code.mother.graph
    return sp.csr_matrix((np.ones(g.edges, np.int64), g.col_idx, g.row_ptr), shape=(g.m, g.n))


def test_selection_spans_the_one_way_leak_and_punctures_untainted_positions() -> None:
    code = FAMILY.select(0.02, FRAME_BITS, sample_bits=20_000)
    one_way = CodeFamily.default().select(0.02, FRAME_BITS, sample_bits=20_000)
    m, p = code.code.mother.m, code.punctured
    # The blind range starts below the one-way leak and ends above it.
    assert m - p < one_way.leak_bits < m
    assert code.steps == -(-p // code.step_bits) and code.steps >= 5
    # Untainted: no two punctured (revealable) positions share a check.
    h = _h(code).tocsc()
    touched = np.concatenate([h[:, [v]].indices for v in code.reveal_order])
    assert np.unique(touched).size == touched.size
    assert set(code.reveal_order) == set(code.code.punctured_positions)


def test_description_rebuilds_the_same_code_and_schedule() -> None:
    alice = FAMILY.select(0.013, FRAME_BITS, sample_bits=20_000)
    bob = BlindCode.from_description(json.loads(json.dumps(alice.describe())))
    assert bob.code.code_id == alice.code.code_id
    assert bob.step_bits == alice.step_bits and bob.steps == alice.steps
    np.testing.assert_array_equal(bob.reveal_order, alice.reveal_order)
    for step in range(1, alice.steps + 1):
        np.testing.assert_array_equal(bob.reveal_positions(step), alice.reveal_positions(step))
    # Selection is deterministic: the same inputs give the same description.
    assert FAMILY.select(0.013, FRAME_BITS, sample_bits=20_000).describe() == alice.describe()
    with pytest.raises(InputError):
        BlindCode.from_description({**alice.describe(), "scheme": "other"})
    with pytest.raises(InputError):
        BlindCode.from_description({**alice.describe(), "step_bits": 0})


def test_schedule_partitions_the_punctured_positions_in_reverse_puncture_order() -> None:
    code = FAMILY.select(0.03, FRAME_BITS, sample_bits=None)
    steps = [code.reveal_positions(k) for k in range(1, code.steps + 1)]
    assert all(s.size == code.step_bits for s in steps[:-1]) and steps[-1].size > 0
    np.testing.assert_array_equal(np.concatenate(steps), code.reveal_order)
    order = code.code.mother.puncture_order[: code.punctured]
    np.testing.assert_array_equal(code.reveal_order, order[::-1])
    with pytest.raises(ValueError):
        code.reveal_positions(code.steps + 1)


def test_encode_keeps_the_punctured_values_that_the_syndrome_used() -> None:
    code = FAMILY.select(0.02, FRAME_BITS, sample_bits=None)
    alice, _ = _bsc_frames(2, 0.0, seed=3)
    syndromes, values = code.encode(alice, np.random.default_rng(4))
    words = np.zeros((2, code.code.mother.n), np.int64)
    words[:, code.code.key_positions] = alice
    words[:, code.reveal_order] = values
    np.testing.assert_array_equal(syndromes, (_h(code) @ words.T).T % 2)
    k = 2
    np.testing.assert_array_equal(code.reveal(values[0], k),
                                  words[0, code.reveal_positions(k)])


def test_revealed_values_change_only_punctured_priors() -> None:
    code = FAMILY.select(0.02, FRAME_BITS, sample_bits=None)
    alice, bob = _bsc_frames(2, 0.02, seed=5)
    _, values = code.encode(alice, np.random.default_rng(6))
    r = code.revealed_after(3)
    base = code.code.channel_llrs(bob, 0.02)
    priors = code.priors(bob, 0.02, [values[0, :r], values[1, :0]])
    changed = np.flatnonzero(priors[0] != base[0])
    assert set(changed) <= set(code.reveal_order[:r])
    np.testing.assert_array_equal(priors[0, code.reveal_order[:r]],
                                  LLR_MAX * (1 - 2 * values[0, :r].astype(np.float32)))
    assert np.all(base[0, code.reveal_order] == 0.0)  # punctured: no prior before the reveal
    np.testing.assert_array_equal(priors[1], base[1])


def test_leak_accounting_is_exact() -> None:
    code = FAMILY.select(0.03, FRAME_BITS, sample_bits=20_000)
    alice, bob = _bsc_frames(16, 0.03, seed=7)
    out = reconcile_blind(code, alice, bob, 0.03, np.random.default_rng(8))
    m, p = code.code.mother.m, code.punctured
    for attempts, revealed, leak, ok in zip(out.attempts, out.revealed_bits, out.leak_bits,
                                            out.ok, strict=True):
        assert revealed == code.revealed_after(int(attempts) - 1)
        assert leak == m - p + revealed
        assert ok or revealed == p
    assert code.leak_bits(0) == m - p and code.leak_bits(p) == m
    with pytest.raises(ValueError):
        code.leak_bits(p + 1)
    np.testing.assert_array_equal(out.bits[out.ok], alice[out.ok])
    assert out.ok.sum() >= 15


def test_frame_that_cannot_decode_fails_after_every_reveal() -> None:
    code = FAMILY.select(0.01, FRAME_BITS, sample_bits=None)
    alice, bob = _bsc_frames(2, 0.12, seed=9)
    out = reconcile_blind(code, alice, bob, 0.01, np.random.default_rng(10), max_iterations=20)
    assert not out.ok.any()
    np.testing.assert_array_equal(out.attempts, code.steps + 1)
    np.testing.assert_array_equal(out.revealed_bits, code.punctured)
    np.testing.assert_array_equal(out.leak_bits, code.code.mother.m)


def test_wrong_codeword_asks_for_more_reveals() -> None:
    """A frame whose decode fails verification is not accepted: the next step is asked for."""
    code = FAMILY.select(0.02, FRAME_BITS, sample_bits=None)
    alice, bob = _bsc_frames(1, 0.02, seed=11)
    out = reconcile_blind(code, alice, bob, 0.02, np.random.default_rng(12),
                          verify=lambda i, bits: False)
    assert not out.ok[0] and out.attempts[0] == code.steps + 1


def test_blind_efficiency_beats_one_way_on_bsc_frames() -> None:
    """At the same mean leak on the same frames, one-way fails many frames and blind none.

    Equivalently, blind needs a lower mean efficiency than one-way for the same FER. (The
    one-way ``f_design`` was calibrated at 100 kbit; 4-kbit frames need more, so the
    comparison is made at equal leak on these frames, not against that table.)
    """
    qber = 0.03
    alice, bob = _bsc_frames(32, qber, seed=13)
    code = FAMILY.select(qber, FRAME_BITS, sample_bits=None)
    out = reconcile_blind(code, alice, bob, qber, np.random.default_rng(14))
    f_blind = out.leak_bits.mean() / (FRAME_BITS * binary_entropy(qber))
    assert out.ok.all()
    one_way = CodeFamily(f_design=((0.0, f_blind), (0.5, f_blind))).select(
        qber, FRAME_BITS, sample_bits=None)
    assert abs(one_way.efficiency(qber) - f_blind) < 0.01
    results = one_way.decode_many(one_way.syndromes(alice, np.random.default_rng(15)), bob, qber)
    failed = sum(not (r.converged and np.array_equal(r.bits, a))
                 for r, a in zip(results, alice, strict=True))
    assert failed >= 4  # ≥ 12 % of 32 frames (measured: 9)
