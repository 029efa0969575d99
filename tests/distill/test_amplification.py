"""Privacy amplification: the fast Toeplitz hash against plain, independent exact references."""

from __future__ import annotations

import os
import subprocess
import sys

import numba
import numpy as np
import pytest
import scipy.linalg

from satqkd.distill import amplification, clmul, gf2
from satqkd.distill.amplification import (
    check_block_bits,
    leftover_hash_epsilon,
    toeplitz_hash,
    toeplitz_hash_direct,
    toeplitz_hash_fft,
    toeplitz_hash_reference,
    toeplitz_rows_direct,
    toeplitz_seed,
)
from satqkd.errors import InputError

# (n, m): odd lengths, lengths around word and base-block (64-word = 4096-bit) boundaries
SMALL_SIZES = [(1, 1), (2, 1), (7, 3), (63, 63), (64, 64), (65, 2), (129, 128), (1000, 400),
               (1024, 1024), (3000, 1), (4095, 4001), (4097, 1500)]
# sizes that go through one or more Karatsuba levels, checked row by row
MEDIUM_SIZES = [(8191, 2731), (12_345, 12_345), (33_333, 1), (50_001, 17_777), (65_536, 65_536)]
BLOCK_SIZES = list(range(100_000, 900_001, 100_000))


def _random_case(rng: np.random.Generator, n: int, m: int):
    return rng.integers(0, 2, n, dtype=np.uint8), toeplitz_seed(n, m, rng)


def _python_clmul(a: int, b: int) -> int:
    product = 0
    for k in range(64):
        if b >> k & 1:
            product ^= a << k
    return product


def test_reference_is_the_textbook_toeplitz_matrix() -> None:
    rng = np.random.default_rng(1)
    n, m = 40, 17
    x, s = _random_case(rng, n, m)
    # T_ij = s[i − j + n − 1]: first column s[n−1 .. n+m−2], first row s[n−1], s[n−2], …, s[0]
    t = scipy.linalg.toeplitz(s[n - 1:], s[n - 1::-1]).astype(np.int64)
    assert np.array_equal(toeplitz_hash_reference(x, s, m), (t @ x) % 2)
    assert np.array_equal(toeplitz_hash_direct(x, s, m), (t @ x) % 2)


@pytest.mark.parametrize(("n", "m"), SMALL_SIZES)
def test_fast_hash_matches_dense_matrix(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 7919 + m)
    x, s = _random_case(rng, n, m)
    expected = toeplitz_hash_reference(x, s, m)
    assert np.array_equal(toeplitz_hash(x, s, m), expected)
    assert np.array_equal(toeplitz_hash_fft(x, s, m), expected)
    assert np.array_equal(toeplitz_hash_direct(x, s, m), expected)


@pytest.mark.parametrize(("n", "m"), MEDIUM_SIZES)
def test_fast_hash_matches_row_by_row_reference(n: int, m: int) -> None:
    rng = np.random.default_rng(n + 31 * m)
    x, s = _random_case(rng, n, m)
    assert np.array_equal(toeplitz_hash(x, s, m), toeplitz_hash_direct(x, s, m))


