"""Privacy amplification: the fast Toeplitz hash against independent exact references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from satqkd.distill.amplification import (
    check_block_bits,
    leftover_hash_epsilon,
    toeplitz_hash,
    toeplitz_hash_direct,
    toeplitz_hash_fft,
    toeplitz_hash_reference,
    toeplitz_seed,
)
from satqkd.distill.gf2 import _clmul_sw, _plan
from satqkd.errors import InputError

SIZES = [(1, 1), (2, 1), (7, 3), (63, 63), (64, 64), (65, 2), (129, 128), (1000, 400),
         (1024, 1024), (3000, 1), (5000, 2500)]


def _random_case(rng: np.random.Generator, n: int, m: int):
    return rng.integers(0, 2, n, dtype=np.uint8), toeplitz_seed(n, m, rng)


def test_reference_is_the_textbook_toeplitz_matrix() -> None:
    rng = np.random.default_rng(1)
    n, m = 40, 17
    x, s = _random_case(rng, n, m)
    # T_ij = s[i − j + n − 1]: first column s[n−1 .. n+m−2], first row s[n−1], s[n−2], …, s[0]
    t = scipy.linalg.toeplitz(s[n - 1:], s[n - 1::-1]).astype(np.int64)
    assert np.array_equal(toeplitz_hash_reference(x, s, m), (t @ x) % 2)


@pytest.mark.parametrize(("n", "m"), SIZES)
def test_fast_hash_matches_dense_reference(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 7919 + m)
    x, s = _random_case(rng, n, m)
    expected = toeplitz_hash_reference(x, s, m)
    assert np.array_equal(toeplitz_hash(x, s, m), expected)
    assert np.array_equal(toeplitz_hash_fft(x, s, m), expected)
    assert np.array_equal(toeplitz_hash_direct(x, s, m), expected)


def test_all_ones_worst_case_for_the_fft() -> None:
    # the largest convolution values (all terms 1) are where float rounding would show first
    n, m = 200_000, 80_000
    x = np.ones(n, np.uint8)
    s = np.ones(n + m - 1, np.uint8)
    assert np.array_equal(toeplitz_hash(x, s, m), np.full(m, n % 2, np.uint8))
    assert np.array_equal(toeplitz_hash_fft(x, s, m), np.full(m, n % 2, np.uint8))


def test_exact_at_100_kbit_against_row_by_row_reference() -> None:
    rng = np.random.default_rng(100)
    n, m = 100_000, 41_234
    x, s = _random_case(rng, n, m)
    expected = toeplitz_hash_direct(x, s, m)
    assert np.array_equal(toeplitz_hash(x, s, m), expected)
    assert np.array_equal(toeplitz_hash_fft(x, s, m), expected)


def test_one_mbit_block_fast_against_fft() -> None:
    rng = np.random.default_rng(1000)
    n, m = 1_000_000, 400_000
    x, s = _random_case(rng, n, m)
    assert np.array_equal(toeplitz_hash(x, s, m), toeplitz_hash_fft(x, s, m))


def test_hash_is_linear_and_depends_on_every_input_bit() -> None:
    rng = np.random.default_rng(2)
    n, m = 3000, 1200
    x1, s = _random_case(rng, n, m)
    x2 = rng.integers(0, 2, n, dtype=np.uint8)
    assert np.array_equal(toeplitz_hash(x1 ^ x2, s, m),
                          toeplitz_hash(x1, s, m) ^ toeplitz_hash(x2, s, m))
    # a unit vector e_j picks column j of T: s[i − j + n − 1]
    for j in (0, 1, 63, 64, n - 1):
        e = np.zeros(n, np.uint8)
        e[j] = 1
        assert np.array_equal(toeplitz_hash(e, s, m), s[n - 1 - j:n - 1 - j + m])


def test_output_is_balanced() -> None:
    rng = np.random.default_rng(3)
    n, m = 200_000, 80_000
    x, s = _random_case(rng, n, m)
    y = toeplitz_hash(x, s, m)
    assert y.dtype == np.uint8 and set(np.unique(y)) <= {0, 1}
    assert abs(y.mean() - 0.5) < 5 * 0.5 / np.sqrt(m)


def test_tile_plan_covers_the_matrix() -> None:
    for n_words, m_words in [(1, 1), (3, 1), (1563, 625), (15625, 6250), (14063, 1)]:
        k, rows, cols = _plan(n_words, m_words)
        assert rows * k >= m_words and cols * k >= n_words
        c = k
        while c > 16 and c % 2 == 0:
            c //= 2
        assert c <= 16


def test_software_carry_less_multiply() -> None:
    rng = np.random.default_rng(4)
    for a, b in rng.integers(0, 2**63, size=(50, 2), dtype=np.uint64):
        a_int, b_int = int(a) | (1 << 63), int(b)
        expected = 0
        for k in range(64):
            if b_int >> k & 1:
                expected ^= a_int << k
        lo, hi = _clmul_sw(np.uint64(a_int), np.uint64(b_int))
        assert (int(hi) << 64) | int(lo) == expected


def test_seed_from_int_or_generator() -> None:
    a = toeplitz_seed(100, 40, 7)
    assert a.size == 139 and a.dtype == np.uint8
    assert np.array_equal(a, toeplitz_seed(100, 40, np.random.default_rng(7)))
    assert not np.array_equal(a, toeplitz_seed(100, 40, 8))


def test_bad_lengths() -> None:
    x = np.zeros(10, np.uint8)
    with pytest.raises(ValueError, match="seed must have"):
        toeplitz_hash(x, np.zeros(10, np.uint8), 5)
    with pytest.raises(ValueError, match="output length"):
        toeplitz_hash(x, np.zeros(20, np.uint8), 11)
    with pytest.raises(ValueError, match="output length"):
        toeplitz_seed(10, 0, 1)


@pytest.mark.parametrize("n_bits", [100_000, 500_000, 900_000])
def test_block_sizes_accepted(n_bits: int) -> None:
    check_block_bits(n_bits)


@pytest.mark.parametrize("n_bits", [0, 50_000, 150_000, 1_000_000, 99_999, True])
def test_block_sizes_rejected(n_bits: int) -> None:
    with pytest.raises(InputError, match="100 to 900 kbit"):
        check_block_bits(n_bits)


def test_leftover_hash_epsilon() -> None:
    assert leftover_hash_epsilon(1000.0, 1000 - 66) == pytest.approx(0.5 * 2.0**-33)
    assert leftover_hash_epsilon(10.0, 100) == 1.0
