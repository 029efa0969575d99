"""Background counts at the ground station: detector dark counts, night sky and Moon.

Everything that is not signal and still clicks a detector:

* **Dark counts**, a property of each detector (Micius: < 25 Hz).
* **Night-sky light** (airglow, starlight, zodiacal light and, at urban sites, scattered
  artificial light) entering the telescope's field of view. The photon rate at the
  detector input is ``L · A · Ω · Δλ · η_rx`` with L the sky's spectral radiance in
  photons/(s·m²·sr·nm), A the collecting area (central obscuration removed), Ω the solid
  angle of the field stop, Δλ the filter width and η_rx the receiver optics; the detector
  efficiency turns photons into clicks. Unpolarised background is split evenly over the
  ``n_detectors`` behind the passive BB84 analyser.
* **Moonlight** scattered by the atmosphere into the line of sight (Krisciunas & Schaefer
  1991, *PASP* 103, 1033), strongest close to the Moon and at full Moon.

Site classes (:data:`SKY_ZENITH_MAG_I`). Zenith sky brightness on a clear moonless night
in the astronomical I band (~800 nm, the band closest to the 850 nm signal), converted to
photon radiance with the Vega I-band zero point (Bessell 1998: 1.12e-9 erg/s/cm²/Å at
798 nm), giving 1.9e18·10^(−0.4 m) photons/(s·m²·sr·nm):

* ``mountain``: 19.5 mag/arcsec² → 3.0e10. Dark observatories measure 19.0–19.9 in I
  (median moonless I = 19.0 at Mt. Shatdzhatmaz, Kornilov et al. 2016; ~19.7 at Paranal,
  Patat 2003).
* ``rural``: 18.5 mag/arcsec² → 7.6e10 (≈2.5× a dark site: suburbs on the horizon).
* ``urban``: 16.0 mag/arcsec² → 7.6e11 (25× a dark site). City-centre skies are
  17–18.5 mag/arcsec² in V against 21.6–21.9 at dark sites (30–60× brighter; Berry's
  scale, Duriscoe et al. 2007 *PASP* 119, 192); the contrast is smaller in the near
  infrared because the natural sky there is dominated by airglow.

These are representative values, not measurements at the campaign's stations: each class
has a clearly named constant, and ``sky_brightness_scale`` multiplies it per station (hazy
urban nights are brighter) so the model can be calibrated to a measured background. Away
from zenith the sky brightens as in Krisciunas & Schaefer's dark-sky term,
``B(Z) = B_zen · 10^(−0.4 k (X−1)) · X`` with their airmass ``X = (1 − 0.96 sin² Z)^−½``
and extinction k (mag/airmass) from the station's zenith transmittance.

Moon (approximate, adapted from the V band): Krisciunas & Schaefer's
``B_moon = f(ρ) · I* · 10^(−0.4 k X_moon) · (1 − 10^(−0.4 k X))`` (nanoLamberts), with the
Moon's V illuminance ``I* = 10^(−0.4 (3.84 + 0.026 |α| + 4e-9 α⁴))`` for phase angle α
(0 = full), the scattering function ``f(ρ) = 10^5.36 (1.06 + cos² ρ) + 10^(6.15 − ρ/40)``
(``6.2e7 / ρ²`` below ρ = 10°), ρ the Moon–line-of-sight separation. Adaptation to 850 nm:
k is taken at the signal wavelength (from ``zenith_transmittance``, which lowers the
scattered fraction relative to V), and the V-band surface brightness is converted to
photons with the V zero point and a near-IR/V photon ratio of 1.0
(:data:`MOON_NIR_PER_V_PHOTONS`: the solar spectrum has ~0.8× as many photons per nm at
850 nm as at 550 nm, the Moon's redder albedo brings that back to ~1). Good to a factor
of ~2; the model is not valid within ~1° of the Moon (separations are clipped to 1°).
For a full Moon 30° from the line of sight this gives V ≈ 17.6 mag/arcsec² at a V-band
extinction of 0.17 mag/airmass, close to the ~17.5–18 reported for such nights.

Gating. A gate of width g per pulse period keeps ``g·f_rep`` of the uniformly arriving
background (:func:`satqkd.link.gating.background_gate_fraction`): Jinan-1's 800 ps at
625 MHz halves it (−3 dB). ``probability_per_gate`` is the chance of at least one
background click inside one gate, ``1 − exp(−rate · g)``.

Sanity check against Tiangong-2 (SPEC §2: ~300 counts/s including dark counts, 1.2 m
receiver, receiver optics ~7 dB): the test suite checks that a mountain site with an
assumed 100 µrad field of view and 5 nm filter (not published in SPEC) lands within a
factor of 3 of that figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from satqkd.errors import InputError
from satqkd.link import _validate
from satqkd.link.gating import background_gate_fraction

__all__ = [
    "ARCSEC2_PER_SR",
    "MOON_NIR_PER_V_PHOTONS",
    "SKY_ZENITH_MAG_I",
    "Background",
    "SkyClass",
    "background_counts",
    "fov_solid_angle_sr",
    "moon_radiance",
    "phase_angle_from_illuminated_fraction",
    "sky_radiance",
    "sky_zenith_radiance",
]

SkyClass = Literal["urban", "rural", "mountain"]

#: Zenith sky brightness (I band, mag/arcsec²) on a clear moonless night, per site class.
#: The calibration constants of the background model (see the module docstring).
SKY_ZENITH_MAG_I: dict[str, float] = {"urban": 16.0, "rural": 18.5, "mountain": 19.5}

#: Photons per nm at ~850 nm per photon per nm at V (550 nm) for scattered moonlight.
MOON_NIR_PER_V_PHOTONS = 1.0

#: Square arcseconds in one steradian.
ARCSEC2_PER_SR = (180.0 * 3600.0 / np.pi) ** 2

_H_J_S = 6.62607015e-34
_C_M_S = 299_792_458.0
# Vega zero points (Bessell 1998), W/(m² nm) at the band's effective wavelength (nm).
_I_ZERO_W_M2_NM, _I_LAMBDA_NM = 1.12e-11, 798.0
_V_ZERO_W_M2_NM, _V_LAMBDA_NM = 3.63e-11, 545.0


def _mag_to_photon_radiance(mag_arcsec2: ArrayLike, zero_w_m2_nm: float, lambda_nm: float
                            ) -> NDArray[np.float64]:
    """Surface brightness (mag/arcsec²) → photons/(s·m²·sr·nm) for a band's zero point."""
    photons_at_zero = zero_w_m2_nm * lambda_nm * 1e-9 / (_H_J_S * _C_M_S)
    return photons_at_zero * ARCSEC2_PER_SR * 10.0 ** (-0.4 * np.asarray(mag_arcsec2, float))


