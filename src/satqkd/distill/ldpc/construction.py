"""Seeded, deterministic construction of irregular LDPC parity-check graphs.

The construction is a progressive edge placement in the spirit of PEG (Hu, Eleftheriou and
Arnold, IEEE Trans. Inf. Theory 51, 386 (2005)), simplified so that a 100-kbit code builds in
well under a second:

* variable degrees follow a node-perspective degree distribution, check degrees are
  concentrated (all equal to within one), which is what density evolution asks for;
* variables are connected in order of increasing degree; each new edge goes to a free check
  socket drawn at random among those whose check is not within distance two of the variable
  (no 4-cycles: girth at least 6 except for the last few edges, where we relax the rule);
* the degree-2 variables form a forest (no cycle made only of degree-2 variables), so the code
  has no low-weight codeword supported on degree-2 nodes only, the usual source of error
  floors in irregular codes with many degree-2 nodes.

All random draws come from numpy's PCG64 seeded generator, so both sides of the link rebuild
bit-identical graphs from ``(n, m, degree distribution, seed)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit


@dataclass(frozen=True)
class ParityCheckGraph:
    """A parity-check matrix H (m × n over GF(2)) stored both ways.

    ``row_ptr``/``col_idx`` is H in CSR order (edges grouped by check, variables ascending),
    ``var_ptr``/``var_checks`` the same edges grouped by variable (checks ascending).
    """

    n: int
    m: int
    row_ptr: np.ndarray
    col_idx: np.ndarray
    var_ptr: np.ndarray
    var_checks: np.ndarray

    @property
    def edges(self) -> int:
        """Number of ones in H."""
        return int(self.col_idx.size)

    def variable_degrees(self) -> np.ndarray:
        """Degree of each variable node, shape ``[n]``."""
        return np.diff(self.var_ptr)

    def check_degrees(self) -> np.ndarray:
        """Degree of each check node, shape ``[m]``."""
        return np.diff(self.row_ptr)


def degree_counts(n: int, node_fractions: dict[int, float]) -> dict[int, int]:
    """Integer node counts per degree summing to ``n`` (largest-remainder rounding)."""
    degrees = sorted(node_fractions)
    weights = np.array([node_fractions[d] for d in degrees], dtype=np.float64)
    exact = n * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n - int(counts.sum())]] += 1
    return {d: int(c) for d, c in zip(degrees, counts, strict=True)}


@njit(cache=True)
def _find(parent: np.ndarray, a: int) -> int:
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


@njit(cache=True)
def _place_edges(
    var_order: np.ndarray,
    var_deg: np.ndarray,
    check_deg: np.ndarray,
    sockets: np.ndarray,
    starts: np.ndarray,
    max_tries: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Connect variables (in ``var_order``) to free check sockets; see module docstring.

    ``sockets`` is a shuffled list of check ids (one entry per free edge slot) and ``starts``
    one uniform draw in [0, 1) per edge giving where the search for a socket begins.
    Returns variable adjacency (ptr, checks), check adjacency filled list, and the number of
    edges that had to relax the no-4-cycle rule.
    """
    n = var_deg.size
    m = check_deg.size
    var_ptr = np.zeros(n + 1, np.int64)
    for v in range(n):
        var_ptr[v + 1] = var_ptr[v] + var_deg[v]
    chk_ptr = np.zeros(m + 1, np.int64)
    for c in range(m):
        chk_ptr[c + 1] = chk_ptr[c] + check_deg[c]
    var_checks = np.full(var_ptr[n], -1, np.int64)
    chk_vars = np.full(chk_ptr[m], -1, np.int64)
    chk_fill = np.zeros(m, np.int64)
    near = np.full(m, -1, np.int64)  # stamp: check within distance 2 of current variable
    parent = np.arange(m)  # union-find over checks joined by degree-2 variables
    nfree = sockets.size
    draw = 0
    relaxed = 0
    for v in var_order:
        d = var_deg[v]
        for k in range(d):
            start = int(starts[draw] * nfree)
            draw += 1
            chosen = -1
            tries = min(max_tries, nfree)
            for level in range(2):
                limit = tries if level == 0 else nfree
                for t in range(limit):
                    idx = (start + t) % nfree
                    c = sockets[idx]
                    if near[c] == v:
                        if level == 0:
                            continue
                        # Level 1: only forbid parallel edges.
                        dup = False
                        for j in range(k):
                            if var_checks[var_ptr[v] + j] == c:
                                dup = True
                        if dup:
                            continue
                    if (
                        d == 2
                        and k == 1
                        and level == 0
                        and _find(parent, c) == _find(parent, var_checks[var_ptr[v]])
                    ):
                        continue
                    chosen = idx
                    break
                if chosen >= 0:
                    if level == 1:
                        relaxed += 1
                    break
            if chosen < 0:
                chosen = start % nfree
                relaxed += 1
            c = sockets[chosen]
            sockets[chosen] = sockets[nfree - 1]
            nfree -= 1
            var_checks[var_ptr[v] + k] = c
            chk_vars[chk_ptr[c] + chk_fill[c]] = v
            chk_fill[c] += 1
            if d == 2 and k == 1:
                ra = _find(parent, c)
                rb = _find(parent, var_checks[var_ptr[v]])
                parent[ra] = rb
            # Everything within distance 2 of v through c becomes forbidden for v's next edges.
            for j in range(chk_ptr[c], chk_ptr[c] + chk_fill[c]):
                u = chk_vars[j]
                for i in range(var_ptr[u], var_ptr[u + 1]):
                    cc = var_checks[i]
                    if cc >= 0:
                        near[cc] = v
    return var_ptr, var_checks, chk_vars, relaxed