def _check_rows(n: int, m: int) -> list[int]:
    """Rows to check directly: ends, both sides of every tile boundary, and random ones."""
    k, rows, _ = gf2._plan(-(-n // 64), -(-m // 64))
    edges = [r for p in range(1, rows) for r in (64 * k * p - 1, 64 * k * p)]
    rng = np.random.default_rng(m)
    return sorted({0, 1, 63, 64, m - 2, m - 1, *edges, *rng.integers(0, m, 1000).tolist()})


@pytest.mark.parametrize("n", BLOCK_SIZES)
def test_every_block_size_is_exact(n: int) -> None:
    # the protocol's shape: output ~30 % of the input, an odd output length
    m = 3 * n // 10 + 7
    rng = np.random.default_rng(n)
    x, s = _random_case(rng, n, m)
    y = toeplitz_hash(x, s, m)
    rows = np.array(_check_rows(n, m))
    assert np.array_equal(y[rows], toeplitz_rows_direct(x, s, m, rows))
    assert np.array_equal(y, toeplitz_hash_fft(x, s, m))


@pytest.mark.parametrize(("n", "fraction"), [(500_000, 0.2), (500_000, 0.4), (900_000, 0.4)])
def test_other_output_fractions(n: int, fraction: float) -> None:
    m = int(fraction * n) - 3
    rng = np.random.default_rng(n + m)
    x, s = _random_case(rng, n, m)
    y = toeplitz_hash(x, s, m)
    rows = np.array(_check_rows(n, m))
    assert np.array_equal(y[rows], toeplitz_rows_direct(x, s, m, rows))
    assert np.array_equal(y, toeplitz_hash_fft(x, s, m))


def test_exact_at_100_kbit_against_all_rows() -> None:
    rng = np.random.default_rng(100)
    n, m = 100_000, 41_234
    x, s = _random_case(rng, n, m)
    expected = toeplitz_hash_direct(x, s, m)
    assert np.array_equal(toeplitz_hash(x, s, m), expected)
    assert np.array_equal(toeplitz_hash_fft(x, s, m), expected)


def test_all_ones_worst_case_for_the_fft() -> None:
    # the largest convolution values (all terms 1) are where float rounding would show first
    n, m = 200_000, 80_000
    x = np.ones(n, np.uint8)
    s = np.ones(n + m - 1, np.uint8)
    assert np.array_equal(toeplitz_hash(x, s, m), np.full(m, n % 2, np.uint8))
    assert np.array_equal(toeplitz_hash_fft(x, s, m), np.full(m, n % 2, np.uint8))


def test_one_mbit_block_fast_against_fft() -> None:
    rng = np.random.default_rng(1000)
    n, m = 1_000_000, 400_000
    x, s = _random_case(rng, n, m)
    assert np.array_equal(toeplitz_hash(x, s, m), toeplitz_hash_fft(x, s, m))


def test_hash_is_linear_and_depends_on_every_input_bit() -> None:
    rng = np.random.default_rng(2)
    n, m = 9000, 5000
    x1, s = _random_case(rng, n, m)
    x2 = rng.integers(0, 2, n, dtype=np.uint8)
    assert np.array_equal(toeplitz_hash(x1 ^ x2, s, m),
                          toeplitz_hash(x1, s, m) ^ toeplitz_hash(x2, s, m))
    # a unit vector e_j picks column j of T: s[i − j + n − 1]
    for j in (0, 1, 63, 64, 4095, 4096, n - 1):
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
    for n_words, m_words in [(1, 1), (3, 1), (65, 65), (1563, 625), (15625, 6250), (14063, 1)]:
        k, rows, cols = gf2._plan(n_words, m_words)
        assert rows * k >= m_words and cols * k >= n_words
        c = k
        while c > gf2.BASE_WORDS:
            assert c % 2 == 0
            c //= 2


@pytest.mark.parametrize("k_words", [2, 38, 64, 5 * 64])
def test_kernel_ignores_the_words_around_a_seed_window(k_words: int) -> None:
    # the direct kernel's loads run past the window; those words must never reach the output
    rng = np.random.default_rng(k_words)
    slack = gf2.SLACK_WORDS
    u = rng.integers(0, 2**63, 2 * k_words + 2 * slack, dtype=np.uint64)
    x = rng.integers(0, 2**63, k_words, dtype=np.uint64)
    outputs = []
    for fill in (0, 2**64 - 1):
        u[:slack] = u[-slack:] = np.uint64(fill)
        y = np.empty(k_words, dtype=np.uint64)
        gf2._tmvp(u[slack:-slack], x, y, np.full(4 * k_words + slack, 7, np.uint64),
                  np.empty(2 * gf2.BASE_WORDS + 16, np.uint64))
        outputs.append(y)
    assert np.array_equal(outputs[0], outputs[1])
    # and the words are the middle product: y = words K..2K−1 of U·X (bit 0 of u unused)
    u_int = int.from_bytes(u[slack:-slack].astype("<u8").tobytes(), "little")
    x_int = int.from_bytes(x.astype("<u8").tobytes(), "little")
    product = 0
    while x_int:
        low = x_int & -x_int
        product ^= u_int << (low.bit_length() - 1)
        x_int ^= low
    middle = (product >> (64 * k_words)) & ((1 << (64 * k_words)) - 1)
    assert int.from_bytes(outputs[0].astype("<u8").tobytes(), "little") == middle


def test_word_packing_at_any_bit_offset() -> None:
    rng = np.random.default_rng(5)
    bits = rng.integers(0, 2, 1000, dtype=np.uint8)
    for offset in (0, 1, 63, 64, 65, 130):
        words = gf2.pack_words(bits, 20, offset)
        unpacked = gf2.unpack_words(words, 1280)
        assert not unpacked[:offset].any() and not unpacked[offset + 1000:].any()
        assert np.array_equal(unpacked[offset:offset + 1000], bits)
    with pytest.raises(ValueError, match="do not fit"):
        gf2.pack_words(bits, 15, 100)


def test_software_carry_less_multiply() -> None:
    rng = np.random.default_rng(4)
    for a, b in rng.integers(0, 2**63, size=(50, 2), dtype=np.uint64):
        a_int, b_int = int(a) | (1 << 63), int(b)
        lo, hi = clmul.clmul_soft(np.uint64(a_int), np.uint64(b_int))
        assert (int(hi) << 64) | int(lo) == _python_clmul(a_int, b_int)


def _lanewise(vclmul):  # type: ignore[no-untyped-def]
    @numba.njit
    def run(a, b, out):  # type: ignore[no-untyped-def]
        for i in range(0, a.shape[0], 8):
            clmul.vstore(out, i, vclmul(clmul.vload(a, i), clmul.vload(b, i)))

    return run


@pytest.mark.parametrize("mode", clmul.available_modes())
def test_vector_carry_less_multiply_in_every_mode(mode: str) -> None:
    rng = np.random.default_rng(6)
    a = rng.integers(0, 2**64, 32, dtype=np.uint64, endpoint=False)
    b = rng.integers(0, 2**64, 32, dtype=np.uint64, endpoint=False)
    a[:2] = np.uint64(2**64 - 1)  # all-ones words: the longest carry-less product
    b[:2] = np.uint64(2**64 - 1)
    for imm in (0x00, 0x01, 0x10, 0x11):
        out = np.empty_like(a)
        _lanewise(clmul.make_vclmul(imm, mode))(a, b, out)
        for lane in range(0, 32, 2):
            product = _python_clmul(int(a[lane + (imm & 1)]), int(b[lane + (imm >> 4)]))
            assert int(out[lane]) | int(out[lane + 1]) << 64 == product


def test_mode_follows_cpu_features() -> None:
    assert clmul.available_modes()[0] == clmul.CLMUL_MODE
    assert "soft" in clmul.available_modes()
    assert clmul._supported("vpclmul512", {"pclmul", "vpclmulqdq", "avx512f"})
    assert not clmul._supported("vpclmul256", {"pclmul", "vpclmulqdq", "avx512f"})
    assert not clmul._supported("pclmul", set())
    with pytest.raises(ValueError, match="unknown"):
        clmul.make_vclmul(0, "neon")


def test_without_carry_less_multiply_the_fft_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    x, s = _random_case(rng, 5000, 2000)
    expected = toeplitz_hash_direct(x, s, 2000)

    def refuse(*args: object) -> None:
        raise AssertionError("gf2 path used")

    monkeypatch.setattr(clmul, "CLMUL_MODE", "soft")
    monkeypatch.setattr(amplification, "toeplitz_gf2", refuse)
    assert np.array_equal(toeplitz_hash(x, s, 2000), expected)


def test_software_mode_kernel_on_a_generic_cpu() -> None:
    # numba told to compile for a generic CPU: no carry-less instruction, the soft lanes
    script = (
        "import numpy as np\n"
        "from satqkd.distill import clmul, gf2\n"
        "from satqkd.distill.amplification import toeplitz_hash_direct, toeplitz_seed\n"
        "assert clmul.CLMUL_MODE == 'soft', clmul.CLMUL_MODE\n"
        "rng = np.random.default_rng(8)\n"
        "n, m = 9000, 4321\n"
        "x = rng.integers(0, 2, n, dtype=np.uint8)\n"
        "s = toeplitz_seed(n, m, rng)\n"
        "assert np.array_equal(gf2.toeplitz_gf2(x, s, m), toeplitz_hash_direct(x, s, m))\n"
    )
    env = {**os.environ, "NUMBA_CPU_NAME": "generic"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_seed_from_int_or_generator() -> None:
    a = toeplitz_seed(100, 40, 7)
    assert a.size == 139 and a.dtype == np.uint8
    assert np.array_equal(a, toeplitz_seed(100, 40, np.random.default_rng(7)))
    assert not np.array_equal(a, toeplitz_seed(100, 40, 8))


def test_bad_arguments() -> None:
    x = np.zeros(10, np.uint8)
    with pytest.raises(ValueError, match="seed must have"):
        toeplitz_hash(x, np.zeros(10, np.uint8), 5)
    with pytest.raises(ValueError, match="output length"):
        toeplitz_hash(x, np.zeros(20, np.uint8), 11)
    with pytest.raises(ValueError, match="output length"):
        toeplitz_seed(10, 0, 1)
    with pytest.raises(ValueError, match="one bit"):
        toeplitz_hash(np.full(10, 2, np.uint8), np.zeros(14, np.uint8), 5)
    with pytest.raises(ValueError, match="rows must be"):
        toeplitz_rows_direct(x, np.zeros(14, np.uint8), 5, np.array([5]))


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