def sky_zenith_radiance(sky_class: SkyClass, sky_brightness_scale: float = 1.0) -> float:
    """Zenith night-sky spectral radiance (photons/(s·m²·sr·nm)) for a site class, scaled."""
    if sky_class not in SKY_ZENITH_MAG_I:
        raise InputError(f"must be one of {sorted(SKY_ZENITH_MAG_I)}", source="satqkd.link",
                         field="sky_class", value=sky_class)
    scale = float(_validate.positive("sky_brightness_scale", sky_brightness_scale))
    mag = SKY_ZENITH_MAG_I[sky_class]
    return float(_mag_to_photon_radiance(mag, _I_ZERO_W_M2_NM, _I_LAMBDA_NM)) * scale


def _ks_airmass(elevation_deg: NDArray[np.float64]) -> NDArray[np.float64]:
    """Krisciunas & Schaefer's airmass ``(1 − 0.96 sin² Z)^−½`` (finite at the horizon)."""
    z_rad = np.radians(90.0 - np.clip(elevation_deg, 0.0, 90.0))
    return (1.0 - 0.96 * np.sin(z_rad) ** 2) ** -0.5


def _extinction_mag(zenith_transmittance: ArrayLike) -> NDArray[np.float64]:
    """Extinction coefficient k (mag per airmass) for a zenith transmittance."""
    return -2.5 * np.log10(_validate.fraction("zenith_transmittance", zenith_transmittance))


def sky_radiance(
    elevation_deg: ArrayLike,
    sky_class: SkyClass = "urban",
    *,
    sky_brightness_scale: float = 1.0,
    zenith_transmittance: ArrayLike = 0.9,
) -> NDArray[np.float64]:
    """Moonless night-sky spectral radiance along the line of sight, photons/(s·m²·sr·nm).

    Zenith value of the site class times the Krisciunas–Schaefer dark-sky elevation term
    ``10^(−0.4 k (X−1)) · X`` (brighter towards the horizon).
    """
    el = _validate.elevation("elevation_deg", elevation_deg)
    x = _ks_airmass(el)
    k = _extinction_mag(zenith_transmittance)
    zenith = sky_zenith_radiance(sky_class, sky_brightness_scale)
    return zenith * 10.0 ** (-0.4 * k * (x - 1.0)) * x


