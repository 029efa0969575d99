"""Tests of the satellite's random numbers (Philox) and decoy-source photon statistics."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import stats

from satqkd.errors import InputError
from satqkd.photonics.rng import philox4x32_10, philox_uniform
from satqkd.photonics.source import (
    DecoySource,
    SourceRandomness,
    effective_vacuum_intensity,
    photon_number_pmf,
    sample_photon_numbers,
    sample_photon_numbers_given_nonzero,
)

JINAN1_PROBABILITIES = (0.5, 0.25, 0.25)
N = 1_000_000

# Known-answer vectors published with Random123 (tests/kat_vectors): counter, key, output.
KAT = [
    ([0, 0, 0, 0], (0, 0), [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    (
        [0xFFFFFFFF] * 4,
        (0xFFFFFFFF, 0xFFFFFFFF),
        [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD],
    ),
    (
        [0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344],
        (0xA4093822, 0x299F31D0),
        [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1],
    ),
]


@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_philox_matches_random123_known_answers(counter, key, expected) -> None:
    out = philox4x32_10(np.array([counter], dtype=np.uint32), key)
    assert out[0].tolist() == expected


@pytest.fixture(scope="module")
def jinan1_lookup() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # A block of indices above 2**32 so the counter's high word is exercised.
    index = np.arange(N, dtype=np.uint64) + np.uint64(187_000_000_000)
    return SourceRandomness(20220925, JINAN1_PROBABILITIES).lookup(index)


def test_class_frequencies_pass_chi_square(jinan1_lookup) -> None:
    cls, _, _ = jinan1_lookup
    observed = np.bincount(cls, minlength=3)
    expected = np.array(JINAN1_PROBABILITIES) * N
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_small_probability_class_is_resolved() -> None:
    randomness = SourceRandomness(7, (0.998, 0.001, 0.001))
    cls, _, _ = randomness.lookup(np.arange(N, dtype=np.uint64))
    counts = np.bincount(cls, minlength=3)
    # 1000 expected per rare class; 5 sigma of a Poisson count is ~160.
    assert abs(counts[1] - 1000) < 160
    assert abs(counts[2] - 1000) < 160


def test_basis_and_bit_balanced_and_independent(jinan1_lookup) -> None:
    cls, basis, bit = jinan1_lookup
    five_sigma = 5 * 0.5 / np.sqrt(N)
    assert abs(basis.mean() - 0.5) < five_sigma
    assert abs(bit.mean() - 0.5) < five_sigma
    table = np.zeros((3, 2, 2))
    np.add.at(table, (cls, basis, bit), 1)
    assert stats.chi2_contingency(table.reshape(3, 4)).pvalue > 1e-3
    assert stats.chi2_contingency(table.sum(axis=0)).pvalue > 1e-3


def test_no_correlation_between_neighbouring_pulses(jinan1_lookup) -> None:
    cls, basis, bit = jinan1_lookup
    bound = 5 / np.sqrt(N)
    for series in (cls.astype(float), basis.astype(float), bit.astype(float)):
        for lag in (1, 2, 64):
            r = np.corrcoef(series[:-lag], series[lag:])[0, 1]
            assert abs(r) < bound


def test_lookup_is_reproducible_and_order_free() -> None:
    randomness = SourceRandomness(123, JINAN1_PROBABILITIES)
    index = np.random.default_rng(0).integers(0, 2**40, 10_000, dtype=np.uint64)
    first = randomness.lookup(index)
    order = np.argsort(index)
    again = SourceRandomness(123, JINAN1_PROBABILITIES).lookup(index[order])
    for a, b in zip(first, again, strict=True):
        assert a.dtype == np.uint8
        np.testing.assert_array_equal(a[order], b)
    # Shape is preserved.
    assert randomness.lookup(index.reshape(100, 100))[0].shape == (100, 100)


def test_different_seeds_and_high_words_differ() -> None:
    index = np.arange(100_000, dtype=np.uint64)
    _, basis_a, bit_a = SourceRandomness(1, JINAN1_PROBABILITIES).lookup(index)
    _, basis_b, bit_b = SourceRandomness(2, JINAN1_PROBABILITIES).lookup(index)
    _, basis_c, _ = SourceRandomness(1 + 2**32, JINAN1_PROBABILITIES).lookup(index)
    _, basis_d, _ = SourceRandomness(1, JINAN1_PROBABILITIES).lookup(index + np.uint64(2**32))
    for other in (basis_b, basis_c, basis_d):
        assert abs(np.mean(basis_a == other) - 0.5) < 0.01
    assert abs(np.mean(bit_a == bit_b) - 0.5) < 0.01


def test_lookup_rate() -> None:
    randomness = SourceRandomness(5, JINAN1_PROBABILITIES)
    index = np.arange(5_000_000, dtype=np.uint64)
    randomness.lookup(index[:10])
    best_s = min(_timed(randomness.lookup, index) for _ in range(3))
    # 50 M/s is the requirement; the benchmark measures ~270 M/s on one core. The test keeps
    # a margin for a loaded CI machine while still catching a non-compiled fallback.
    assert index.size / best_s > 25e6


def _timed(fn, arg) -> float:
    t0 = time.perf_counter()
    fn(arg)
    return time.perf_counter() - t0


@pytest.mark.parametrize(
    ("probabilities", "seed"),
    [((0.5, 0.25, 0.2), 1), ((0.5, 0.6, -0.1), 1), ((0.5, 0.5), 1), (JINAN1_PROBABILITIES, -1)],
)
def test_bad_input_raises_input_error(probabilities, seed) -> None:
    with pytest.raises(InputError):
        SourceRandomness(seed, probabilities)


def test_extinction_ratio_sets_vacuum_floor() -> None:
    # Jinan-1: μ = 0.8 and ~29 dB give ω ≈ 0.001 (SPEC §3).
    assert effective_vacuum_intensity(0.8, 0.0, 29.0) == pytest.approx(0.8 * 10**-2.9)
    assert effective_vacuum_intensity(0.8, 0.0, 29.0) == pytest.approx(0.001, rel=0.01)
    assert effective_vacuum_intensity(0.8, 0.002, 29.0) == 0.002
    source = DecoySource((0.8, 0.1, 0.0), JINAN1_PROBABILITIES, 1, extinction_ratio_db=29.0)
    assert source.mean_photon_numbers[2] == pytest.approx(0.001007, rel=1e-3)


def test_intensity_fluctuation_per_pulse() -> None:
    source = DecoySource((0.8, 0.1, 0.001), JINAN1_PROBABILITIES, 9, intensity_fluctuation_rel=0.05)
    index = np.arange(200_000, dtype=np.uint64)
    cls, _, _ = source.lookup(index)
    mean = source.mean_photon_number(index)
    np.testing.assert_array_equal(mean, source.mean_photon_number(index))
    signal = mean[cls == 0] / 0.8
    assert signal.mean() == pytest.approx(1.0, abs=1e-3)
    assert signal.std() == pytest.approx(0.05, rel=0.02)
    # Strong fluctuation is clipped at zero, never negative.
    wild = DecoySource((0.8, 0.1, 0.001), JINAN1_PROBABILITIES, 9, intensity_fluctuation_rel=0.6)
    wild_mean = wild.mean_photon_number(index)
    assert wild_mean.min() == 0.0
    assert np.mean(wild_mean == 0.0) == pytest.approx(stats.norm.cdf(-1 / 0.6), abs=0.003)
    # Without fluctuation the mean is the class intensity exactly.
    plain = DecoySource((0.8, 0.1, 0.001), JINAN1_PROBABILITIES, 9)
    expected = np.array([0.8, 0.1, 0.001])[cls]
    np.testing.assert_array_equal(plain.mean_photon_number(index), expected)


def test_philox_uniform_streams_are_independent() -> None:
    index = np.arange(100_000, dtype=np.uint64)
    u0, u1 = philox_uniform(index, 3, 0)
    v0, _ = philox_uniform(index, 3, 1)
    assert u0.min() > 0.0 and u0.max() < 1.0
    assert stats.kstest(u0, "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(u0, u1)[0, 1]) < 0.02
    assert abs(np.corrcoef(u0, v0)[0, 1]) < 0.02


def test_poisson_photon_numbers() -> None:
    pmf = photon_number_pmf(np.array([0.8, 0.1, 0.001]), 20)
    np.testing.assert_allclose(pmf, stats.poisson.pmf(np.arange(21), [[0.8], [0.1], [0.001]]))
    np.testing.assert_allclose(pmf.sum(axis=1), 1.0)
    rng = np.random.default_rng(4)
    n = sample_photon_numbers(np.full(200_000, 0.8), rng)
    assert n.mean() == pytest.approx(0.8, abs=0.01)
    assert n.var() == pytest.approx(0.8, abs=0.02)


def test_zero_truncated_poisson() -> None:
    rng = np.random.default_rng(5)
    for mean in (0.001, 0.8, 3.0):
        n = sample_photon_numbers_given_nonzero(np.full(200_000, mean), rng)
        assert n.min() >= 1
        expected = stats.poisson.pmf(np.arange(1, 6), mean) / -np.expm1(-mean)
        observed = np.bincount(n, minlength=6)[1:6] / n.size
        np.testing.assert_allclose(observed, expected, atol=0.005)
