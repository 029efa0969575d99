"""Iterations and the exact syndrome test of the check-parallel kernel.

The lanes hold W = :data:`.simd.WIDTH` checks of one frame (a layer of :mod:`.row_layers`):
the posteriors L (n + 1 float32, 400 KB at 100 kbit, L2-resident) are gathered
(vgatherdps, :func:`gather`), the check arithmetic of :mod:`.check_math` runs on whole
vectors, and the new posteriors are scattered back (vscatterdps, :func:`scatter`).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from satqkd.distill.ldpc.check_math import (
    ONE,
    R_STEP,
    SIGN,
    edge_in,
    edge_out,
    extrinsic,
    posterior,
)
from satqkd.distill.ldpc.row_layers import DUMMY_LLR
from satqkd.distill.ldpc.simd import F32, I32, WIDTH, bits, load, splat, store

_FLOATS = ir.VectorType(ir.FloatType(), WIDTH)
_POINTERS = ir.VectorType(ir.PointerType(), WIDTH)
_MASK = ir.VectorType(ir.IntType(1), WIDTH)
_I32 = ir.IntType(32)


def _lane_pointers(
    context: object, builder: ir.IRBuilder, aryty: types.Array, ary: ir.Value, idx: ir.Value
) -> ir.Value:
    """``<WIDTH x ptr>`` to elements ``idx`` (I32 lanes) of a 1-D float32 array, as one
    vector GEP so the backend can use base + 32-bit index gathers (vgatherdps)."""
    data = context.make_array(aryty)(context, builder, ary).data
    index = builder.sext(idx, ir.VectorType(ir.IntType(64), WIDTH))
    gep = builder.gep(data, [index], inbounds=True, source_etype=ir.FloatType())
    gep.type = _POINTERS  # llvmlite types a GEP by its pointer operand; the index is a vector
    return gep


def _intrinsic_function(builder: ir.IRBuilder, name: str, fnty: ir.FunctionType) -> ir.Function:
    fn = builder.module.globals.get(name)
    return fn if fn is not None else ir.Function(builder.module, fnty, name)


@intrinsic
def gather(typingctx: object, arr: types.Type, idx: types.Type) -> object:
    """``arr[idx]`` lane-wise (1-D float32 array, I32 indices) → F32; no bounds check."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.dtype == types.float32
            and idx == I32):
        return None

    def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> ir.Value:
        ptrs = _lane_pointers(context, builder, sig.args[0], args[0], args[1])
        fn = _intrinsic_function(builder, f"llvm.masked.gather.v{WIDTH}f32.v{WIDTH}p0",
                                 ir.FunctionType(_FLOATS, [_POINTERS, _I32, _MASK, _FLOATS]))
        return builder.call(fn, [ptrs, _I32(4), ir.Constant(_MASK, [1] * WIDTH),
                                 ir.Constant(_FLOATS, ir.Undefined)])

    return F32(arr, idx), codegen


