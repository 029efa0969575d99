"""Branch-free float32 exp, ln, tanh and atanh that LLVM can vectorise inside numba loops,
the same for whole :mod:`.simd` vectors (division-free), and a cache prefetch hint
(:func:`prefetch_row`).

Numba without Intel SVML calls scalar libm for ``math.exp``/``math.log``, which stops the
loop vectoriser. These versions use only arithmetic, comparisons (compiled to selects) and
float↔int bit casts, so a loop over frames compiles to AVX2/AVX-512 instructions. They are
accurate to about 1e-6 relative (exp) and 2e-6 absolute (ln), i.e. close to float32 round-off,
which keeps the decoder an *exact* sum-product decoder for all practical purposes.

The vector versions :func:`vexp_neg` and :func:`vln` take and return :data:`.simd.F32`
vectors and need no division: e^−x = 2^t with t = −x·log₂e split into ⌊t⌋ (added to the
exponent field) and a degree-5 polynomial for 2^f on [0, 1) (relative error ≈ 1e-7);
ln x = k ln 2 + ln m with x = 2^k·m, m ∈ [√½, √2) taken from the bit pattern and
ln m = u + u²·P(u), u = m − 1, P of degree 5 (absolute error ≈ 1e-6).

The scalar functions take and return ``np.float32`` scalars; call them from ``@njit`` code
compiled with ``error_model="numpy"`` (Python's division-by-zero checks also stop
vectorisation).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from satqkd.distill.ldpc import simd
from satqkd.distill.ldpc.simd import bits, fma, from_bits, to_float


@intrinsic
def _float_bits(typingctx: object, x: types.Type) -> tuple[object, object]:
    """Reinterpret a float32 as int32 (LLVM ``bitcast``)."""
    sig = types.int32(types.float32)

    def codegen(context: object, builder: ir.IRBuilder, signature: object, args: list) -> object:
        return builder.bitcast(args[0], ir.IntType(32))

    return sig, codegen


@intrinsic
def _bits_float(typingctx: object, x: types.Type) -> tuple[object, object]:
    """Reinterpret an int32 as float32 (LLVM ``bitcast``)."""
    sig = types.float32(types.int32)

    def codegen(context: object, builder: ir.IRBuilder, signature: object, args: list) -> object:
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


def _exp2_coefficients() -> tuple[float, ...]:
    """Degree-5 least-squares fit of 2^f on [0, 1] at Chebyshev nodes (error ≈ 1e-7)."""
    f = 0.5 + 0.5 * np.cos(np.pi * (np.arange(256) + 0.5) / 256)
    return tuple(float(c) for c in np.polyfit(f, 2.0**f, 5))


_E5, _E4, _E3, _E2, _E1, _E0 = (np.float32(c) for c in _exp2_coefficients())
_NEG_LOG2E = np.float32(-1.0 / math.log(2.0))
_LN2 = np.float32(math.log(2.0))
_ONE = np.float32(1.0)
_TWO = np.float32(2.0)
_HALF = np.float32(0.5)
_ZERO = np.float32(0.0)
_SIXTH = np.float32(1.0 / 6.0)
_THIRD = np.float32(1.0 / 3.0)
_FIFTH = np.float32(0.2)
_SEVENTH = np.float32(1.0 / 7.0)
_SQRT2 = np.float32(math.sqrt(2.0))
_F127 = np.float32(127.0)
_I23 = np.int32(23)
_I127 = np.int32(127)
_MANTISSA = np.int32(0x007FFFFF)
_EXPONENT0 = np.int32(0x3F800000)
#: Beyond this argument exp(−x) is below float32 resolution next to 1.
EXP_ARG_MAX = np.float32(20.0)
_SMALL_X = np.float32(0.03)
_SMALL_U = np.float32(0.1)


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def exp_neg(x: np.float32) -> np.float32:
    """e^−x for 0 ≤ x ≤ EXP_ARG_MAX (relative error ≈ 1e-6)."""
    t = x * _NEG_LOG2E
    whole = np.floor(t)
    f = t - whole
    p = ((((_E5 * f + _E4) * f + _E3) * f + _E2) * f + _E1) * f + _E0
    return p * _bits_float(np.int32(whole + _F127) << _I23)


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def ln(w: np.float32) -> np.float32:
    """Natural log of a positive normal float32 (absolute error ≈ 2e-6)."""
    b = _float_bits(w)
    k = np.int32(b >> _I23) - _I127
    m = _bits_float((b & _MANTISSA) | _EXPONENT0)
    big = m > _SQRT2
    m = m * _HALF if big else m
    kf = np.float32(k) + (_ONE if big else _ZERO)
    s = (m - _ONE) / (m + _ONE)
    s2 = s * s
    return kf * _LN2 + _TWO * s * (_ONE + s2 * (_THIRD + s2 * (_FIFTH + s2 * _SEVENTH)))


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def tanh_half(a: np.float32) -> np.float32:
    """tanh(a/2) = (1 − e^−a)/(1 + e^−a) for a ≥ 0, accurate also for small a."""
    a = min(a, EXP_ARG_MAX)
    e = exp_neg(a)
    one_minus_e = a * (_ONE - a * (_HALF - a * _SIXTH)) if a < _SMALL_X else _ONE - e
    return one_minus_e / (_ONE + e)


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def two_atanh(u: np.float32) -> np.float32:
    """2 atanh(u) = ln((1 + u)/(1 − u)) for 0 ≤ u < 1 (series for small u)."""
    u2 = u * u
    series = _TWO * u * (_ONE + u2 * (_THIRD + u2 * (_FIFTH + u2 * _SEVENTH)))
    return series if u < _SMALL_U else ln((_ONE + u) / (_ONE - u))



def _chebyshev_nodes(lo: float, hi: float, count: int) -> np.ndarray:
    return 0.5 * (lo + hi) + 0.5 * (hi - lo) * np.cos(np.pi * (np.arange(count) + 0.5) / count)


def _log_coefficients() -> tuple[np.float32, ...]:
    """P(u) with ln(1 + u) ≈ u + u²·P(u) on [√½ − 1, √2 − 1], degree 5, highest first."""
    u = _chebyshev_nodes(math.sqrt(0.5) - 1.0, math.sqrt(2.0) - 1.0, 400)
    return tuple(np.float32(c) for c in np.polyfit(u, (np.log1p(u) - u) / u**2, 5))


def _exp2_half_coefficients() -> tuple[np.float32, ...]:
    """2^f on [−½, ½], degree 5, highest power first."""
    f = _chebyshev_nodes(-0.5, 0.5, 256)
    return tuple(np.float32(c) for c in np.polyfit(f, 2.0**f, 5))


_L5, _L4, _L3, _L2, _L1, _L0 = _log_coefficients()
_X5, _X4, _X3, _X2, _X1, _X0 = _exp2_half_coefficients()
#: 1.5·2²³: adding it rounds a float with |t| < 2²² to an integer held in the low mantissa
#: bits, whose bits shifted left by 23 are exactly that integer in the exponent field.
_ROUNDER = np.float32(1.5 * 2.0**23)
#: Bit pattern of float32 √½: subtracting it puts the mantissa range at [√½, √2).
_SQRT_HALF_BITS = np.int32(np.array(math.sqrt(0.5), np.float32).view(np.int32))


@njit(cache=True, inline="always")
def vexp_neg(x: simd.F32) -> simd.F32:
    """e^−x lane-wise for 0 ≤ x ≤ 87 (relative error ≈ 1e-7).

    t = −x·log₂e is split as n + f with n = round(t) and f ∈ [−½, ½] by adding and
    subtracting 1.5·2²³ (the integer lands in the low mantissa bits), so no float→int
    conversion is needed: 2^n is added straight into the exponent field of 2^f.
    """
    y = fma(x, _NEG_LOG2E, _ROUNDER)
    f = fma(x, _NEG_LOG2E, _ROUNDER - y)
    p = fma(fma(fma(fma(fma(f, _X5, _X4), f, _X3), f, _X2), f, _X1), f, _X0)
    return from_bits(bits(p) + (bits(y) << _I23))


@njit(cache=True, inline="always")
def vln(x: simd.F32) -> simd.F32:
    """Natural log lane-wise of positive normal floats (absolute error ≈ 1e-6)."""
    return vln_scaled(x, _ONE)


@njit(cache=True, inline="always")
def vln_scaled(x: simd.F32, scale: np.float32) -> simd.F32:
    """``scale`` · ln x lane-wise for positive normal floats (absolute error ≈ 1e-6 · scale);
    with a constant ``scale`` the scaling folds into the coefficients."""
    b = bits(x)
    k = (b - _SQRT_HALF_BITS) >> _I23
    u = from_bits(b - (k << _I23)) - _ONE
    p = fma(u, _L5 * scale, _L4 * scale)
    p = fma(fma(fma(fma(fma(p, u, _L3 * scale), u, _L2 * scale), u, _L1 * scale), u, _L0 * scale),
            u, scale)
    return fma(to_float(k), _LN2 * scale, u * p)


@intrinsic
def prefetch_row(typingctx: object, arr: types.Type, row: types.Type) -> tuple[object, object]:
    """Hint the CPU to fetch row ``row`` of a C-contiguous 2-D array into cache (LLVM
    ``llvm.prefetch``: the row's first and last byte, so an unaligned 64-byte row is covered);
    no effect on results."""
    sig = types.void(arr, row)

    def codegen(context: object, builder: ir.IRBuilder, signature: object, args: list) -> None:
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        stride = builder.extract_value(ary.strides, 0)
        base = builder.ptrtoint(ary.data, ir.IntType(64))
        index = context.cast(builder, args[1], signature.args[1], types.int64)
        first = builder.add(base, builder.mul(index, stride))
        last = builder.add(first, builder.sub(stride, ir.Constant(ir.IntType(64), 1)))
        fn = builder.module.declare_intrinsic(
            "llvm.prefetch", fnty=ir.FunctionType(
                ir.VoidType(),
                [ir.IntType(8).as_pointer(), ir.IntType(32), ir.IntType(32), ir.IntType(32)],
            )
        )
        i32 = ir.IntType(32)
        for address in (first, last):
            ptr = builder.inttoptr(address, ir.IntType(8).as_pointer())
            builder.call(fn, [ptr, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen
