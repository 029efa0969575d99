"""Fixed-width SIMD vectors for numba kernels: one value per frame lane, ``WIDTH`` lanes.

Numba's loop vectoriser needs alias checks, negative-index handling and a scalar fallback
for every short loop over lanes, and it prefers 256-bit vectors on Xeons; in the LDPC check
update that overhead cost more than the arithmetic. These types instead map straight to LLVM
vectors (``<WIDTH x float>``, ``<WIDTH x i32>``, ``<WIDTH x i1>``), which LLVM lowers to one
zmm register on AVX-512, two ymm on AVX2 and four xmm/NEON registers elsewhere, so the
kernels stay portable.

- :data:`F32` (float32 lanes) supports ``+ - * /`` (division with fast-math flags, so a
  reciprocal estimate plus a Newton step where the target has one), unary ``-`` and
  ``< <= > >=`` (→ :data:`MASK`); scalars on either side are broadcast.
- :data:`I32` (int32 lanes) supports ``+ - & | ^``, ``<<`` and arithmetic ``>>`` by a scalar.
- functions: :func:`splat`, :func:`fma` (fused where the target has FMA), :func:`vmin`,
  :func:`vmax`, :func:`floor`, :func:`rint`, :func:`round_int` (``vcvtps2dq``),
  :func:`select`, :func:`bits` / :func:`from_bits` (bit casts), :func:`to_float` /
  :func:`to_int` (value conversions, truncating), :func:`load` / :func:`store` of row ``i``
  of a C-contiguous ``[rows, WIDTH]`` array (float32 ↔ F32; int32 ↔ I32; int16 rows are
  sign-extended to I32 on load and truncated on store; uint16 rows hold IEEE
  half-precision bits, widened to F32 on load and rounded to nearest on store:
  ``vcvtph2ps`` / ``vcvtps2ph``), :func:`half_bits` (a float32 scalar's half bits).

Rows are addressed as ``row · WIDTH`` elements from the array's start: the caller guarantees
the ``[rows, WIDTH]`` C-contiguous shape, and there is no bounds check.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from llvmlite import ir
from numba import types
from numba.extending import intrinsic, models, overload, register_model

#: Lanes per vector (16 float32 = one 512-bit register).
WIDTH = 16

_F = ir.FloatType()
_I = ir.IntType(32)
_LLVM = {
    "f": ir.VectorType(_F, WIDTH),
    "i": ir.VectorType(_I, WIDTH),
    "m": ir.VectorType(ir.IntType(1), WIDTH),
}
_ELEMENT = {"f": _F, "i": _I}
_FAST = ("fast",)
#: a·b + c may be fused into one FMA (the only fast-math freedom taken by + − ×).
_CONTRACT = ("contract",)


class Vector(types.Type):
    """Numba type of a ``WIDTH``-lane vector; ``kind`` is "f" (float32), "i" (int32) or
    "m" (mask)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__(name=f"simd.{kind}x{WIDTH}")


F32 = Vector("f")
I32 = Vector("i")
MASK = Vector("m")


@register_model(Vector)
class _VectorModel(models.PrimitiveModel):
    def __init__(self, dmm: object, fe_type: Vector) -> None:
        super().__init__(dmm, fe_type, _LLVM[fe_type.kind])


def _broadcast(builder: ir.IRBuilder, value: ir.Value, kind: str) -> ir.Value:
    undef = ir.Constant(_LLVM[kind], ir.Undefined)
    one = builder.insert_element(undef, value, ir.Constant(_I, 0))
    return builder.shuffle_vector(one, undef, ir.Constant(ir.VectorType(_I, WIDTH), None))


def _call(builder: ir.IRBuilder, name: str, args: list[ir.Value], kind: str = "f") -> ir.Value:
    """Call the overloaded LLVM intrinsic ``name`` on vectors of ``kind``."""
    ty = _LLVM[kind]
    full = f"{name}.v{WIDTH}{'f32' if kind == 'f' else 'i32'}"
    fn = builder.module.globals.get(full)
    if fn is None:
        fn = ir.Function(builder.module, ir.FunctionType(ty, [ty] * len(args)), full)
    return builder.call(fn, args)


