"""Warm restart of the check-parallel kernel: per-frame decoder state between blind attempts.

Blind reconciliation decodes a frame again after each reveal. Layered BP keeps
L = prior + Σ R exactly, so keeping the check messages R and moving each posterior by its
prior's change continues the previous attempt instead of starting over
(:func:`decode_frame_warm`); :func:`decode_warm` does that frame by frame with one
:class:`RowState` per frame, and adds an optional early stop of attempts that stall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from satqkd.distill.ldpc.row_layers import DUMMY_LLR, row_layers
from satqkd.distill.ldpc.row_sweep import iterate, set_target_signs
from satqkd.distill.ldpc.simd import WIDTH


@dataclass
class RowState:
    """Decoder state of one frame between blind attempts, in the row kernel's layout.

    ``L`` posteriors (``n + 1`` float32, by :attr:`.RowLayers.labels`, padding last), ``R``
    check messages (int16 ``[slots, W]``, as in :func:`.row_sweep.sweep`), ``prior`` the
    priors the state was built from and ``target`` the syndrome it decodes against. Empty until the
    first attempt (``target`` is None). One per frame: never share it between frames.
    """

    L: np.ndarray
    R: np.ndarray
    prior: np.ndarray
    target: np.ndarray | None = None

    @classmethod
    def for_code(cls, mother: object) -> RowState:
        """An empty state for frames of the :class:`~satqkd.distill.ldpc.code.LdpcCode`."""
        layers = row_layers(mother)
        return cls(np.empty(layers.n + 1, np.float32),
                   np.zeros((layers.var_idx.shape[0], WIDTH), np.int16),
                   np.zeros(layers.n, np.float32))


@njit(cache=True)
def decode_frame_warm(
    layer_ptr: np.ndarray, var_idx: np.ndarray, check_idx: np.ndarray, labels: np.ndarray,
    prior: np.ndarray, target: np.ndarray, max_iterations: int, stall_iterations: int,
    warm: bool, L: np.ndarray, R: np.ndarray, used_prior: np.ndarray, out_bits: np.ndarray,
) -> tuple[int, bool]:
    """Decode one frame, continuing from ``(L, R)`` when ``warm``; returns (iterations,
    converged) and writes the hard decisions to ``out_bits``.

    Warm: the check messages R are kept and each posterior moves by its prior's change,
    ``L[v] += prior[v] − used_prior[v]`` (layered BP keeps L = prior + Σ R exactly, so this
    is the state the same messages give with the new priors: a revealed punctured bit goes
    from 0 to ±LLR_MAX). Cold: L = prior, R = 0, as :func:`.row_decoder.decode_frames_rows`.
    ``used_prior`` is set to ``prior``. ``stall_iterations`` > 0: give up (not converged)
    once the approximate count of unsatisfied checks has not reached a new minimum for that
    many sweeps (:func:`.row_sweep.iterate`); a frame is reported converged only after the
    exact test, as without the early stop.
    """
    n = prior.size
    if warm:
        for v in range(n):
            L[labels[v]] += prior[v] - used_prior[v]
    else:
        for v in range(n):
            L[labels[v]] = prior[v]
        R[:] = 0
    used_prior[:] = prior
    L[n] = DUMMY_LLR
    tsign = np.zeros((layer_ptr.size - 1, WIDTH), np.int32)
    set_target_signs(check_idx, target, tsign)
    it, ok = iterate(layer_ptr, var_idx, tsign, L, R, max_iterations, stall_iterations)
    for v in range(n):
        out_bits[v] = 1 if L[labels[v]] < 0 else 0
    return it, ok


def decode_warm(
    mother: object,
    priors: np.ndarray,
    targets: np.ndarray,
    max_iterations: int,
    out_bits: np.ndarray,
    out_iterations: np.ndarray,
    out_converged: np.ndarray,
    states: list[RowState] | None,
    stall_iterations: int,
) -> None:
    """Decode frames one by one with :func:`decode_frame_warm` (arrays as in
    :func:`.row_decoder.decode_frames_rows`): frame i continues from ``states[i]`` when that
    holds a previous attempt against the same syndrome, else starts cold (a fresh state when
    ``states`` is None), and the state is left holding this attempt."""
    layers = row_layers(mother)
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