def phase_angle_from_illuminated_fraction(illuminated_fraction: ArrayLike) -> NDArray[np.float64]:
    """Lunar phase angle α (deg, 0 = full) from the illuminated fraction ``(1 + cos α) / 2``."""
    f = _validate.fraction("illuminated_fraction", illuminated_fraction, allow_zero=True)
    return np.degrees(np.arccos(2.0 * f - 1.0))


def moon_radiance(
    separation_deg: ArrayLike,
    moon_elevation_deg: ArrayLike,
    phase_angle_deg: ArrayLike,
    elevation_deg: ArrayLike,
    *,
    zenith_transmittance: ArrayLike = 0.9,
) -> NDArray[np.float64]:
    """Moonlight scattered into the line of sight, photons/(s·m²·sr·nm) at ~850 nm.

    Krisciunas & Schaefer (1991) adapted to 850 nm (module docstring; approximate, good to a
    factor ~2). ``separation_deg`` is the angle between the Moon and the line of sight,
    ``phase_angle_deg`` the lunar phase angle (0 full, 180 new), ``elevation_deg`` the
    elevation of the line of sight. Zero when the Moon is below the horizon.
    """
    rho = np.clip(_validate.as_array(separation_deg), 1.0, 180.0)
    alpha = np.abs(_validate.as_array(phase_angle_deg))
    if np.any(alpha > 180.0):
        raise InputError("must lie in [-180, 180] deg", source="satqkd.link",
                         field="phase_angle_deg", value=float(np.max(alpha)))
    moon_el = _validate.elevation("moon_elevation_deg", moon_elevation_deg)
    el = _validate.elevation("elevation_deg", elevation_deg)
    k = _extinction_mag(zenith_transmittance)
    illuminance = 10.0 ** (-0.4 * (3.84 + 0.026 * alpha + 4e-9 * alpha**4))
    rho_rad = np.radians(rho)
    scattering = np.where(
        rho >= 10.0,
        10.0**5.36 * (1.06 + np.cos(rho_rad) ** 2) + 10.0 ** (6.15 - rho / 40.0),
        6.2e7 / rho**2,
    )
    brightness_nl = (
        scattering * illuminance * 10.0 ** (-0.4 * k * _ks_airmass(moon_el))
        * -np.expm1(-0.4 * np.log(10.0) * k * _ks_airmass(el))
    )
    brightness_nl = np.where(moon_el > 0.0, brightness_nl, 0.0)
    # nanoLamberts -> V surface brightness: B = 34.08 exp(20.7233 − 0.92104 V) (K&S eq. 27),
    # and 0.92104 = 0.4 ln 10, so 10^(−0.4 V) = B / (34.08 e^20.7233): linear in B.
    v_flux_ratio = brightness_nl / (34.08 * np.exp(20.7233))
    v_photons = _mag_to_photon_radiance(0.0, _V_ZERO_W_M2_NM, _V_LAMBDA_NM) * v_flux_ratio
    return v_photons * MOON_NIR_PER_V_PHOTONS


def fov_solid_angle_sr(fov_urad: ArrayLike) -> NDArray[np.float64]:
    """Solid angle (sr) of a circular field of view of full angle ``fov_urad``.

    ``2π (1 − cos(FOV/2))`` ≈ ``π (FOV/2)²``.
    """
    half_rad = _validate.positive("fov_urad", fov_urad) * 1e-6 / 2.0
    return 4.0 * np.pi * np.sin(half_rad / 2.0) ** 2  # = 2π(1 − cos), without cancellation


@dataclass(frozen=True)
class Background:
    """Background at each time sample, **per detector**; arrays broadcast to the inputs.

    Rates are clicks per second over the whole time axis (ungated); ``gated_hz`` counts
    only clicks that fall inside the gates; ``probability_per_gate`` is the chance of at
    least one background click in one gate.
    """

    sky_radiance: NDArray[np.float64]
    """Moonless sky radiance along the line of sight, photons/(s·m²·sr·nm)."""
    moon_radiance: NDArray[np.float64]
    """Scattered moonlight radiance along the line of sight, photons/(s·m²·sr·nm)."""
    sky_hz: NDArray[np.float64]
    """Clicks from the night sky."""
    moon_hz: NDArray[np.float64]
    """Clicks from moonlight."""
    dark_hz: NDArray[np.float64]
    """Dark counts."""
    total_hz: NDArray[np.float64]
    """``sky_hz + moon_hz + dark_hz`` (ungated)."""
    gate_fraction: NDArray[np.float64]
    """Fraction of time covered by the gates, ``min(1, gate · rep_rate)``."""
    gated_hz: NDArray[np.float64]
    """Background clicks per second inside the gates, ``total_hz · gate_fraction``."""
    probability_per_gate: NDArray[np.float64]
    """Probability of ≥ 1 background click in one gate, ``1 − exp(−total_hz · gate)``."""