@intrinsic
def splat(typingctx: object, x: types.Type) -> tuple[object, object] | None:
    """Vector with every lane equal to the scalar ``x``: float → F32, integer → I32."""
    if isinstance(x, types.Float):
        kind, target, out = "f", types.float32, F32
    elif isinstance(x, types.Integer):
        kind, target, out = "i", types.int32, I32
    else:
        return None

    def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> ir.Value:
        return _broadcast(builder, context.cast(builder, args[0], sig.args[0], target), kind)

    return out(x), codegen


def _binary(
    name: str, kind: str, out: Vector, emit: Callable[[ir.IRBuilder, ir.Value, ir.Value], ir.Value]
) -> object:
    """An intrinsic ``name(a, b)`` on two vectors of ``kind`` returning ``out``."""

    def typer(typingctx: object, a: types.Type, b: types.Type) -> tuple[object, object] | None:
        if not (isinstance(a, Vector) and a.kind == kind and a == b):
            return None

        def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> ir.Value:
            return emit(builder, args[0], args[1])

        return out(a, b), codegen

    typer.__name__ = typer.__qualname__ = name
    return intrinsic(typer)


_fadd = _binary("_fadd", "f", F32, lambda b, x, y: b.fadd(x, y, flags=_CONTRACT))
_fsub = _binary("_fsub", "f", F32, lambda b, x, y: b.fsub(x, y, flags=_CONTRACT))
_fmul = _binary("_fmul", "f", F32, lambda b, x, y: b.fmul(x, y, flags=_CONTRACT))
_fdiv = _binary("_fdiv", "f", F32, lambda b, x, y: b.fdiv(x, y, flags=_FAST))
_flt = _binary("_flt", "f", MASK, lambda b, x, y: b.fcmp_ordered("<", x, y))
_fle = _binary("_fle", "f", MASK, lambda b, x, y: b.fcmp_ordered("<=", x, y))
_iadd = _binary("_iadd", "i", I32, lambda b, x, y: b.add(x, y))
_ilt = _binary("_ilt", "i", MASK, lambda b, x, y: b.icmp_signed("<", x, y))
_isub = _binary("_isub", "i", I32, lambda b, x, y: b.sub(x, y))
_iand = _binary("_iand", "i", I32, lambda b, x, y: b.and_(x, y))
_ior = _binary("_ior", "i", I32, lambda b, x, y: b.or_(x, y))
_ixor = _binary("_ixor", "i", I32, lambda b, x, y: b.xor(x, y))
_ishl = _binary("_ishl", "i", I32, lambda b, x, y: b.shl(x, y))
_iashr = _binary("_iashr", "i", I32, lambda b, x, y: b.ashr(x, y))
#: min/max as compare + select: one vminps/vmaxps, no NaN bookkeeping (inputs are never NaN).
_fmin = _binary("_fmin", "f", F32, lambda b, x, y: b.select(b.fcmp_ordered("<", x, y), x, y))
_fmax = _binary("_fmax", "f", F32, lambda b, x, y: b.select(b.fcmp_ordered(">", x, y), x, y))


# The typing functions of @overload carry no annotations: numba compares their parameters,
# annotations included, with those of the implementation they return.


def _vector_operator(op: object, impl: object, kind: str, commutes: bool = True) -> None:
    """Overload ``op`` for (vector, vector), (vector, scalar) and (scalar, vector)."""

    @overload(op)
    def _overload(a, b):
        va = isinstance(a, Vector) and a.kind == kind
        vb = isinstance(b, Vector) and b.kind == kind
        if va and vb:
            return lambda a, b: impl(a, b)
        if va and isinstance(b, types.Number):
            return lambda a, b: impl(a, splat(b))
        if vb and isinstance(a, types.Number):
            return lambda a, b: impl(splat(a), b)
        return None


