"""Tests of the check-parallel single-frame LDPC kernel (:mod:`satqkd.distill.ldpc.row_decoder`)."""

from __future__ import annotations

import numpy as np
from bsc import bsc_frames  # tests/distill/bsc.py

from satqkd.distill.ldpc import CodeFamily, RateAdaptedCode, decoder, row_decoder

FAMILY = CodeFamily.default()


def _rows(
    code: RateAdaptedCode, syndromes: np.ndarray, priors: np.ndarray, max_iterations: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frames, n = priors.shape
    out = np.zeros((frames, n), np.uint8)
    iters = np.zeros(frames, np.int64)
    conv = np.zeros(frames, np.bool_)
    row_decoder.decode(code.mother, priors, syndromes, max_iterations, out, iters, conv)
    return out, iters, conv


def _lanes(
    code: RateAdaptedCode, syndromes: np.ndarray, priors: np.ndarray, max_iterations: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    graph = code.mother.graph
    frames = priors.shape[0]
    out = np.zeros((frames, graph.n), np.uint8)
    iters = np.zeros(frames, np.int64)
    conv = np.zeros(frames, np.bool_)
    decoder.decode_frames(graph.row_ptr, graph.col_idx, priors, syndromes, max_iterations,
                          decoder.MAX_LANES, out, iters, conv)
    return out, iters, conv


def _decodable(
    frames: int, frame_bits: int, seed: int, syndrome_seed: int
) -> tuple[RateAdaptedCode, np.ndarray, np.ndarray, np.ndarray]:
    """Frames at QBER 2 % on the code designed for 2.4 % (all decode): code, Alice's and
    Bob's frames, syndromes."""
    code = FAMILY.select(1.2 * 0.02, frame_bits, sample_bits=None)
    alice, bob = bsc_frames(frames, frame_bits, 0.02, seed=seed)
    return code, alice, bob, code.syndromes(alice, np.random.default_rng(syndrome_seed))


def _near_threshold(
    frames: int, excess: float, seed: int, syndrome_seed: int
) -> tuple[RateAdaptedCode, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """5-kbit frames at QBER 3 % × ``excess`` on the 3 % design code (some fail):
    code, Alice's and Bob's frames, syndromes and Bob's priors."""
    qber, frame_bits = 0.03, 5000
    code = FAMILY.select(qber, frame_bits, sample_bits=None)
    alice, bob = bsc_frames(frames, frame_bits, excess * qber, seed=seed)
    syndromes = code.syndromes(alice, np.random.default_rng(syndrome_seed))
    return code, alice, bob, syndromes, code.channel_llrs(bob, qber)


def test_layers_are_variable_disjoint_and_cover_every_edge_once() -> None:
    for qber, frame_bits in ((0.01, 20_000), (0.05, 5000)):
        graph = FAMILY.select(qber, frame_bits, sample_bits=None).mother.graph
        layers = row_decoder.build_row_layers(graph.row_ptr, graph.col_idx, graph.n)
        width = row_decoder.WIDTH
        assert layers.var_idx.shape == (layers.layer_ptr[-1], width)
        assert layers.check_idx.shape == (layers.layers, width)
        # Variables are renumbered (a permutation fixing the padding index n).
        np.testing.assert_array_equal(np.sort(layers.labels), np.arange(graph.n + 1))
        assert layers.labels[graph.n] == graph.n
        original = np.empty(graph.n + 1, np.int64)
        original[layers.labels] = np.arange(graph.n + 1)
        checks = layers.check_idx[layers.check_idx >= 0]
        np.testing.assert_array_equal(np.sort(checks), np.arange(graph.m))  # each check once
        edges = 0
        for ell in range(layers.layers):
            block = original[layers.var_idx[layers.layer_ptr[ell]:layers.layer_ptr[ell + 1]]]
            # No variable in two checks of a layer (a few graphs hold a double edge, a
            # variable twice in one check: that stays within its lane, as in decode_frames).
            used = np.concatenate([np.unique(col[col < graph.n]) for col in block.T])
            assert np.unique(used).size == used.size
            for k in range(width):
                c = layers.check_idx[ell, k]
                column = block[:, k]
                if c < 0:
                    assert np.all(column == graph.n)  # padding lane
                    continue
                expected = graph.col_idx[graph.row_ptr[c]:graph.row_ptr[c + 1]]
                real = column[column < graph.n]
                np.testing.assert_array_equal(real, expected)  # the check's edges, in order
                edges += real.size
        assert edges == graph.edges
        # Padding stays moderate: each layer holds checks of one degree, and only layers
        # that no further check fits into are short (≈ 14 % on these small codes, ≈ 1 % at
        # 100 kbit where a layer covers a smaller share of the variables).
        assert layers.padded_edges < 1.25 * graph.edges


def test_row_kernel_decodesbsc_frames() -> None:
    qber = 0.02
    code, alice, bob, syndromes = _decodable(3, 20_000, seed=4, syndrome_seed=1)
    out, iters, conv = _rows(code, syndromes, code.channel_llrs(bob, qber), 200)
    assert conv.all()
    assert np.all((iters >= 1) & (iters < 100))
    np.testing.assert_array_equal(out[:, code.key_positions], alice)


def test_row_kernel_agrees_with_lane_kernel_on_which_frames_converge() -> None:
    """Near the threshold some frames fail; the row kernel (same arithmetic, other check
    order) must fail the same frames up to rare borderline cases, with similar iterations."""
    code, alice, _, syndromes, priors = _near_threshold(24, 1.1, seed=8, syndrome_seed=2)
    rows = _rows(code, syndromes, priors, 60)
    lanes = _lanes(code, syndromes, priors, 60)
    assert 0 < lanes[2].sum() < 24  # both outcomes occur
    assert np.sum(rows[2] != lanes[2]) <= 2
    both = rows[2] & lanes[2]
    np.testing.assert_array_equal(rows[0][both][:, code.key_positions], alice[both])
    assert abs(rows[1][both].mean() - lanes[1][both].mean()) < 0.25 * lanes[1][both].mean()


def test_row_kernel_reports_a_frame_beyond_capacity_as_not_converged() -> None:
    frame_bits = 5000
    code = FAMILY.select(0.01, frame_bits, sample_bits=None)
    alice, bob = bsc_frames(2, frame_bits, 0.06, seed=3)
    out, iters, conv = _rows(code, code.syndromes(alice), code.channel_llrs(bob, 0.01), 30)
    assert not conv.any()
    assert np.all(iters == 30)
    assert not np.array_equal(out[0, code.key_positions], alice[0])


def test_a_frames_result_does_not_depend_on_the_frame_decoded_before_it() -> None:
    qber = 0.03
    code = FAMILY.select(qber, 5000, sample_bits=None)
    alice, bob = bsc_frames(4, 5000, 1.15 * qber, seed=33)
    syndromes = code.syndromes(alice, np.random.default_rng(3))
    priors = code.channel_llrs(bob, qber)
    forward = _rows(code, syndromes, priors, 60)
    backward = _rows(code, syndromes[::-1].copy(), priors[::-1].copy(), 60)
    for a, b in zip(forward, backward, strict=True):
        np.testing.assert_array_equal(a, b[::-1])


def test_decode_many_picks_the_row_kernel_for_few_frames() -> None:
    qber = 0.02
    code, _, bob, syndromes = _decodable(2, 5000, seed=12, syndrome_seed=6)
    out, iters, conv = _rows(code, syndromes, code.channel_llrs(bob, qber), 200)
    for kernel in ("auto", "rows"):
        results = code.decode_many(syndromes, bob, qber, kernel=kernel)
        assert [r.iterations for r in results] == iters.tolist()
        assert [r.converged for r in results] == conv.tolist()
        np.testing.assert_array_equal(np.stack([r.bits for r in results]),
                                      out[:, code.key_positions])
    assert all(r.converged for r in code.decode_many(syndromes, bob, qber, kernel="lanes"))
    with np.testing.assert_raises(ValueError):
        code.decode_many(syndromes, bob, qber, kernel="columns")


def test_lane_kernel_hands_slow_frames_to_the_row_kernel(monkeypatch) -> None:
    """A frame the lane kernel has not solved within HANDOFF_ITERATIONS leaves its lane
    (iterations -1, nothing written) and decode_many finishes it with the row kernel: its
    result is then exactly the row kernel's, the others' exactly the lane kernel's."""
    from satqkd.distill.ldpc import code as code_module

    code, _, bob, syndromes, priors = _near_threshold(20, 1.05, seed=21, syndrome_seed=5)
    qber = 0.03
    lanes = _lanes(code, syndromes, priors, 200)
    rows = _rows(code, syndromes, priors, 200)
    limit = int(np.median(lanes[1]))
    slow = lanes[1] > limit
    assert 0 < slow.sum() < 20

    graph = code.mother.graph
    out = np.zeros((20, graph.n), np.uint8)
    iters = np.zeros(20, np.int64)
    conv = np.zeros(20, np.bool_)
    decoder.decode_frames(graph.row_ptr, graph.col_idx, priors, syndromes, 200,
                          decoder.MAX_LANES, out, iters, conv, limit)
    np.testing.assert_array_equal(iters < 0, slow)
    np.testing.assert_array_equal(iters[~slow], lanes[1][~slow])
    np.testing.assert_array_equal(out[~slow], lanes[0][~slow])
    assert not out[slow].any()  # nothing written for a handed-off frame

    monkeypatch.setattr(code_module, "HANDOFF_ITERATIONS", limit)
    results = code.decode_many(syndromes, bob, qber, kernel="lanes")
    expected_iters = np.where(slow, rows[1], lanes[1])
    expected_bits = np.where(slow[:, None], rows[0], lanes[0])[:, code.key_positions]
    assert [r.iterations for r in results] == expected_iters.tolist()
    np.testing.assert_array_equal(np.stack([r.bits for r in results]), expected_bits)
    assert [r.converged for r in results] == np.where(slow, rows[2], lanes[2]).tolist()
