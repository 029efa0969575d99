"""Variable-node degree distributions for the high-rate BSC codes, indexed by code rate.

Node perspective: ``{degree: fraction of variable nodes}``; check degrees are concentrated.
"""

from __future__ import annotations


def node_fractions(rate: float) -> dict[int, float]:
    """Degree distribution for a mother code of the given rate (placeholder heuristic)."""
    frac2 = min(0.25, 0.9 * (1.0 - rate))
    frac_high = 0.06
    return {2: round(frac2, 6), 3: round(1.0 - frac2 - frac_high, 6), 10: frac_high}
