"""Float64 sum-product reference for the LDPC check-update tests (both kernels' arithmetic)."""

from __future__ import annotations

import math

import numpy as np

#: |R| cap of the kernels: 25 ln 2 (float32 tanh(Q/2) rounds to 1 beyond).
R_CAP = 25.0 * math.log(2.0)
#: (check degree, |Q| range, fraction of erased inputs): from short checks of unreliable
#: inputs to 95-edge checks whose every input is reliable (the cancellation case).
CHECK_CASES = [(3, 0.0, 4.0, 0.0), (20, 0.0, 12.0, 0.05), (20, 6.0, 20.0, 0.0),
               (60, 9.0, 11.0, 0.0), (95, 5.0, 12.0, 0.01), (95, 10.0, 20.0, 0.0)]


def reference_messages(q: np.ndarray, target: np.ndarray) -> np.ndarray:
    """R_i = s · 2 atanh(Π_{j≠i} tanh(q_j/2)) in float64 for edges × lanes ``q``, capped at
    :data:`R_CAP`; s = −1 in the lanes whose target syndrome bit is 1."""
    t = np.tanh(q.astype(np.float64) / 2.0)
    out = np.empty_like(t)
    for i in range(q.shape[0]):
        p = np.prod(np.delete(t, i, axis=0), axis=0) * np.where(target, -1.0, 1.0)
        out[i] = 2.0 * np.arctanh(np.clip(p, -1.0 + 1e-16, 1.0 - 1e-16))
    return np.clip(out, -R_CAP, R_CAP)