def background_counts(
    *,
    rx_aperture_m: ArrayLike,
    fov_urad: ArrayLike,
    filter_width_nm: ArrayLike,
    rx_optical_efficiency: ArrayLike,
    detector_efficiency: ArrayLike,
    dark_count_hz: ArrayLike,
    gate_ps: ArrayLike,
    rep_rate_hz: ArrayLike,
    elevation_deg: ArrayLike = 90.0,
    sky_class: SkyClass = "urban",
    sky_brightness_scale: float = 1.0,
    zenith_transmittance: ArrayLike = 0.9,
    central_obscuration: ArrayLike = 0.0,
    moon_separation_deg: ArrayLike | None = None,
    moon_elevation_deg: ArrayLike | None = None,
    moon_phase_angle_deg: ArrayLike | None = None,
    n_detectors: int = 4,
) -> Background:
    """Background clicks per detector along a pass (vectorised over time samples).

    Sky and Moon photons at the detector input are ``L · A · Ω · Δλ · η_rx``, turned into
    clicks by ``detector_efficiency`` and shared evenly over ``n_detectors``; each detector
    adds its ``dark_count_hz``. The Moon is included when all three ``moon_*`` arguments are
    given (arrays over time, e.g. from the orbit module). See the module docstring for the
    models and their sources.
    """
    area_m2 = np.pi * (_validate.positive("rx_aperture_m", rx_aperture_m) / 2.0) ** 2 * (
        1.0 - _validate.obscuration("central_obscuration", central_obscuration) ** 2
    )
    etendue = (
        area_m2 * fov_solid_angle_sr(fov_urad)
        * _validate.positive("filter_width_nm", filter_width_nm)
        * _validate.fraction("rx_optical_efficiency", rx_optical_efficiency)
        * _validate.fraction("detector_efficiency", detector_efficiency)
    )
    if not isinstance(n_detectors, int | np.integer) or n_detectors < 1:
        raise InputError("must be a positive integer", source="satqkd.link",
                         field="n_detectors", value=n_detectors)
    per_detector = etendue / n_detectors
    sky_l = sky_radiance(elevation_deg, sky_class, sky_brightness_scale=sky_brightness_scale,
                         zenith_transmittance=zenith_transmittance)
    moon_args = (moon_separation_deg, moon_elevation_deg, moon_phase_angle_deg)
    if all(a is None for a in moon_args):
        moon_l = np.zeros_like(sky_l)
    elif any(a is None for a in moon_args):
        raise InputError("give all of moon_separation_deg, moon_elevation_deg and "
                         "moon_phase_angle_deg, or none", source="satqkd.link",
                         field="moon_*")
    else:
        moon_l = moon_radiance(moon_separation_deg, moon_elevation_deg, moon_phase_angle_deg,
                               elevation_deg, zenith_transmittance=zenith_transmittance)
    sky_hz = sky_l * per_detector
    moon_hz = moon_l * per_detector
    dark_hz = _validate.non_negative("dark_count_hz", dark_count_hz)
    total_hz = sky_hz + moon_hz + dark_hz
    gate_fraction = background_gate_fraction(gate_ps, rep_rate_hz)
    gate_s = _validate.positive("gate_ps", gate_ps) * 1e-12
    shape = np.broadcast_shapes(np.shape(total_hz), np.shape(gate_fraction), np.shape(sky_l),
                                np.shape(moon_l))

    def full(x: ArrayLike) -> NDArray[np.float64]:
        return np.broadcast_to(np.asarray(x, dtype=np.float64), shape).copy()

    return Background(
        sky_radiance=full(sky_l),
        moon_radiance=full(moon_l),
        sky_hz=full(sky_hz),
        moon_hz=full(moon_hz),
        dark_hz=full(dark_hz),
        total_hz=full(total_hz),
        gate_fraction=full(gate_fraction),
        gated_hz=full(total_hz * gate_fraction),
        probability_per_gate=full(-np.expm1(-total_hz * gate_s)),
    )
