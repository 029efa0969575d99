"""The satellite's decoy-state BB84 source: its random choices and its photon statistics.

Every pulse ``k`` carries three random choices made on the satellite: an intensity class
(signal μ, decoy ν or "vacuum" ω), a basis (Z = H/V or X = D/A) and a bit. Jinan-1 sends
μ≈0.8, ν≈0.1, ω≈0.001 with probabilities 0.5/0.25/0.25 at 625 MHz and keeps every random
number it used, indexed by pulse number, for the post-processing (SPEC §3).
:class:`SourceRandomness` is that cache without the storage: the choices of pulse ``k`` are
a pure function of a seed and ``k`` (Philox4x32-10, :mod:`satqkd.photonics.rng`), so the
satellite's post-processing reads them back by RND sequence number in any order.

:class:`DecoySource` adds the physics: the mean photon number of each pulse, with the
finite "vacuum" intensity left by the intensity modulator's extinction ratio (Jinan-1
~29 dB: ω ≥ μ·10^(−2.9) ≈ 0.001) and an optional per-pulse Gaussian intensity fluctuation
(Micius: < 5 %), and Poisson photon-number statistics per intensity class.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from satqkd.errors import InputError
from satqkd.photonics.rng import _MASK32, _SHIFT32, philox_block, philox_uniform, split_seed

__all__ = [
    "BASIS_X",
    "BASIS_Z",
    "DECOY",
    "SIGNAL",
    "VACUUM",
    "DecoySource",
    "SourceRandomness",
    "effective_vacuum_intensity",
    "photon_number_pmf",
    "sample_photon_numbers",
    "sample_photon_numbers_given_nonzero",
]

SIGNAL, DECOY, VACUUM = 0, 1, 2
BASIS_Z, BASIS_X = 0, 1

# Philox counter word 2 separates independent streams drawn for the same pulse.
_STREAM_CHOICES = 0
_STREAM_FLUCTUATION = 1


def _check_probabilities(probabilities: tuple[float, float, float]) -> np.ndarray:
    p = np.asarray(probabilities, dtype=np.float64)
    if p.shape != (3,) or not np.all(np.isfinite(p)) or np.any(p < 0):
        raise InputError(
            "intensity probabilities must be three non-negative numbers (signal, decoy, vacuum)",
            field="probabilities",
            value=tuple(probabilities),
        )
    if abs(p.sum() - 1.0) > 1e-9:
        raise InputError(
            f"intensity probabilities must sum to 1 (sum is {p.sum():.12g})",
            field="probabilities",
            value=tuple(probabilities),
        )
    return p


@numba.njit(cache=True)
def _lookup_kernel(
    index: np.ndarray, k0: np.uint64, k1: np.uint64, t0: np.uint64, t1: np.uint64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = index.shape[0]
    cls = np.empty(n, dtype=np.uint8)
    basis = np.empty(n, dtype=np.uint8)
    bit = np.empty(n, dtype=np.uint8)
    for i in range(n):
        idx = np.uint64(index[i])
        r0, r1, _r2, _r3 = philox_block(
            idx & _MASK32, idx >> _SHIFT32, np.uint64(0), np.uint64(0), k0, k1
        )
        if r0 < t0:
            cls[i] = 0
        elif r0 < t1:
            cls[i] = 1
        else:
            cls[i] = 2
        basis[i] = np.uint8(r1 & np.uint64(1))
        bit[i] = np.uint8((r1 >> np.uint64(1)) & np.uint64(1))
    return cls, basis, bit


class SourceRandomness:
    """The satellite's random numbers, retrievable for any pulse index.

    Parameters
    ----------
    seed:
        Non-negative 64-bit integer; the Philox key. Different seeds give unrelated streams.
    probabilities:
        ``(p_signal, p_decoy, p_vacuum)``, summing to 1 (Jinan-1: 0.5, 0.25, 0.25).

    The intensity class comes from a 32-bit uniform word compared with integer thresholds
    (probability resolution 2**-32), basis and bit from two bits of a second, independent
    word; basis and bit are uniform (SPEC §3: "bases and bits uniformly random").
    """

    def __init__(self, seed: int, probabilities: tuple[float, float, float]) -> None:
        self.seed = int(seed)
        self._key = split_seed(seed)
        self.probabilities = tuple(float(x) for x in _check_probabilities(probabilities))
        cumulative = np.cumsum(self.probabilities)
        # Thresholds on a 32-bit word: class 0 if word < t0, 1 if < t1, else 2.
        self._t0 = np.uint64(min(round(cumulative[0] * 2**32), 2**32))
        self._t1 = np.uint64(min(round(cumulative[1] * 2**32), 2**32))

    def __repr__(self) -> str:
        return f"SourceRandomness(seed={self.seed}, probabilities={self.probabilities})"

    def lookup(self, pulse_index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Intensity class, basis and bit of each pulse in ``pulse_index`` (uint64, any shape).

        Returns three uint8 arrays of the same shape: ``intensity_class`` (0 signal,
        1 decoy, 2 vacuum), ``basis`` (0 Z = H/V, 1 X = D/A) and ``bit``.
        """
        idx = np.asarray(pulse_index)
        if idx.dtype.kind not in "ui":
            raise InputError("pulse indices must be integers", field="pulse_index")
        if idx.dtype.kind == "i" and idx.size and idx.min() < 0:
            raise InputError("pulse indices must be non-negative", field="pulse_index")
        flat = np.ascontiguousarray(idx.astype(np.uint64, copy=False).ravel())
        cls, basis, bit = _lookup_kernel(
            flat, np.uint64(self._key[0]), np.uint64(self._key[1]), self._t0, self._t1
        )
        return cls.reshape(idx.shape), basis.reshape(idx.shape), bit.reshape(idx.shape)

    def prepared_state(self, pulse_index: np.ndarray) -> np.ndarray:
        """Prepared polarisation state ``2·basis + bit`` (0 H, 1 V, 2 D, 3 A), uint8."""
        _, basis, bit = self.lookup(pulse_index)
        return (2 * basis + bit).astype(np.uint8)


