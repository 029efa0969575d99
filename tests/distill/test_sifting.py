"""Sifting by pulse index and basis, the QBER sample, counts per intensity and basis."""

from __future__ import annotations

import numpy as np
import pytest

from satqkd.distill.estimation import DECOY, SIGNAL, VACUUM, DecoyCounts, X, Z
from satqkd.distill.sifting import (
    choose_sample,
    count_by_class,
    lookup_by_pulse,
    sample_qber,
    sift,
)


def test_lookup_and_sift_keep_matching_bases() -> None:
    sat_basis_table = np.array([0, 1, 1, 0, 1, 0, 0, 1], dtype=np.uint8)
    first = 1_000_000_000_000  # pulse indices are large uint64 numbers
    pulse_index = np.array([first + 1, first + 2, first + 5, first + 7], dtype=np.uint64)
    ground_basis = np.array([1, 0, 0, 0], dtype=np.uint8)
    sat_basis = lookup_by_pulse(pulse_index, sat_basis_table, first)
    np.testing.assert_array_equal(sat_basis, [1, 1, 0, 1])
    np.testing.assert_array_equal(sift(ground_basis, sat_basis), [True, False, True, False])


def test_lookup_rejects_pulses_outside_the_cache() -> None:
    with pytest.raises(IndexError):
        lookup_by_pulse(np.array([10], dtype=np.uint64), np.zeros(5), first_pulse_index=0)
    with pytest.raises(IndexError):
        lookup_by_pulse(np.array([3], dtype=np.uint64), np.zeros(5), first_pulse_index=4)


def test_sift_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError):
        sift(np.zeros(3), np.zeros(4))


def test_sifting_keeps_half_of_random_bases() -> None:
    rng = np.random.default_rng(1)
    n = 200_000
    kept = sift(rng.integers(0, 2, n), rng.integers(0, 2, n)).mean()
    assert kept == pytest.approx(0.5, abs=4 * 0.5 / np.sqrt(n))


def test_sample_has_exact_size_is_reproducible_and_uniform() -> None:
    mask = choose_sample(100_000, 0.1, seed=42)
    assert mask.dtype == bool and mask.sum() == 10_000
    np.testing.assert_array_equal(mask, choose_sample(100_000, 0.1, seed=42))
    assert not np.array_equal(mask, choose_sample(100_000, 0.1, seed=43))
    # uniform over positions: each tenth of the block gets ≈ 1000 samples
    per_tenth = mask.reshape(10, -1).sum(1)
    assert np.all(np.abs(per_tenth - 1000) < 5 * np.sqrt(1000))
    assert choose_sample(0, 0.1, seed=1).shape == (0,)
    assert choose_sample(7, 0.25, seed=np.random.default_rng(0)).sum() == 2
    with pytest.raises(ValueError):
        choose_sample(10, 1.5)


def test_sample_qber_is_unbiased() -> None:
    rng = np.random.default_rng(5)
    n = 500_000
    sat_bits = rng.integers(0, 2, n, dtype=np.uint8)
    flips = rng.random(n) < 0.012
    ground_bits = sat_bits ^ flips
    mask = choose_sample(n, 0.1, seed=6)
    errors, size, qber = sample_qber(sat_bits, ground_bits, mask)
    assert size == 50_000 and errors == int(flips[mask].sum())
    assert qber == pytest.approx(0.012, abs=4 * np.sqrt(0.012 / size))
    assert np.isnan(sample_qber(sat_bits, ground_bits, np.zeros(n, bool))[2])


def test_count_by_class_matches_a_direct_count() -> None:
    rng = np.random.default_rng(9)
    n = 10_000
    intensity = rng.choice(3, n, p=[0.5, 0.25, 0.25]).astype(np.uint8)
    basis = rng.integers(0, 2, n).astype(np.uint8)
    errors = rng.random(n) < 0.02
    counts = count_by_class(intensity, basis, errors, pulses_sent=123)
    for j in (SIGNAL, DECOY, VACUUM):
        for b in (Z, X):
            cell = (intensity == j) & (basis == b)
            assert counts.detections[j, b] == cell.sum()
            assert counts.errors[j, b] == (cell & errors).sum()
    assert counts.total_detections == n and counts.pulses_sent == 123
    assert count_by_class(intensity, basis).errors.sum() == 0


def test_count_by_class_validates() -> None:
    with pytest.raises(ValueError):
        count_by_class(np.array([3]), np.array([0]))
    with pytest.raises(ValueError):
        count_by_class(np.array([0, 1]), np.array([0]))


def test_counts_accumulate_and_validate() -> None:
    a = DecoyCounts(np.full((3, 2), 10), np.full((3, 2), 1), 1000)
    b = DecoyCounts(np.full((3, 2), 5), np.zeros((3, 2)), 500)
    total = DecoyCounts.zeros() + a + b
    assert total == DecoyCounts(np.full((3, 2), 15), np.full((3, 2), 1), 1500)
    assert total.qber == pytest.approx(6 / 90)
    assert (a + DecoyCounts(np.ones((3, 2)), np.zeros((3, 2)))).pulses_sent is None
    with pytest.raises(ValueError):
        DecoyCounts(np.full((3, 2), 1), np.full((3, 2), 2))  # more errors than detections
    with pytest.raises(ValueError):
        DecoyCounts(np.full((3, 2), -1), np.zeros((3, 2)))
    with pytest.raises(ValueError):
        DecoyCounts(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError):
        a.detections[0, 0] = 3  # read-only
    assert a.as_dict()["detections"] == {
        "signal": {"Z": 10, "X": 10},
        "decoy": {"Z": 10, "X": 10},
        "vacuum": {"Z": 10, "X": 10},
    }
