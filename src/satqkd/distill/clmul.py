"""Carry-less multiplication of 64-bit words, scalar and eight words at a time (numba).

The carry-less (GF(2)[z]) product of two 64-bit words is a 127-bit word: the schoolbook product
with XOR in place of addition. x86 CPUs have it as an instruction (``PCLMULQDQ``; on recent
ones ``VPCLMULQDQ``, the same on every 128-bit lane of a 256- or 512-bit register).

This module gives numba code a small vector type, :data:`u64x8` (eight 64-bit words, an LLVM
``<8 x i64>``, i.e. four 128-bit lanes), and the few operations the GF(2) kernels of
:mod:`satqkd.distill.gf2` need on it: load, load-and-broadcast of a word pair, store, XOR and
the four lane-wise carry-less products :func:`vclmul_ll`, :func:`vclmul_hl`,
:func:`vclmul_lh`, :func:`vclmul_hh` (low/high word of the first operand's lane times low/high
word of the second's, the 128-bit result in the lane, low word first).

How the products are emitted is chosen once, from the CPU numba compiles for
(:data:`CLMUL_MODE`): one 512-bit ``VPCLMULQDQ`` (AVX-512), two 256-bit ones (AVX2), four
128-bit ``PCLMULQDQ``, or, on CPUs without a carry-less multiply (and when numba is told to
compile for a generic CPU), the shift-and-XOR software product :func:`clmul_soft` on every
lane. All four give the same bits (tested); only their speed differs.

numba's on-disk cache of the kernels that use these intrinsics (in :mod:`satqkd.distill.gf2`)
is keyed by the CPU and by the source of *their* module, not of this one: after editing the
code generation here, touch ``gf2.py`` (or clear its ``__pycache__``).
"""

from __future__ import annotations

from collections.abc import Callable

import llvmlite.binding as _llvm
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

MODES = ("vpclmul512", "vpclmul256", "pclmul", "soft")
"""Ways to emit the eight-word carry-less products, fastest first."""

_U0 = np.uint64(0)
_U1 = np.uint64(1)
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_V2 = ir.VectorType(_I64, 2)
_V4 = ir.VectorType(_I64, 4)
_V8 = ir.VectorType(_I64, 8)


def _target_features() -> set[str]:
    """CPU features numba compiles for, as numba picks them: NUMBA_CPU_FEATURES if set (empty
    for NUMBA_CPU_NAME=generic), else the host's."""
    flags = numba.config.CPU_FEATURES
    if flags is None:
        flags = _llvm.get_host_cpu_features().flatten()
    return {f[1:] for f in flags.split(",") if f.startswith("+")}


def _supported(mode: str, features: set[str]) -> bool:
    needs = {"vpclmul512": {"pclmul", "vpclmulqdq", "avx512f"},
             "vpclmul256": {"pclmul", "vpclmulqdq", "avx2"},
             "pclmul": {"pclmul"}, "soft": set()}[mode]
    return needs <= features


def available_modes() -> list[str]:
    """The modes the CPU numba compiles for can run, fastest first (``soft`` always)."""
    features = _target_features()
    return [mode for mode in MODES if _supported(mode, features)]


CLMUL_MODE = available_modes()[0]
"""The mode used by :mod:`satqkd.distill.gf2` on this machine (one of :data:`MODES`)."""


@numba.njit(cache=True, inline="always")
def clmul_soft(a: np.uint64, b: np.uint64) -> tuple[np.uint64, np.uint64]:
    """(low, high) words of the carry-less product ``a ⊗ b``, by shift and XOR."""
    lo = _U0
    hi = _U0
    for k in range(64):
        if (b >> np.uint64(k)) & _U1:
            lo ^= a << np.uint64(k)
            if k:
                hi ^= a >> np.uint64(64 - k)
    return lo, hi


class U64x8(types.Type):
    """numba type of eight 64-bit words in one SIMD value (four 128-bit lanes)."""

    def __init__(self) -> None:
        super().__init__(name="u64x8")


u64x8 = U64x8()


@register_model(U64x8)
class _U64x8Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):  # type: ignore[no-untyped-def]
        super().__init__(dmm, fe_type, _V8)


def _is_word_array(arr: types.Type) -> bool:
    return (isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C"
            and arr.dtype == types.uint64)


def _element_ptr(context, builder, arr_type, arr, index):  # type: ignore[no-untyped-def]
    data = context.make_array(arr_type)(context, builder, arr).data
    return builder.gep(data, [index])


@intrinsic
def vload(typingctx, arr, index):  # type: ignore[no-untyped-def]
    """``arr[index : index + 8]`` as a :data:`u64x8` (no bounds check)."""
    if not (_is_word_array(arr) and isinstance(index, types.Integer)):
        return None
    sig = u64x8(arr, types.intp)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        ptr = _element_ptr(context, builder, signature.args[0], args[0], args[1])
        return builder.load(builder.bitcast(ptr, _V8.as_pointer()), align=8)

    return sig, codegen


@intrinsic
def vload_pair(typingctx, arr, index):  # type: ignore[no-untyped-def]
    """``(arr[index], arr[index + 1])`` repeated in all four lanes (no bounds check)."""
    if not (_is_word_array(arr) and isinstance(index, types.Integer)):
        return None
    sig = u64x8(arr, types.intp)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        ptr = _element_ptr(context, builder, signature.args[0], args[0], args[1])
        pair = builder.load(builder.bitcast(ptr, _V2.as_pointer()), align=8)
        return builder.shuffle_vector(pair, pair, ir.Constant(ir.VectorType(_I32, 8), [0, 1] * 4))

    return sig, codegen


