"""Warm restart of the check-parallel kernel: per-frame decoder state between blind attempts.

Blind reconciliation decodes a frame again after each reveal. Layered BP keeps
L = prior + Σ R exactly, so keeping the check messages R and moving each posterior by its
prior's change continues the previous attempt instead of starting over
(:func:`decode_frame_warm`, with an optional early stop of attempts that stall);
:func:`.row_decoder.decode` runs it frame by frame with one :class:`RowState` per frame.
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
