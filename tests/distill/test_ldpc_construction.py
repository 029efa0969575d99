"""The parity-check construction: no parallel edges, the degrees asked for."""

from __future__ import annotations

import numpy as np
import pytest

from satqkd.distill.ldpc import CodeFamily
from satqkd.distill.ldpc.construction import _cancel_parallel_edges, build_graph


def test_parallel_pairs_cancel_and_odd_multiplicity_keeps_one() -> None:
    checks = np.array([0, 0, 0, 1, 1, 1, 1, 2])
    variables = np.array([5, 5, 3, 4, 4, 4, 2, 7])
    c, v = _cancel_parallel_edges(checks, variables)
    assert list(zip(c.tolist(), v.tolist(), strict=True)) == [(0, 3), (1, 2), (1, 4), (2, 7)]


@pytest.mark.parametrize(("qber", "frame_bits"), [(0.05, 5_000), (0.02, 20_000)])
def test_family_codes_have_no_parallel_edges(qber: float, frame_bits: int) -> None:
    code = CodeFamily.default().select(qber, frame_bits, sample_bits=None).mother
    g = code.graph
    check_of_edge = np.repeat(np.arange(g.m), np.diff(g.row_ptr))
    pairs = check_of_edge.astype(np.int64) * g.n + g.col_idx
    assert np.unique(pairs).size == pairs.size
    # Sorted within each check (the decoders' and the syndrome's layout).
    assert all(np.all(np.diff(g.col_idx[g.row_ptr[c]:g.row_ptr[c + 1]]) > 0) for c in range(g.m))


def test_degree_distribution_is_kept_up_to_cancelled_pairs() -> None:
    g = build_graph(4000, 1200, {2: 0.25, 3: 0.55, 8: 0.2}, seed=11)
    degrees = np.diff(g.var_ptr)
    expected = {2: 1000, 3: 2200, 8: 800}
    counts = {int(d): int(c) for d, c in zip(*np.unique(degrees, return_counts=True), strict=True)}
    # A cancelled pair lowers one variable's degree by 2: at most a handful differ.
    assert sum(abs(counts.get(d, 0) - c) for d, c in expected.items()) <= 6
