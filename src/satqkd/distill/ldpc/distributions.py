"""Variable-node degree distributions for the high-rate BSC codes.

Node perspective: ``{degree: fraction of variable nodes}``; check degrees are concentrated.

The shape {2, 3, 16} and its weights come from our own Monte-Carlo density evolution
(population dynamics of the sum-product messages over the BSC, 4000–5000 samples): at rate
0.9 it gave an asymptotic threshold efficiency f ≈ 1.07 for Λ = {2: 0.4(1−R), 3: rest,
16: 0.30}, against f ≈ 1.2–1.4 for distributions with few high-degree nodes. Degree-2
nodes stay below the number of checks so that they can form a forest (no low-weight
codewords made of degree-2 nodes only; see :mod:`.construction`).
"""

from __future__ import annotations

#: Node fraction of the high-degree variables and their degree.
HIGH_DEGREE = 16
HIGH_FRACTION = 0.30
#: Degree-2 node fraction as a multiple of 1 − R (must stay < 1 for the forest).
DEGREE2_PER_CHECK = 0.4


def node_fractions(rate: float) -> dict[int, float]:
    """Degree distribution for a mother code of the given rate."""
    frac2 = DEGREE2_PER_CHECK * (1.0 - rate)
    return {
        2: round(frac2, 6),
        3: round(1.0 - frac2 - HIGH_FRACTION, 6),
        HIGH_DEGREE: HIGH_FRACTION,
    }