@intrinsic
def scatter(typingctx: object, arr: types.Type, idx: types.Type, value: types.Type) -> object:
    """``arr[idx] = value`` lane-wise (1-D float32 array, I32 indices, F32 values); with
    repeated indices the highest lane wins. No bounds check."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.dtype == types.float32
            and idx == I32 and value == F32):
        return None

    def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> object:
        ptrs = _lane_pointers(context, builder, sig.args[0], args[0], args[1])
        fn = _intrinsic_function(builder, f"llvm.masked.scatter.v{WIDTH}f32.v{WIDTH}p0",
                                 ir.FunctionType(ir.VoidType(), [_FLOATS, _POINTERS, _I32, _MASK]))
        builder.call(fn, [args[2], ptrs, _I32(4), ir.Constant(_MASK, [1] * WIDTH)])
        return context.get_dummy_value()

    return types.void(arr, idx, value), codegen


@njit(cache=True)
def sweep(
    layer_ptr: np.ndarray,
    var_idx: np.ndarray,
    tsign: np.ndarray,
    L: np.ndarray,
    R: np.ndarray,
    S: np.ndarray,
    flags: np.ndarray,
) -> None:
    """One layered iteration over all layers, W checks at a time.

    The arithmetic is :mod:`.check_math`'s, as in :func:`.decoder._check_update` (products
    A = Π(1 − e^−|Q|), B = Π(1 + e^−|Q|), |R_i| = ln((B a_i + A b_i)/(B a_i − A b_i)),
    signs by XOR of sign bits), with the lanes holding W checks of one frame instead of one
    check of W frames: the posteriors are gathered and scattered by variable index. The sign
    bit of ``flags[0, k]`` is set when a check in lane k failed the hard decisions of the
    posteriors it read (approximate convergence test; :mod:`.decoder` tests those it
    writes), and ``flags[1, k]`` counts those checks (their sum is the approximate number
    of unsatisfied checks, for the early stop of :func:`.row_warm.decode_frame_warm`; one
    shift and one subtraction per layer).
    """
    n = L.size - 1
    failed = splat(np.int32(0))
    unsatisfied = splat(np.int32(0))
    for ell in range(layer_ptr.size - 1):
        s0 = layer_ptr[ell]
        d = layer_ptr[ell + 1] - s0
        sign = load(tsign, ell)
        parity = sign
        A = splat(ONE)
        B = splat(ONE)
        for j in range(d):
            lv = gather(L, load(var_idx, s0 + j))
            parity = parity ^ bits(lv)
            q = extrinsic(lv, load(R, s0 + j), R_STEP)
            a, b, A, B, sign = edge_in(q, A, B, sign)
            store(S, 3 * j, q)
            store(S, 3 * j + 1, a)
            store(S, 3 * j + 2, b)
        failed = failed | parity
        unsatisfied = unsatisfied - (parity >> 31)
        for j in range(d):
            q = load(S, 3 * j)
            ri = edge_out(q, load(S, 3 * j + 1), load(S, 3 * j + 2), A, B, sign)
            store(R, s0 + j, ri)
            scatter(L, load(var_idx, s0 + j), posterior(q, ri))
        L[n] = DUMMY_LLR
    store(flags, 0, failed)
    store(flags, 1, unsatisfied)


@njit(cache=True)
def satisfied(layer_ptr: np.ndarray, var_idx: np.ndarray, tsign: np.ndarray,
              L: np.ndarray, scratch: np.ndarray) -> bool:
    """Exact test: do the hard decisions of L meet every check of the target syndrome?

    Parity of the sign bits of each check's posteriors and its target bit, W checks at a
    time through the layers (the padding variable is positive, so neutral; a variable twice
    in one check cancels, as in H·x mod 2). ≈ 4× faster than a scalar pass over H.
    """
    for ell in range(layer_ptr.size - 1):
        parity = load(tsign, ell)
        for j in range(layer_ptr[ell], layer_ptr[ell + 1]):
            parity = parity ^ bits(gather(L, load(var_idx, j)))
        store(scratch, 0, parity)
        for k in range(WIDTH):
            if scratch[0, k] < 0:
                return False
    return True


@njit(cache=True)
def set_target_signs(check_idx: np.ndarray, target: np.ndarray, tsign: np.ndarray) -> None:
    """``tsign[ℓ, k]``: the sign bit set where the target bit of the check in lane k of
    layer ℓ is 1 (0 for padding lanes)."""
    for ell in range(check_idx.shape[0]):
        for k in range(WIDTH):
            c = check_idx[ell, k]
            tsign[ell, k] = SIGN if c >= 0 and target[c] else 0


@njit(cache=True)
def iterate(layer_ptr: np.ndarray, var_idx: np.ndarray, tsign: np.ndarray, L: np.ndarray,
            R: np.ndarray, max_iterations: int, stall_iterations: int) -> tuple[int, bool]:
    """Sweep from the state ``(L, R)`` until the syndrome is met or ``max_iterations``
    sweeps are done; returns (iterations, converged).

    A frame is converged only after the exact test :func:`satisfied` (the sweep's own test
    is approximate). ``stall_iterations`` > 0: give up once the approximate count of
    unsatisfied checks (:func:`sweep`) has not reached a new minimum for that many sweeps.
    """
    dmax = 0
    for ell in range(layer_ptr.size - 1):
        dmax = max(dmax, layer_ptr[ell + 1] - layer_ptr[ell])
    S = np.empty((3 * dmax, WIDTH), np.float32)
    flags = np.zeros((2, WIDTH), np.int32)
    it = 0
    best = 1 << 62
    since = 0
    while it < max_iterations:
        sweep(layer_ptr, var_idx, tsign, L, R, S, flags)
        it += 1
        bad = False
        count = 0
        for k in range(WIDTH):
            bad |= flags[0, k] < 0
            count += flags[1, k]
        if not bad and satisfied(layer_ptr, var_idx, tsign, L, flags):
            return it, True
        if count < best:
            best = count
            since = 0
        else:
            since += 1
            if stall_iterations > 0 and since >= stall_iterations:
                break
    return it, False
