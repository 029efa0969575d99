"""Tests of the LDPC reconciliation codes, rate adaptation and sum-product decoder."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import scipy.sparse as sp
from bsc import bsc_frames  # tests/distill/bsc.py

from satqkd.distill.ldpc import (
    CodeFamily,
    DecodeResult,
    RateAdaptedCode,
    binary_entropy,
    efficiency,
)
from satqkd.errors import InputError

FAMILY = CodeFamily.default()


def _parity_matrix(code: RateAdaptedCode) -> sp.csr_matrix:
    graph = code.mother.graph
    ones = np.ones(graph.edges, np.int64)
    return sp.csr_matrix((ones, graph.col_idx, graph.row_ptr), shape=(graph.m, graph.n))


def test_syndrome_is_h_times_x_mod_2() -> None:
    code = FAMILY.select(0.02, 3000, sample_bits=None)
    alice, _ = bsc_frames(3, 3000, 0.0, seed=1)
    syndromes = code.syndromes(alice, np.random.default_rng(5))
    # Rebuild the full codeword words (same punctured bits from the same seed).
    punct = np.random.default_rng(5).integers(0, 2, size=(3, code.punctured), dtype=np.uint8)
    words = np.zeros((3, code.mother.n), np.int64)
    words[:, code.key_positions] = alice
    words[:, code.punctured_positions] = punct
    expected = (_parity_matrix(code) @ words.T).T % 2
    np.testing.assert_array_equal(syndromes, expected)
    # Linearity: s(a ⊕ b) = s(a) ⊕ s(b) when the punctured bits are zero.
    plain = RateAdaptedCode(code.mother, 3000, 0, 0.02)
    a, b = alice[0], alice[1]
    np.testing.assert_array_equal(
        plain.syndrome(a ^ b), plain.syndrome(a) ^ plain.syndrome(b)
    )


def test_graph_has_requested_sizes_and_no_four_cycles_in_small_code() -> None:
    from satqkd.distill.ldpc.construction import count_four_cycles_hint

    code = FAMILY.select(0.03, 20_000, sample_bits=None)
    graph = code.mother.graph
    assert graph.col_idx.size == graph.row_ptr[-1]
    degrees = graph.check_degrees()
    assert degrees.max() - degrees.min() <= 1  # concentrated check degrees
    assert count_four_cycles_hint(graph) <= graph.edges // 1000


def test_punctured_positions_are_untainted() -> None:
    """No two punctured bits share a check, which makes leak = m − p exact."""
    code = FAMILY.select(0.015, 20_000, sample_bits=None)
    assert code.punctured > 0
    h = _parity_matrix(code).tocsc()
    touched = np.concatenate([h[:, [v]].indices for v in code.punctured_positions])
    assert np.unique(touched).size == touched.size
    assert set(code.punctured_positions).isdisjoint(code.shortened_positions)
    assert code.key_positions.size == code.frame_bits


@pytest.mark.parametrize("kernel", ["lanes", "rows"])
@pytest.mark.parametrize("qber", [0.01, 0.03])
def test_decode_recovers_alice_frames(qber: float, kernel: str) -> None:
    frame_bits = 20_000
    alice, bob = bsc_frames(6, frame_bits, qber, seed=int(qber * 1000))
    # Short frames need more margin than 100-kbit ones: code for a 20 % higher QBER.
    code = FAMILY.select(1.2 * qber, frame_bits, sample_bits=None)
    syndromes = code.syndromes(alice)
    results = code.decode_many(syndromes, bob, qber, kernel=kernel)
    for sent, result in zip(alice, results, strict=True):
        assert isinstance(result, DecodeResult)
        assert result.converged
        np.testing.assert_array_equal(result.bits, sent)
        assert 1 <= result.iterations < 100
    single = code.decode(syndromes[0], bob[0], qber)
    np.testing.assert_array_equal(single.bits, alice[0])


def test_decode_100_kbit_frames_with_estimated_qber() -> None:
    qber = 0.02
    alice, bob = bsc_frames(3, 100_000, qber, seed=7)
    estimate = np.random.default_rng(8).binomial(10_000, qber) / 10_000
    code = FAMILY.select(estimate, 100_000, sample_bits=10_000)
    results = code.decode_many(code.syndromes(alice), bob, estimate)
    assert all(r.converged for r in results)
    for sent, result in zip(alice, results, strict=True):
        np.testing.assert_array_equal(result.bits, sent)
    # f_design(2 %) ≈ 1.16 times the 1.5σ sampling margin (H(2.2 %)/H(2 %) ≈ 1.07 at N = 10 000).
    assert code.efficiency(qber) < 1.35


def test_design_efficiency_is_met_at_the_design_qber() -> None:
    """At the exactly known design QBER the leak is f_design · F · H and frames decode."""
    qber = 0.02
    code = FAMILY.select(qber, 100_000, sample_bits=None)
    assert code.efficiency(qber) <= 1.20  # the README's stated bound at 2 %
    alice, bob = bsc_frames(4, 100_000, qber, seed=21)
    results = code.decode_many(code.syndromes(alice), bob, qber)
    for sent, result in zip(alice, results, strict=True):
        assert result.converged
        np.testing.assert_array_equal(result.bits, sent)


def test_construction_is_deterministic_without_the_cache() -> None:
    from satqkd.distill.ldpc.construction import build_graph
    from satqkd.distill.ldpc.distributions import node_fractions

    fractions = node_fractions(0.85)
    first = build_graph(3000, 450, fractions, seed=77)
    second = build_graph(3000, 450, fractions, seed=77)
    other = build_graph(3000, 450, fractions, seed=78)
    np.testing.assert_array_equal(first.row_ptr, second.row_ptr)
    np.testing.assert_array_equal(first.col_idx, second.col_idx)
    assert not np.array_equal(first.col_idx, other.col_idx)


def test_density_evolution_brackets_the_regular_3_6_threshold() -> None:
    """BP threshold of the (3, 6) ensemble on the BSC is p* ≈ 0.084 (Richardson–Urbanke)."""
    from satqkd.distill.ldpc.density_evolution import converges

    assert converges(0.074, {3: 1.0}, 0.5, population=5000)
    assert not converges(0.094, {3: 1.0}, 0.5, population=5000)


def test_a_frames_result_does_not_depend_on_the_frames_decoded_before_it() -> None:
    """Lanes are reused without clearing their check messages (they are read as zero in the
    first sweep): decoding the frames in reverse order must give each frame the same result."""
    qber = 0.03
    code = FAMILY.select(qber, 5000, sample_bits=None)
    alice, bob = bsc_frames(10, 5000, qber * 1.15, seed=33)  # some frames fail
    syndromes = code.syndromes(alice, np.random.default_rng(3))
    forward = code.decode_many(syndromes, bob, qber, max_iterations=60, lanes=2,
                               kernel="lanes")
    backward = code.decode_many(syndromes[::-1], bob[::-1], qber, max_iterations=60, lanes=2,
                                kernel="lanes")
    assert len({r.converged for r in forward}) == 2  # both outcomes occur
    for a, b in zip(forward, backward[::-1], strict=True):
        assert (a.converged, a.iterations) == (b.converged, b.iterations)
        np.testing.assert_array_equal(a.bits, b.bits)


def test_discretised_density_evolution_brackets_the_regular_3_6_threshold() -> None:
    """Deterministic DE: (3, 6) on the BSC converges at p = 0.082, fails at p = 0.087."""
    from satqkd.distill.ldpc.discretised_de import Grid, evolve

    grid = Grid(0.1, 25.0)
    assert evolve(0.082, {3: 1.0}, 0.5, grid)[0]
    assert not evolve(0.087, {3: 1.0}, 0.5, grid)[0]


def test_frame_far_above_threshold_is_reported_not_converged() -> None:
    frame_bits = 5000
    code = FAMILY.select(0.01, frame_bits, sample_bits=None)
    alice, bob = bsc_frames(4, frame_bits, 0.06, seed=3)
    results = code.decode_many(code.syndromes(alice), bob, 0.01, max_iterations=30)
    for sent, result in zip(alice, results, strict=True):
        assert not result.converged
        assert result.iterations == 30
        assert not np.array_equal(result.bits, sent)


def test_description_round_trip_gives_identical_code() -> None:
    code = FAMILY.select(0.025, 10_000, sample_bits=10_000)
    message = json.loads(json.dumps(code.describe()))
    rebuilt = RateAdaptedCode.from_description(message)
    assert rebuilt.code_id == code.code_id
    assert rebuilt.leak_bits == code.leak_bits
    np.testing.assert_array_equal(rebuilt.key_positions, code.key_positions)
    np.testing.assert_array_equal(rebuilt.punctured_positions, code.punctured_positions)
    alice, _ = bsc_frames(1, 10_000, 0.0, seed=11)
    np.testing.assert_array_equal(
        rebuilt.syndrome(alice[0], np.random.default_rng(1)),
        code.syndrome(alice[0], np.random.default_rng(1)),
    )


def test_malformed_description_is_an_input_error() -> None:
    description = FAMILY.select(0.02, 4000, sample_bits=None).describe()
    with pytest.raises(InputError):
        RateAdaptedCode.from_description({**description, "scheme": "other"})
    with pytest.raises(InputError):
        RateAdaptedCode.from_description({**description, "shortened_bits": 1})
    with pytest.raises(InputError):
        RateAdaptedCode.from_description({k: v for k, v in description.items() if k != "seed"})


def test_select_is_monotonic_in_qber() -> None:
    qbers = np.linspace(0.004, 0.06, 25)
    leaks = [FAMILY.select(float(q), 20_000, sample_bits=10_000).leak_bits for q in qbers]
    assert all(b > a for a, b in itertools.pairwise(leaks))
    rates = [1 - leak / 20_000 for leak in leaks]
    assert all(b < a for a, b in itertools.pairwise(rates))


def test_select_margin_grows_when_sample_shrinks() -> None:
    small = FAMILY.select(0.02, 100_000, sample_bits=2_000)
    large = FAMILY.select(0.02, 100_000, sample_bits=200_000)
    exact = FAMILY.select(0.02, 100_000, sample_bits=None)
    assert small.leak_bits > large.leak_bits > exact.leak_bits
    with pytest.raises(InputError):
        FAMILY.select(0.3, 100_000)


def test_efficiency_and_leak_accounting() -> None:
    code = FAMILY.select(0.02, 100_000, sample_bits=None)
    assert code.leak_bits == code.syndrome_bits - code.punctured
    entropy = -0.02 * math.log2(0.02) - 0.98 * math.log2(0.98)
    assert binary_entropy(0.02) == pytest.approx(entropy)
    assert code.efficiency(0.02) == pytest.approx(code.leak_bits / (100_000 * entropy))
    assert efficiency(1000, 10_000, 0.02) == pytest.approx(1000 / (10_000 * entropy))
    # The leak is set to f_design · F · H(q) to within one bit.
    target = FAMILY.design_efficiency(0.02) * 100_000 * entropy
    assert abs(code.leak_bits - target) <= 1
