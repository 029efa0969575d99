"""The atmosphere between the satellite and the ground station: extinction and fading.

Two effects, both functions of the elevation of the line of sight:

* **Extinction** (absorption and scattering out of the beam). The slant path crosses
  ``airmass`` times the zenith column, so the transmittance is
  ``T(el) = T_zenith ** airmass(el)`` (Beer–Lambert). The airmass is the Kasten & Young
  (1989) formula, accurate to better than 0.5% down to the horizon (where plane-parallel
  ``1/sin(el)`` diverges). ``T_zenith`` is a station parameter: about 0.9 at 850 nm on a
  clear night at a low site (≈0.11 mag per airmass, cf. the I-band extinction of 0.09 mag
  measured at Mt. Shatdzhatmaz, Kornilov et al. 2016); an optional extra haze / urban
  aerosol extinction in dB at zenith scales with the same airmass.
  Reference figure: Micius reported 3–8 dB "atmospheric absorption and turbulence" at
  1200 km (elevation ≈ 20° for its ~500 km orbit). This model gives 1.3 dB at 20° for a
  clear T_zenith = 0.9 and 4.5 dB for a hazy T_zenith = 0.7; the published range also
  contains turbulence effects this extinction model leaves to :func:`draw_fading`.

* **Turbulence fading** (scintillation). The collected power fluctuates about its mean;
  for weak turbulence the log-irradiance ``X = ln I`` is Gaussian (log-normal fading) with
  variance ``sigma2``. The Rytov variance of a downlink grows with the zenith angle ζ as
  ``sec(ζ) ** (11/6)`` (Andrews & Phillips, *Laser Beam Propagation through Random Media*,
  2nd ed., ch. 12); we use the airmass in place of ``sec ζ`` so the value stays finite at
  the horizon. ``sigma2_zenith`` is the aperture-averaged value at zenith (a metre-class
  telescope averages most of the scintillation away: 0.01–0.05 is typical at night;
  a small aperture sees more). Approximate: weak-turbulence theory, no saturation regime.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from satqkd.errors import InputError
from satqkd.link import _validate

__all__ = [
    "airmass",
    "atmosphere_loss_db",
    "atmospheric_transmittance",
    "draw_fading",
    "scintillation_log_variance",
]

#: Exponent of the airmass in the growth of the log-irradiance variance (sec ζ ** 11/6).
SCINTILLATION_AIRMASS_EXPONENT = 11.0 / 6.0


def airmass(elevation_deg: ArrayLike) -> NDArray[np.float64]:
    """Relative optical airmass of the line of sight at ``elevation_deg`` (1 at zenith).

    Kasten & Young (1989), *Applied Optics* 28, 4735:
    ``X = 1 / (sin h + 0.50572 (h + 6.07995°) ** -1.6364)``, h the elevation in degrees.
    X(90°) = 0.9997, X(30°) = 1.994, X(10°) = 5.586, X(0°) = 37.92. Elevations below the
    horizon are clipped to 0° (the satellite is not visible there anyway).
    """
    h_deg = np.clip(_validate.elevation("elevation_deg", elevation_deg), 0.0, 90.0)
    return 1.0 / (np.sin(np.radians(h_deg)) + 0.50572 * (h_deg + 6.07995) ** -1.6364)


def atmospheric_transmittance(
    elevation_deg: ArrayLike,
    zenith_transmittance: ArrayLike = 0.9,
    haze_extinction_db: ArrayLike = 0.0,
) -> NDArray[np.float64]:
    """Fraction of the beam power that crosses the atmosphere along the slant path.

    ``T = zenith_transmittance ** X * 10 ** (-haze_extinction_db * X / 10)`` with ``X`` the
    Kasten–Young :func:`airmass`. ``haze_extinction_db`` is an extra zenith extinction (hazy
    or polluted urban air) added on top of the clear-sky ``zenith_transmittance``.
    Broadcasts over its arguments.
    """
    t_zenith = _validate.fraction("zenith_transmittance", zenith_transmittance)
    haze_db = _validate.non_negative("haze_extinction_db", haze_extinction_db)
    x = airmass(elevation_deg)
    return t_zenith**x * 10.0 ** (-haze_db * x / 10.0)


def atmosphere_loss_db(
    elevation_deg: ArrayLike,
    zenith_transmittance: ArrayLike = 0.9,
    haze_extinction_db: ArrayLike = 0.0,
) -> NDArray[np.float64]:
    """Atmospheric extinction as a positive loss in dB (see :func:`atmospheric_transmittance`)."""
    return -10.0 * np.log10(
        atmospheric_transmittance(elevation_deg, zenith_transmittance, haze_extinction_db)
    )


def scintillation_log_variance(
    elevation_deg: ArrayLike, sigma2_zenith: ArrayLike
) -> NDArray[np.float64]:
    """Variance of the log-irradiance ``ln I`` at ``elevation_deg``.

    ``sigma2 = sigma2_zenith * airmass(el) ** (11/6)`` (weak-turbulence scaling of the
    Rytov variance with zenith angle; see the module docstring).
    """
    s2 = _validate.non_negative("sigma2_zenith", sigma2_zenith)
    return s2 * airmass(elevation_deg) ** SCINTILLATION_AIRMASS_EXPONENT


def draw_fading(
    t_s: ArrayLike,
    elevation_deg: ArrayLike,
    *,
    sigma2_zenith: float,
    coherence_time_s: float,
    rng: np.random.Generator | int | None = None,
) -> NDArray[np.float64]:
    """Draw a time series of turbulence fading factors (mean 1) along a pass.

    Returns ``I(t) = exp(X(t))`` with ``X(t)`` Gaussian, mean ``-sigma2(t)/2`` and variance
    ``sigma2(t)`` = :func:`scintillation_log_variance` at each sample, so that
    ``E[I(t)] = 1`` exactly at every instant: fading redistributes the received power in time
    but does not change its mean (mean losses live in the extinction and pointing terms).
    Successive samples are correlated as ``exp(-|Δt| / coherence_time_s)`` (a first-order
    Gauss–Markov process; atmospheric coherence times are ~1–10 ms). ``t_s`` must be
    increasing; it may be irregular. Each value is the instantaneous factor at ``t_s``, not
    an average over the step: for steps much longer than the coherence time the samples are
    independent draws.

    Parameters
    ----------
    t_s:
        Sample times in seconds, shape ``[n]``, strictly increasing.
    elevation_deg:
        Elevation at each sample (``[n]``) or a scalar.
    sigma2_zenith:
        Log-irradiance variance at zenith (0 gives all-ones).
    coherence_time_s:
        Correlation time of the log-irradiance, > 0.
    rng:
        A numpy Generator or a seed; the same seed gives the same series.
    """
    t = _validate.as_array(t_s)
    if t.ndim != 1:
        raise InputError("must be a 1-D array of times", source="satqkd.link",
                                   field="t_s", value=f"shape {t.shape}")
    if t.size > 1 and not np.all(np.diff(t) > 0.0):
        raise InputError("must be strictly increasing", source="satqkd.link",
                                   field="t_s")
    tau_s = float(_validate.positive("coherence_time_s", coherence_time_s))
    sigma2 = np.broadcast_to(scintillation_log_variance(elevation_deg, sigma2_zenith), t.shape)
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    innovations = generator.standard_normal(t.size)
    rho = np.exp(-np.diff(t) / tau_s) if t.size > 1 else np.empty(0)
    unit = _gauss_markov(rho, innovations)
    return np.exp(-0.5 * sigma2 + np.sqrt(sigma2) * unit)


@njit(cache=True)
def _gauss_markov(
    rho: NDArray[np.float64], innovations: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Unit-variance AR(1) series: ``z[k] = rho[k-1] z[k-1] + sqrt(1 - rho[k-1]**2) e[k]``."""
    n = innovations.size
    z = np.empty(n)
    if n == 0:
        return z
    z[0] = innovations[0]
    for k in range(1, n):
        r = rho[k - 1]
        z[k] = r * z[k - 1] + np.sqrt(1.0 - r * r) * innovations[k]
    return z