def build_graph(
    n: int,
    m: int,
    node_fractions: dict[int, float],
    seed: int,
) -> ParityCheckGraph:
    """Build an ``m × n`` parity-check graph with the given variable degree distribution.

    ``node_fractions`` maps a variable degree to the fraction of variable nodes with that
    degree. The construction is deterministic in ``(n, m, node_fractions, seed)``.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, n, m]))
    counts = degree_counts(n, node_fractions)
    var_deg = np.concatenate([np.full(c, d, np.int64) for d, c in sorted(counts.items())])
    if counts.get(2, 0) >= m:
        raise ValueError(
            f"{counts.get(2, 0)} degree-2 variables cannot form a forest on {m} checks"
        )
    var_deg = var_deg[rng.permutation(n)]  # degrees scattered over positions
    edges = int(var_deg.sum())
    check_deg = np.full(m, edges // m, np.int64)
    check_deg[rng.permutation(m)[: edges - int(check_deg.sum())]] += 1
    sockets = rng.permutation(np.repeat(np.arange(m, dtype=np.int64), check_deg))
    # Increasing degree, random order within a degree.
    var_order = np.lexsort((rng.random(n), var_deg)).astype(np.int64)
    starts = rng.random(edges)
    _var_ptr, var_checks, _chk_vars, _relaxed = _place_edges(
        var_order, var_deg, check_deg, sockets, starts, 256
    )
    var_idx = np.repeat(np.arange(n, dtype=np.int64), var_deg)
    checks, variables = _cancel_parallel_edges(var_checks, var_idx)
    row_ptr = np.zeros(m + 1, np.int64)
    np.cumsum(np.bincount(checks, minlength=m), out=row_ptr[1:])
    return graph_from_rows(n, row_ptr, variables.astype(np.int32))


def _cancel_parallel_edges(
    checks: np.ndarray, variables: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Edges sorted by (check, variable), with parallel pairs removed.

    When the last sockets of the construction leave a variable no check it is not already
    on, it gets a second edge to one of them. Over GF(2) the two cancel (H is the same
    matrix without them), but belief propagation would count the variable twice in that
    check; so both go (an odd multiplicity keeps one edge). A 100-kbit code has 0–2 such
    pairs.
    """
    order = np.lexsort((variables, checks))
    c, v = checks[order], variables[order]
    if c.size == 0:
        return c, v
    new_run = np.ones(c.size, np.bool_)
    new_run[1:] = (c[1:] != c[:-1]) | (v[1:] != v[:-1])
    starts = np.flatnonzero(new_run)
    multiplicity = np.diff(np.append(starts, c.size))
    keep = starts[multiplicity % 2 == 1]
    return c[keep], v[keep]


def graph_from_rows(n: int, row_ptr: np.ndarray, col_idx: np.ndarray) -> ParityCheckGraph:
    """The graph of H given in CSR form (variables ascending within each check)."""
    m = row_ptr.size - 1
    check_idx = np.repeat(np.arange(m, dtype=np.int32), np.diff(row_ptr))
    order = np.argsort(col_idx, kind="stable")  # checks stay ascending within a variable
    var_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(col_idx, minlength=n), out=var_ptr[1:])
    return ParityCheckGraph(
        n=n,
        m=m,
        row_ptr=row_ptr,
        col_idx=col_idx,
        var_ptr=var_ptr,
        var_checks=check_idx[order],
    )


def count_four_cycles_hint(graph: ParityCheckGraph) -> int:
    """Number of variable pairs sharing two or more checks (0 means girth ≥ 6).

    Uses a sparse product, so only meant for tests and small codes.
    """
    import scipy.sparse as sp

    h = sp.csr_matrix(
        (np.ones(graph.edges, np.int32), graph.col_idx, graph.row_ptr), shape=(graph.m, graph.n)
    )
    overlap = (h.T @ h).tocoo()
    mask = (overlap.row < overlap.col) & (overlap.data >= 2)
    return int(mask.sum())


@njit(cache=True)
def untainted_select(
    order: np.ndarray, var_ptr: np.ndarray, var_checks: np.ndarray, m: int
) -> np.ndarray:
    """Variables from ``order`` kept greedily so that no two kept ones share a check.

    Each kept variable then owns all of its checks: it is recoverable in one step and the
    kept columns of H are linearly independent.
    """
    used = np.zeros(m, np.bool_)
    kept = np.empty(order.size, np.int64)
    count = 0
    for v in order:
        free = True
        for i in range(var_ptr[v], var_ptr[v + 1]):
            if used[var_checks[i]]:
                free = False
                break
        if free:
            for i in range(var_ptr[v], var_ptr[v + 1]):
                used[var_checks[i]] = True
            kept[count] = v
            count += 1
    return kept[:count]
