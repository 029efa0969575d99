"""What decoy-state parameter estimation starts from: the source and the observed counts.

Conventions shared by the whole distillation chain:

* intensity class 0 = signal μ, 1 = decoy ν, 2 = "vacuum" ω (:data:`SIGNAL`,
  :data:`DECOY`, :data:`VACUUM`);
* basis 0 = Z (H/V), 1 = X (D/A) (:data:`Z`, :data:`X`).

:class:`DecoySource` holds the mean photon numbers and the probabilities with which
the satellite picks them; :class:`DecoyCounts` holds, per intensity class and basis,
the sifted detections and the bit errors among them, as ``[3, 2]`` integer arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "BASIS_NAMES",
    "DECOY",
    "INTENSITY_NAMES",
    "SIGNAL",
    "VACUUM",
    "DecoyCounts",
    "DecoySource",
    "X",
    "Z",
]

SIGNAL, DECOY, VACUUM = 0, 1, 2
Z, X = 0, 1
INTENSITY_NAMES: tuple[str, str, str] = ("signal", "decoy", "vacuum")
BASIS_NAMES: tuple[str, str] = ("Z", "X")


@dataclass(frozen=True)
class DecoySource:
    """Three-intensity decoy source: mean photon numbers per pulse and their probabilities.

    The estimation formulas need ``signal > decoy + vacuum`` and ``decoy > vacuum ≥ 0``
    (the conditions under which the multi-photon terms of the decoy equations have a
    known sign). Jinan-1: μ = 0.8, ν = 0.1, ω = 0.001 with probabilities 0.5/0.25/0.25
    (SPEC §3).
    """

    signal: float
    decoy: float
    vacuum: float
    p_signal: float
    p_decoy: float
    p_vacuum: float

    def __post_init__(self) -> None:
        mu, nu, om = self.signal, self.decoy, self.vacuum
        if not (om >= 0.0 and nu > om and mu > nu + om):
            raise ValueError(
                f"intensities need signal > decoy + vacuum and decoy > vacuum >= 0, "
                f"got signal={mu!r}, decoy={nu!r}, vacuum={om!r}"
            )
        probabilities = (self.p_signal, self.p_decoy, self.p_vacuum)
        if not all(p > 0.0 for p in probabilities):
            raise ValueError(f"probabilities must be > 0, got {probabilities!r}")
        if not math.isclose(sum(probabilities), 1.0, abs_tol=1e-9):
            raise ValueError(f"probabilities must sum to 1, got sum {sum(probabilities)!r}")

    @classmethod
    def jinan1(cls) -> DecoySource:
        """The Jinan-1 source of SPEC §3: μ=0.8, ν=0.1, ω=0.001 at 0.5/0.25/0.25."""
        return cls(0.8, 0.1, 0.001, 0.5, 0.25, 0.25)

    @property
    def intensities(self) -> NDArray[np.float64]:
        """Mean photon numbers ``[μ, ν, ω]``, indexed by intensity class."""
        return np.array([self.signal, self.decoy, self.vacuum])

    @property
    def probabilities(self) -> NDArray[np.float64]:
        """Probabilities ``[p_μ, p_ν, p_ω]``, indexed by intensity class."""
        return np.array([self.p_signal, self.p_decoy, self.p_vacuum])

    def poisson(self, n_max: int) -> NDArray[np.float64]:
        """Photon-number probabilities ``[3, n_max + 1]``: row j is e^-m m^k / k! for class j."""
        k = np.arange(n_max + 1)
        log_fact = np.cumsum(np.log(np.maximum(k, 1)))
        m = self.intensities[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_p = -m + k * np.log(m) - log_fact
        out = np.exp(log_p)
        out[:, 0] = np.exp(-self.intensities)  # exact for a true vacuum (0·log 0)
        return out


def _as_count_array(name: str, values: ArrayLike) -> NDArray[np.int64]:
    array = np.asarray(values)
    if array.shape != (3, 2):
        raise ValueError(f"{name} must have shape (3, 2) [intensity, basis], got {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {array.tolist()!r}")
    if np.any(array != np.round(array)):
        raise ValueError(f"{name} must be whole counts, got {array.tolist()!r}")
    out = array.astype(np.int64)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class DecoyCounts:
    """Sifted detections and bit errors per intensity class and basis.

    ``detections[j, b]`` counts the detections of pulses of intensity class ``j``
    where satellite and ground both used basis ``b``; ``errors[j, b]`` counts those
    whose bits disagree (exact after error correction, or from a disclosed sample).
    ``pulses_sent`` (optional) is the number of pulses the satellite sent for the
    block; the bounds do not need it, it only turns a key length into a rate.
    Counts add up: ``block_a + block_b`` gives the accumulated counts.
    """

    detections: NDArray[np.int64]
    errors: NDArray[np.int64]
    pulses_sent: int | None = field(default=None)

    def __post_init__(self) -> None:
        detections = _as_count_array("detections", self.detections)
        errors = _as_count_array("errors", self.errors)
        if np.any(errors > detections):
            raise ValueError("errors cannot exceed detections in any intensity class and basis")
        if self.pulses_sent is not None and self.pulses_sent < 0:
            raise ValueError(f"pulses_sent must be >= 0, got {self.pulses_sent!r}")
        object.__setattr__(self, "detections", detections)
        object.__setattr__(self, "errors", errors)

    def __add__(self, other: DecoyCounts) -> DecoyCounts:
        if not isinstance(other, DecoyCounts):
            return NotImplemented
        pulses = (
            None
            if self.pulses_sent is None or other.pulses_sent is None
            else self.pulses_sent + other.pulses_sent
        )
        return DecoyCounts(self.detections + other.detections, self.errors + other.errors, pulses)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DecoyCounts):
            return NotImplemented
        return (
            bool(np.array_equal(self.detections, other.detections))
            and bool(np.array_equal(self.errors, other.errors))
            and self.pulses_sent == other.pulses_sent
        )

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def zeros(cls) -> DecoyCounts:
        """No detections: the start of an accumulation."""
        return cls(np.zeros((3, 2), np.int64), np.zeros((3, 2), np.int64), 0)

    @property
    def total_detections(self) -> int:
        """All sifted detections of the block."""
        return int(self.detections.sum())

    @property
    def qber(self) -> float:
        """Bit error rate over all detections (NaN without detections)."""
        n = self.total_detections
        return float(self.errors.sum() / n) if n else math.nan

    def as_dict(self) -> dict[str, object]:
        """Nested ``{"detections": {"signal": {"Z": n, "X": n}, ...}, "errors": ...}``."""

        def nested(array: NDArray[np.int64]) -> dict[str, dict[str, int]]:
            return {
                name: {BASIS_NAMES[b]: int(array[j, b]) for b in (Z, X)}
                for j, name in enumerate(INTENSITY_NAMES)
            }

        return {
            "detections": nested(self.detections),
            "errors": nested(self.errors),
            "pulses_sent": self.pulses_sent,
        }