for _op, _impl in ((operator.add, _fadd), (operator.sub, _fsub), (operator.mul, _fmul),
                   (operator.truediv, _fdiv), (operator.lt, _flt), (operator.le, _fle)):
    _vector_operator(_op, _impl, "f")
for _op, _impl in ((operator.add, _iadd), (operator.sub, _isub), (operator.and_, _iand),
                   (operator.lt, _ilt),
                   (operator.or_, _ior), (operator.xor, _ixor), (operator.lshift, _ishl),
                   (operator.rshift, _iashr)):
    _vector_operator(_op, _impl, "i")


@overload(operator.gt)
def _gt(a, b):
    if isinstance(a, Vector) or isinstance(b, Vector):
        return lambda a, b: b < a
    return None


@overload(operator.ge)
def _ge(a, b):
    if isinstance(a, Vector) or isinstance(b, Vector):
        return lambda a, b: b <= a
    return None


@overload(operator.neg)
def _neg(a):
    if isinstance(a, Vector) and a.kind == "f":
        return lambda a: _fsub(splat(0.0), a)
    return None


def _as_vector(x):
    """Numba-only helper for the overloads below: scalars are broadcast."""


@overload(_as_vector)
def _as_vector_impl(x):
    if isinstance(x, Vector):
        return lambda x: x
    if isinstance(x, types.Number):
        return lambda x: splat(x)
    return None


def vmin(a, b):
    """Lane-wise minimum of two F32 (or an F32 and a scalar)."""


def vmax(a, b):
    """Lane-wise maximum of two F32 (or an F32 and a scalar)."""


@overload(vmin)
def _vmin(a, b):
    return lambda a, b: _fmin(_as_vector(a), _as_vector(b))


@overload(vmax)
def _vmax(a, b):
    return lambda a, b: _fmax(_as_vector(a), _as_vector(b))


@intrinsic
def _fma3(typingctx: object, a: types.Type, b: types.Type, c: types.Type) -> object:
    if not (a == b == c == F32):
        return None

    def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> ir.Value:
        return _call(builder, "llvm.fmuladd", list(args))

    return F32(a, b, c), codegen


def fma(a, b, c):
    """a·b + c (F32 lanes; scalars broadcast): LLVM ``fmuladd``, one fused rounding where the
    target has FMA (AVX2, AVX-512, NEON), a multiply and an add elsewhere instead of a libm
    call per lane."""


@overload(fma)
def _fma(a, b, c):
    return lambda a, b, c: _fma3(_as_vector(a), _as_vector(b), _as_vector(c))


def _unary_float(name: str, llvm_name: str) -> object:
    def typer(typingctx: object, a: types.Type) -> tuple[object, object] | None:
        if a != F32:
            return None

        def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> ir.Value:
            return _call(builder, llvm_name, [args[0]])

        return F32(a), codegen

    typer.__name__ = typer.__qualname__ = name
    return intrinsic(typer)


#: Round down to an integer value (vrndscaleps / vroundps).
floor = _unary_float("floor", "llvm.floor")
#: Round to the nearest integer value, ties to even.
rint = _unary_float("rint", "llvm.rint")


def _conversion(name: str, src: Vector, dst: Vector, emit: Callable) -> object:
    def typer(typingctx: object, a: types.Type) -> tuple[object, object] | None:
        if a != src:
            return None

        def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> ir.Value:
            return emit(builder, args[0], _LLVM[dst.kind])

        return dst(a), codegen

    typer.__name__ = typer.__qualname__ = name
    return intrinsic(typer)


#: Reinterpret float32 lanes as int32 (no conversion).
bits = _conversion("bits", F32, I32, lambda b, x, t: b.bitcast(x, t))
#: Reinterpret int32 lanes as float32 (no conversion).
from_bits = _conversion("from_bits", I32, F32, lambda b, x, t: b.bitcast(x, t))
#: int32 → float32 value.
to_float = _conversion("to_float", I32, F32, lambda b, x, t: b.sitofp(x, t))
#: float32 → int32 value, truncated toward zero.
to_int = _conversion("to_int", F32, I32, lambda b, x, t: b.fptosi(x, t))


