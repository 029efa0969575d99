"""Check-parallel layered sum-product for ONE frame at a time (the ground station's case).

:func:`satqkd.distill.ldpc.decoder.decode_frames` gets its speed from decoding 16 frames at
once, one per SIMD lane, and computes all 16 lanes whatever the batch, so one frame alone
costs as much as 16. The live protocol decodes one 100-kbit packet as it arrives, so this
kernel puts W = :data:`WIDTH` *checks* of the same frame in the SIMD lanes instead. The
checks are grouped once per code (:func:`.row_layers.row_layers`, ≈ 10–50 ms at 100 kbit,
cached) into layers of W checks that share no variable node (first-fit greedy colouring):
updating the checks of a layer simultaneously is then exactly the sequential layered
schedule with the checks in layer order, so this is still the exact sum-product decoder of
:mod:`.decoder`, with the same arithmetic (:mod:`.check_math`, shared with
``decoder._check_update``), the same int16 check messages in steps of 2⁻¹⁰ and the same
conventions (priors positive for 0, +LLR_MAX for shortened, 0 for punctured; exact syndrome
test before a frame is declared converged). Only the row order differs, so per-frame
iteration counts differ slightly: on the same 100 frames near the threshold (QBER 1/2/3 %
at f = 1.20/1.14/1.11) the 16-lane kernel failed 3/2/0 frames with mean iterations
22.8/26.5/28.3, this one 2/2/0 with 21.1/26.5/28.3 (one frame of 300 decoded by one kernel
and not the other).

Layout: each layer holds checks of one degree d (the shipped codes have check degrees d and
d + 1 only), and its edges are stored ``[layer, j, lane]``: the variable of the j-th edge of
the check in lane k. The posteriors L (n float32, 400 KB at 100 kbit, L2-resident) are
gathered (vgatherdps), the arithmetic runs on whole vectors, and the new posteriors are
scattered back (vscatterdps; :mod:`.row_sweep`). Layers that do not fill W lanes are padded
with edges to a dummy variable (index n) whose posterior :data:`.row_layers.DUMMY_LLR`
makes its factors exactly 1; it is reset after every layer (≈ 1 % padding at 100 kbit,
≈ 15 % on 5–20-kbit codes, whose layers cover a larger share of the variables). Variables
are renumbered in first-touch order of the sweep (≈ 10 % faster). Blind reconciliation's
warm restart (per-frame :class:`RowState`, early stop) is in :mod:`.row_warm`.

Speed (one core of this AVX-512 Xeon, 100-kbit frames at the design codes, QBER 0.5–5 %,
min of 3 runs on a shared machine): 1.7–1.9 ns per edge and iteration, 9.1/6.7/5.4/4.4/
4.3/3.9 Mbit/s for one frame at QBER 0.5/1/2/3/4/5 %, against 1.1/0.8/0.6/0.5/0.5/0.4
Mbit/s for ``decode_frames`` with one frame and 11.1/9.6/6.5/4.8/6.0/5.1 Mbit/s per frame
with 16 frames (1.2–1.6 ns per edge, frame and iteration). The remaining cost is mostly the
gathers and scatters missing L1 (≈ 1 ns per edge: with L shrunk to fit in L1 a sweep takes
1.3 ns per edge, with no gathers and scatters at all 0.8); dealing a check's edges over 2 or
4 lanes to shorten the layers, prefetching, or scalar loads/stores instead of
vgather/vscatter did not help.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from satqkd.distill.ldpc.row_layers import RowLayers, build_row_layers, row_layers
from satqkd.distill.ldpc.row_sweep import gather, scatter
from satqkd.distill.ldpc.row_warm import RowState, decode_frame_warm
from satqkd.distill.ldpc.simd import WIDTH

__all__ = [
    "WIDTH",
    "RowLayers",
    "RowState",
    "build_row_layers",
    "decode",
    "decode_frame_warm",
    "decode_frames_rows",
    "gather",
    "row_layers",
    "scatter",
]


@njit(cache=True)
def decode_frames_rows(
    layer_ptr: np.ndarray,
    var_idx: np.ndarray,
    check_idx: np.ndarray,
    labels: np.ndarray,
    priors: np.ndarray,
    targets: np.ndarray,
    max_iterations: int,
    out_bits: np.ndarray,
    out_iterations: np.ndarray,
    out_converged: np.ndarray,
) -> None:
    """Decode ``priors.shape[0]`` frames one after another with the check-parallel kernel.

    Same contract as :func:`satqkd.distill.ldpc.decoder.decode_frames` (without ``lanes``):
    ``priors`` ``[frames, n]`` float32 LLRs (positive favours 0), ``targets`` ``[frames, m]``
    uint8 syndromes; writes hard decisions, iterations used and whether the syndrome was met.
    The layers (``layer_ptr``, ``var_idx``, ``check_idx``, ``labels``) come from
    :func:`row_layers` for the same graph; :func:`decode` passes them.
    """
    frames, n = priors.shape
    L = np.empty(n + 1, np.float32)
    R = np.zeros((var_idx.shape[0], WIDTH), np.int16)
    used_prior = np.empty(n, np.float32)
    for f in range(frames):
        # A cold start of the warm-restart decoder, without early stop: L = prior, R = 0.
        it, ok = decode_frame_warm(layer_ptr, var_idx, check_idx, labels, priors[f], targets[f],
                                   max_iterations, 0, False, L, R, used_prior, out_bits[f])
        out_iterations[f] = it
        out_converged[f] = ok


def decode(
    mother: object,
    priors: np.ndarray,
    targets: np.ndarray,
    max_iterations: int,
    out_bits: np.ndarray,
    out_iterations: np.ndarray,
    out_converged: np.ndarray,
    states: list[RowState] | None = None,
    stall_iterations: int = 0,
) -> None:
    """:func:`decode_frames_rows` with the (cached) layers of the
    :class:`~satqkd.distill.ldpc.code.LdpcCode` ``mother``; arrays as there.

    ``states`` (optional, one :class:`RowState` per frame): frame i continues from
    ``states[i]`` when that holds a previous attempt against the same syndrome (warm
    restart, :func:`decode_frame_warm`), else starts cold, and the state is left holding
    this attempt. ``stall_iterations`` > 0 enables the early stop of
    :func:`decode_frame_warm`. Without either the results are those of
    :func:`decode_frames_rows`.
    """
    layers = row_layers(mother)
    if states is None and stall_iterations <= 0:
        decode_frames_rows(layers.layer_ptr, layers.var_idx, layers.check_idx, layers.labels,
                           priors, targets, int(max_iterations), out_bits, out_iterations,
                           out_converged)
        return
    if states is not None and len(states) != priors.shape[0]:
        raise ValueError(f"{len(states)} states for {priors.shape[0]} frames")
    for f in range(priors.shape[0]):
        state = states[f] if states is not None else RowState.for_code(mother)
        if state.L.size != layers.n + 1 or state.R.shape != (layers.var_idx.shape[0], WIDTH):
            raise ValueError("decoder state is not of this code")
        target = np.ascontiguousarray(targets[f], np.uint8)
        warm = state.target is not None and np.array_equal(state.target, target)
        it, ok = decode_frame_warm(
            layers.layer_ptr, layers.var_idx, layers.check_idx, layers.labels,
            np.ascontiguousarray(priors[f], np.float32), target, int(max_iterations),
            int(stall_iterations), warm, state.L, state.R, state.prior, out_bits[f])
        state.target = target.copy()
        out_iterations[f] = it
        out_converged[f] = ok