@intrinsic
def vstore(typingctx, arr, index, value):  # type: ignore[no-untyped-def]
    """``arr[index : index + 8] = value`` (no bounds check)."""
    if not (_is_word_array(arr) and isinstance(index, types.Integer) and value == u64x8):
        return None
    sig = types.void(arr, types.intp, u64x8)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        ptr = _element_ptr(context, builder, signature.args[0], args[0], args[1])
        builder.store(args[2], builder.bitcast(ptr, _V8.as_pointer()), align=8)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def vxor(typingctx, a, b):  # type: ignore[no-untyped-def]
    """Word-wise XOR of two :data:`u64x8`."""
    if not (a == u64x8 and b == u64x8):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.xor(args[0], args[1])

    return u64x8(u64x8, u64x8), codegen


@intrinsic
def vzero(typingctx):  # type: ignore[no-untyped-def]
    """The all-zero :data:`u64x8`."""

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return ir.Constant(_V8, [0] * 8)

    return u64x8(), codegen


@intrinsic
def vget(typingctx, v, lane_word):  # type: ignore[no-untyped-def]
    """Word ``lane_word`` (0–7) of a :data:`u64x8`."""
    if not (v == u64x8 and isinstance(lane_word, types.Integer)):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.extract_element(args[0], builder.trunc(args[1], _I32))

    return types.uint64(u64x8, types.intp), codegen


@intrinsic
def vset(typingctx, v, lane_word, word):  # type: ignore[no-untyped-def]
    """A copy of ``v`` with word ``lane_word`` (0–7) replaced by ``word``."""
    if not (v == u64x8 and isinstance(lane_word, types.Integer)
            and isinstance(word, types.Integer)):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.insert_element(args[0], args[2], builder.trunc(args[1], _I32))

    return u64x8(u64x8, types.intp, types.uint64), codegen


def _x86_call(builder, name: str, vtype: ir.VectorType, a, b, imm: int):  # type: ignore[no-untyped-def]
    fnty = ir.FunctionType(vtype, [vtype, vtype, ir.IntType(8)])
    fn = cgutils.get_or_insert_function(builder.module, fnty, name)
    return builder.call(fn, [a, b, ir.Constant(ir.IntType(8), imm)])


def _pieces(builder, v, n_words: int) -> list:  # type: ignore[no-untyped-def]
    mask = [list(range(i, i + n_words)) for i in range(0, 8, n_words)]
    return [builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(_I32, n_words), m))
            for m in mask]


def _join(builder, parts: list):  # type: ignore[no-untyped-def]
    while len(parts) > 1:
        n = parts[0].type.count
        mask = ir.Constant(ir.VectorType(_I32, 2 * n), list(range(2 * n)))
        parts = [builder.shuffle_vector(parts[i], parts[i + 1], mask)
                 for i in range(0, len(parts), 2)]
    return parts[0]


def _soft_lanes(imm: int) -> Callable:
    """Python source of the software product on every lane, for ``compile_internal``."""
    a_word, b_word = imm & 1, (imm >> 4) & 1

    def soft(a, b):  # type: ignore[no-untyped-def]
        out = vzero()
        for lane in range(4):
            lo, hi = clmul_soft(vget(a, 2 * lane + a_word), vget(b, 2 * lane + b_word))
            out = vset(vset(out, 2 * lane, lo), 2 * lane + 1, hi)
        return out

    return soft


def make_vclmul(imm: int, mode: str) -> Callable:
    """The lane-wise carry-less product selecting words by ``imm`` (as PCLMULQDQ), in ``mode``."""
    if mode not in MODES:
        raise ValueError(f"unknown carry-less multiply mode {mode!r}")

    @intrinsic
    def vclmul(typingctx, a, b):  # type: ignore[no-untyped-def]
        if not (a == u64x8 and b == u64x8):
            return None
        sig = u64x8(u64x8, u64x8)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            a_v, b_v = args
            if mode == "vpclmul512":
                return _x86_call(builder, "llvm.x86.pclmulqdq.512", _V8, a_v, b_v, imm)
            if mode == "vpclmul256":
                parts = zip(_pieces(builder, a_v, 4), _pieces(builder, b_v, 4), strict=True)
                return _join(builder, [_x86_call(builder, "llvm.x86.pclmulqdq.256", _V4,
                                                 pa, pb, imm) for pa, pb in parts])
            if mode == "pclmul":
                parts = zip(_pieces(builder, a_v, 2), _pieces(builder, b_v, 2), strict=True)
                return _join(builder, [_x86_call(builder, "llvm.x86.pclmulqdq", _V2,
                                                 pa, pb, imm) for pa, pb in parts])
            return context.compile_internal(builder, _soft_lanes(imm), signature, args)

        return sig, codegen

    return vclmul


vclmul_ll = make_vclmul(0x00, CLMUL_MODE)
"""Lane-wise ``a.low ⊗ b.low``."""
vclmul_hl = make_vclmul(0x01, CLMUL_MODE)
"""Lane-wise ``a.high ⊗ b.low``."""
vclmul_lh = make_vclmul(0x10, CLMUL_MODE)
"""Lane-wise ``a.low ⊗ b.high``."""
vclmul_hh = make_vclmul(0x11, CLMUL_MODE)
"""Lane-wise ``a.high ⊗ b.high``."""