def _lrint(builder: ir.IRBuilder, x: ir.Value, ty: ir.Type) -> ir.Value:
    name = f"llvm.lrint.v{WIDTH}i32.v{WIDTH}f32"
    fn = builder.module.globals.get(name)
    if fn is None:
        fn = ir.Function(builder.module, ir.FunctionType(ty, [x.type]), name)
    return builder.call(fn, [x])


#: float32 → int32 value, rounded to nearest (ties to even): one ``vcvtps2dq``.
round_int = _conversion("round_int", F32, I32, _lrint)


@intrinsic
def select(typingctx: object, m: types.Type, a: types.Type, b: types.Type) -> object:
    """Lane-wise ``a if m else b`` (two vectors of the same kind)."""
    if not (m == MASK and isinstance(a, Vector) and a == b and a.kind != "m"):
        return None

    def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> ir.Value:
        return builder.select(args[0], args[1], args[2])

    return a(m, a, b), codegen


@intrinsic
def half_bits(typingctx: object, x: types.Type) -> object:
    """The IEEE half-precision bits (uint16) of the float32 scalar ``x``, rounded to nearest:
    numba has no float16 type, so half-precision arrays are uint16 arrays of these bits."""
    if x != types.float32:
        return None

    def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> ir.Value:
        return builder.bitcast(builder.fptrunc(args[0], ir.HalfType()), ir.IntType(16))

    return types.uint16(x), codegen


_LOADS = {types.float32: ("f", None), types.int32: ("i", None), types.int16: ("i", 16),
          types.uint16: ("f", 16)}


def _row_pointer(
    context: object, builder: ir.IRBuilder, aryty: types.Array, ary: ir.Value, row: ir.Value,
    rowty: types.Type, element: ir.Type,
) -> ir.Value:
    """Pointer to ``<WIDTH x element>`` at row ``row`` of a ``[rows, WIDTH]`` array."""
    data = context.make_array(aryty)(context, builder, ary).data
    index = builder.mul(context.cast(builder, row, rowty, types.int64),
                        ir.Constant(ir.IntType(64), WIDTH))
    ptr = builder.gep(data, [index], inbounds=True)
    return builder.bitcast(ptr, ir.VectorType(element, WIDTH).as_pointer())


@intrinsic
def load(typingctx: object, arr: types.Type, row: types.Type) -> object:
    """Row ``row`` of a C-contiguous ``[rows, WIDTH]`` float32 / int32 / int16 array as a
    vector (F32, or I32 with int16 sign-extended)."""
    if not (isinstance(arr, types.Array) and arr.ndim == 2 and arr.dtype in _LOADS
            and isinstance(row, types.Integer)):
        return None
    kind, narrow = _LOADS[arr.dtype]

    def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> ir.Value:
        element = ir.IntType(narrow) if narrow else _ELEMENT[kind]
        ptr = _row_pointer(context, builder, sig.args[0], args[0], args[1], sig.args[1], element)
        value = builder.load(ptr, align=element.width // 8 if narrow else 4,
                             typ=ir.VectorType(element, WIDTH))
        if narrow and kind == "f":  # IEEE half-precision bits → float32 (vcvtph2ps)
            half = builder.bitcast(value, ir.VectorType(ir.HalfType(), WIDTH))
            return builder.fpext(half, _LLVM["f"])
        return builder.sext(value, _LLVM["i"]) if narrow else value

    return (F32 if kind == "f" else I32)(arr, row), codegen