def effective_vacuum_intensity(
    signal_mean_photon_number: float, vacuum_mean_photon_number: float, extinction_ratio_db: float
) -> float:
    """Mean photon number actually sent in the "vacuum" class.

    An intensity modulator with extinction ratio ER cannot go below μ·10^(−ER/10); the
    configured ω is raised to that floor when it is smaller (Micius configures 0; Jinan-1's
    ω ≈ 0.001 is 0.8·10^(−2.9) for its ~29 dB ER).
    """
    if extinction_ratio_db < 0 or not math.isfinite(extinction_ratio_db):
        raise InputError(
            "extinction ratio must be a non-negative number of dB",
            field="extinction_ratio_db",
            value=extinction_ratio_db,
        )
    floor = signal_mean_photon_number * 10.0 ** (-extinction_ratio_db / 10.0)
    return max(float(vacuum_mean_photon_number), floor)


class DecoySource:
    """Decoy-state BB84 source: random choices per pulse and the mean photon number sent.

    Parameters
    ----------
    intensities:
        Configured mean photon numbers ``(μ, ν, ω)`` at the satellite output.
    probabilities:
        ``(p_μ, p_ν, p_ω)``.
    seed:
        Key of the satellite's random numbers (:class:`SourceRandomness`) and of the
        intensity fluctuation (an independent Philox stream of the same key).
    extinction_ratio_db:
        Intensity-modulator extinction ratio; ``None`` means ideal (ω as configured).
    intensity_fluctuation_rel:
        Relative standard deviation of the per-pulse intensity (Gaussian, clipped at 0);
        0 disables it. The fluctuation of pulse ``k`` is itself a function of ``k``.
    """

    def __init__(
        self,
        intensities: tuple[float, float, float],
        probabilities: tuple[float, float, float],
        seed: int,
        *,
        extinction_ratio_db: float | None = None,
        intensity_fluctuation_rel: float = 0.0,
    ) -> None:
        mu = np.asarray(intensities, dtype=np.float64)
        if mu.shape != (3,) or not np.all(np.isfinite(mu)) or np.any(mu < 0):
            raise InputError(
                "intensities must be three non-negative mean photon numbers (μ, ν, ω)",
                field="intensities",
                value=tuple(intensities),
            )
        if not 0.0 <= intensity_fluctuation_rel < 1.0:
            raise InputError(
                "relative intensity fluctuation must be in [0, 1)",
                field="intensity_fluctuation_rel",
                value=intensity_fluctuation_rel,
            )
        if extinction_ratio_db is not None:
            mu[2] = effective_vacuum_intensity(mu[0], mu[2], extinction_ratio_db)
        self.mean_photon_numbers = mu
        self.randomness = SourceRandomness(seed, probabilities)
        self.seed = int(seed)
        self.intensity_fluctuation_rel = float(intensity_fluctuation_rel)

    @property
    def probabilities(self) -> tuple[float, float, float]:
        """``(p_μ, p_ν, p_ω)``."""
        return self.randomness.probabilities

    def lookup(self, pulse_index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(intensity_class, basis, bit)`` of each pulse; see :meth:`SourceRandomness.lookup`."""
        return self.randomness.lookup(pulse_index)

    def mean_photon_number(
        self, pulse_index: np.ndarray, intensity_class: np.ndarray | None = None
    ) -> np.ndarray:
        """Mean photon number sent in each pulse (float64), fluctuation included.

        ``intensity_class`` may be passed when already looked up, to save the lookup.
        """
        idx = np.asarray(pulse_index, dtype=np.uint64)
        if intensity_class is None:
            intensity_class, _, _ = self.lookup(idx)
        mean = self.mean_photon_numbers[np.asarray(intensity_class, dtype=np.intp)]
        if self.intensity_fluctuation_rel > 0.0:
            u0, u1 = philox_uniform(idx, self.seed, _STREAM_FLUCTUATION)
            gauss = np.sqrt(-2.0 * np.log(u0)) * np.cos(2.0 * np.pi * u1)
            factor = 1.0 + self.intensity_fluctuation_rel * gauss.reshape(idx.shape)
            mean = np.maximum(mean * factor, 0.0)
        return mean

    def photon_number_pmf(self, n_max: int) -> np.ndarray:
        """Poisson photon-number distribution per class, ``[3, n_max + 1]`` (rows μ, ν, ω).

        These are the c_k, b_k, a_k of the decoy analysis (SPEC §8), without fluctuation.
        """
        return photon_number_pmf(self.mean_photon_numbers, n_max)


def photon_number_pmf(mean_photon_number: np.ndarray, n_max: int) -> np.ndarray:
    """Poisson probabilities P(n) for n = 0..n_max, shape ``[..., n_max + 1]``."""
    m = np.asarray(mean_photon_number, dtype=np.float64)[..., None]
    n = np.arange(n_max + 1)
    log_factorial = np.cumsum(np.log(np.maximum(n, 1)))
    with np.errstate(divide="ignore"):
        log_m = np.where(m > 0, np.log(np.where(m > 0, m, 1.0)), -np.inf)
    logp = np.where(n == 0, -m, n * log_m - m - log_factorial)
    return np.exp(logp)


def sample_photon_numbers(mean_photon_number: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson photon numbers with the given means (a coherent pulse, phase randomised).

    Loss thins a Poisson distribution into a Poisson one, so the photons reaching the
    receiver are sampled with mean ``mean_photon_number · transmittance``.
    """
    return rng.poisson(np.asarray(mean_photon_number, dtype=np.float64)).astype(np.int64)


@numba.njit(cache=True)
def _zero_truncated_poisson(mean: np.ndarray, u: np.ndarray) -> np.ndarray:
    out = np.empty(mean.shape[0], dtype=np.int64)
    for i in range(mean.shape[0]):
        m = mean[i]
        # Inversion of P(n | n >= 1) = m^n e^-m / n! / (1 - e^-m), n = 1, 2, ...
        p = m / math.expm1(m) if m > 0 else 1.0
        c = p
        n = 1
        target = u[i]
        while target > c and n < 1000:
            n += 1
            p *= m / n
            c += p
        out[i] = n
    return out


def sample_photon_numbers_given_nonzero(
    mean_photon_number: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Poisson photon numbers conditioned on at least one photon (zero-truncated Poisson).

    For an engine that first picks which pulses carry any photon (probability
    ``1 − exp(−m)``) and then needs only their photon numbers.
    """
    m = np.ascontiguousarray(np.asarray(mean_photon_number, dtype=np.float64).ravel())
    if m.size and (np.any(m < 0) or np.any(~np.isfinite(m))):
        raise ValueError("mean photon numbers must be finite and non-negative")
    return _zero_truncated_poisson(m, rng.random(m.size))
