"""The SIMD check update of the LDPC decoder against a float64 sum-product reference."""

from __future__ import annotations

import numpy as np
import pytest
from sum_product import CHECK_CASES, R_CAP, reference_messages  # tests/distill/sum_product.py

from satqkd.distill.ldpc import decoder

W = decoder.WIDTH


def _update(
    L: np.ndarray, R: np.ndarray, target: np.ndarray, first_sweep: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One check over edges 0..d−1 on variables 0..d−1; returns new L, R and flags."""
    d = L.shape[0]
    L, R = L.copy(), R.copy()
    rfac = np.full((1, W), 0.0 if first_sweep else 1.0 / 1024.0, np.float32)
    tsign = np.where(target, np.int32(-(2**31)), np.int32(0)).astype(np.int32)[None, :]
    flags = np.zeros((1, W), np.int32)
    decoder._check_update(0, d, 0, np.arange(d, dtype=np.int32), L, R, rfac, tsign,
                          np.empty((3 * d, W), np.float32), flags)
    return L, R, flags


@pytest.mark.parametrize(("degree", "lo", "hi", "erased"), CHECK_CASES)
def test_check_update_matches_float64_sum_product(
    degree: int, lo: float, hi: float, erased: float
) -> None:
    """Stored messages R/1024 agree with the float64 formula to 2⁻¹¹ (int16 rounding) plus
    1e-3·|R| (float32 cancellation in 1 − Π tanh when every input is reliable; the division
    kernel it replaced erred by up to 2e-3·|R| on the same inputs), posteriors are Q + R̂, and
    the parity flag is the check of the hard decisions of the posteriors written."""
    rng = np.random.default_rng(degree + int(10 * hi))
    for _ in range(10):
        magnitude = rng.uniform(lo, hi, size=(degree, W))
        q = (magnitude * rng.choice([-1.0, 1.0], size=(degree, W))).astype(np.float32)
        q[rng.random((degree, W)) < erased] = 0.0  # punctured bits: no information
        target = rng.random(W) < 0.5
        # Second sweep: the old messages are subtracted first, Q = L − R_old/1024.
        r_old = rng.integers(-4000, 4000, size=(degree, W)).astype(np.int16)
        L_in = (q + r_old.astype(np.float32) / np.float32(1024.0)).astype(np.float32)
        q = L_in - r_old.astype(np.float32) / np.float32(1024.0)
        L, R, flags = _update(L_in, r_old, target, first_sweep=False)
        ref = reference_messages(q, target)
        got = R.astype(np.float64) / 1024.0
        assert np.all(np.abs(got - ref) <= 2.0**-11 + 1e-3 * np.abs(ref) + 1e-9)
        np.testing.assert_allclose(L, q + R.astype(np.float32) / np.float32(1024.0),
                                   rtol=0, atol=2e-6)
        odd = (np.sum(np.signbit(L), axis=0) + target) % 2 == 1
        np.testing.assert_array_equal(flags[0] < 0, odd)


def test_first_sweep_ignores_stale_messages() -> None:
    """With the lane's message factor 0 (a frame just loaded), old R is read as zero."""
    rng = np.random.default_rng(1)
    q = rng.normal(2.0, 3.0, size=(20, W)).astype(np.float32)
    target = rng.random(W) < 0.5
    stale = rng.integers(-30000, 30000, size=(20, W)).astype(np.int16)
    _, R_stale, _ = _update(q, stale, target, first_sweep=True)
    _, R_zero, _ = _update(q, np.zeros_like(stale), target, first_sweep=True)
    np.testing.assert_array_equal(R_stale, R_zero)
    error = np.abs(R_zero / 1024.0 - reference_messages(q, target))
    assert np.all(error <= 2.0**-11 + 1e-3 * R_CAP)


def test_half_precision_posteriors_round_like_numpy_float16() -> None:
    """The kernel stores posteriors as IEEE half bits (uint16): loads widen them exactly,
    stores round to nearest like numpy's float16, and an update on half posteriors gives the
    float32 update's messages and its posteriors rounded to half precision."""
    from numba import njit

    from satqkd.distill.ldpc.simd import half_bits, load, store

    @njit
    def through(src: np.ndarray, dst: np.ndarray, scalar_out: np.ndarray) -> None:
        store(dst, 0, load(src, 0))
        for k in range(src.shape[1]):
            scalar_out[k] = half_bits(src[0, k])

    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(0, 30, size=W - 4), [0.0, -0.0, 1e-6, 70000.0]])
    x = x.astype(np.float32)[None, :]
    vec, scalar = np.zeros((1, W), np.uint16), np.zeros(W, np.uint16)
    through(x, vec, scalar)
    with np.errstate(over="ignore"):
        expected = x.astype(np.float16).view(np.uint16)
    np.testing.assert_array_equal(vec, expected)
    np.testing.assert_array_equal(scalar, expected[0])

    degree, target = 20, rng.random(W) < 0.5
    q = (rng.uniform(0, 12, size=(degree, W)) * rng.choice([-1, 1], size=(degree, W)))
    L_half = q.astype(np.float16)
    L32, R32, flags32 = _update(L_half.astype(np.float32), np.zeros((degree, W), np.int16),
                                target, first_sweep=True)
    Lh, Rh, flagsh = _update(L_half.view(np.uint16), np.zeros((degree, W), np.int16),
                             target, first_sweep=True)
    np.testing.assert_array_equal(Rh, R32)
    np.testing.assert_array_equal(Lh.view(np.float16), L32.astype(np.float16))
    np.testing.assert_array_equal(flagsh, flags32)