@intrinsic
def store(typingctx: object, arr: types.Type, row: types.Type, value: types.Type) -> object:
    """Write ``value`` to row ``row`` of a C-contiguous ``[rows, WIDTH]`` array (F32 into
    float32; I32 into int32, or truncated into int16)."""
    if not (isinstance(arr, types.Array) and arr.ndim == 2 and arr.dtype in _LOADS
            and isinstance(row, types.Integer) and isinstance(value, Vector)
            and value.kind == _LOADS[arr.dtype][0]):
        return None
    narrow = _LOADS[arr.dtype][1]

    def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> object:
        element = ir.IntType(narrow) if narrow else _ELEMENT[value.kind]
        ptr = _row_pointer(context, builder, sig.args[0], args[0], args[1], sig.args[1], element)
        if narrow and value.kind == "f":  # float32 → IEEE half bits, rounded to nearest
            half = builder.fptrunc(args[2], ir.VectorType(ir.HalfType(), WIDTH))
            data = builder.bitcast(half, ir.VectorType(element, WIDTH))
        elif narrow:
            data = builder.trunc(args[2], ir.VectorType(element, WIDTH))
        else:
            data = args[2]
        builder.store(data, ptr, align=element.width // 8 if narrow else 4)
        return context.get_dummy_value()

    return types.void(arr, row, value), codegen


def _host_has_avx512() -> bool:
    """Whether numba compiles for a CPU with AVX-512F (it targets the host)."""
    try:
        import llvmlite.binding as llvm

        return bool(llvm.get_host_cpu_features().get("avx512f", False))
    except Exception:  # pragma: no cover - a host llvmlite cannot query
        return False


#: ``permute`` lowers to one ``vpermps`` where this is true, to lane extracts elsewhere.
HAS_AVX512 = _host_has_avx512()


@intrinsic
def permute(typingctx: object, x: types.Type, idx: types.Type) -> object:
    """Lane ``k`` of the result is lane ``idx[k] & (WIDTH − 1)`` of ``x`` (F32 by I32): one
    ``vpermps`` on AVX-512; elsewhere a variable extract/insert per lane (correct, slower)."""
    if not (x == F32 and idx == I32):
        return None

    def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> ir.Value:
        vec, index = args
        mask = _broadcast(builder, ir.Constant(_I, WIDTH - 1), "i")
        index = builder.and_(index, mask)
        if HAS_AVX512 and WIDTH == 16:
            name = "llvm.x86.avx512.permvar.sf.512"
            fn = builder.module.globals.get(name)
            if fn is None:
                fn = ir.Function(builder.module,
                                 ir.FunctionType(_LLVM["f"], [_LLVM["f"], _LLVM["i"]]), name)
            return builder.call(fn, [vec, index])
        out = ir.Constant(_LLVM["f"], ir.Undefined)
        for k in range(WIDTH):
            lane = builder.extract_element(index, _I(k))
            out = builder.insert_element(out, builder.extract_element(vec, lane), _I(k))
        return out

    return F32(x, idx), codegen


@intrinsic
def iota(typingctx: object) -> object:
    """The I32 vector (0, 1, …, WIDTH − 1)."""

    def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> ir.Value:
        return ir.Constant(_LLVM["i"], list(range(WIDTH)))

    return I32(), codegen


@intrinsic
def rcp(typingctx: object, x: types.Type) -> object:
    """≈ 1/x lane-wise: ``vrcp14ps`` on AVX-512 (relative error < 2⁻¹⁴, no Newton step),
    a fast-math division elsewhere."""
    if x != F32:
        return None

    def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> ir.Value:
        if HAS_AVX512 and WIDTH == 16:
            name = "llvm.x86.avx512.rcp14.ps.512"
            fn = builder.module.globals.get(name)
            if fn is None:
                fn = ir.Function(builder.module, ir.FunctionType(
                    _LLVM["f"], [_LLVM["f"], _LLVM["f"], ir.IntType(16)]), name)
            return builder.call(fn, [args[0], ir.Constant(_LLVM["f"], ir.Undefined),
                                     ir.Constant(ir.IntType(16), 0xFFFF)])
        one = _broadcast(builder, ir.Constant(_F, 1.0), "f")
        return builder.fdiv(one, args[0], flags=_FAST)

    return F32(x), codegen
