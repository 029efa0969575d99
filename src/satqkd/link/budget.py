"""The downlink budget: how much of the light leaving the satellite reaches a detector.

Beam model (explicit, used by every function here)
--------------------------------------------------
The transmitted beam is a Gaussian beam. ``divergence_urad`` is its far-field **full**
angle at the 1/e² intensity points, θ. At range L its 1/e² intensity radius is

    w(L)² = w0² + (θ L / 2)²,

with the near-field waist ``w0 = tx_aperture_m / 2`` (beam filling the transmit aperture
to its 1/e² radius; this is the exact Gaussian-beam propagation law for a beam of any M²
with that waist and far-field divergence; at LEO ranges w0 is negligible). The intensity
is ``I(r) = 2P / (π w²) · exp(-2 r² / w²)``, so a circular receiver of diameter D centred
on the beam, with a central obscuration of diameter ε·D, collects

    η_geo = exp(-2 (εD/2)² / w²) − exp(-2 (D/2)² / w²)      (≈ D² (1−ε²) / (2 w²) for D ≪ w).

The mission papers quote geometric loss with a cruder **top-hat** convention: the beam is a
uniform disc of diameter θL and the receiver collects ``(D / θL)²``. That is exactly
10·log10(2) = 3.01 dB more loss than the Gaussian beam above in the far field (a Gaussian
beam's centre intensity is twice the mean over its 1/e² disc). Both are available through
``beam_profile``; the Gaussian is the default because it is the physics of the stated
1/e² divergence, the top-hat is what reproduces the published numbers:

* Micius, 1 m receiver, θ ≈ 10 µrad, L = 1200 km: published "~22 dB" diffraction loss.
  top-hat: 21.59 dB (0.4 dB from it); Gaussian: 18.61 dB.
* Tiangong-2, 1.2 m receiver, θ ≈ 35 µrad, L ≈ 700 km: published "~27 dB", "beam ~24.5 m
  wide" (= θL; the model gives 24.50 m). top-hat: 26.20 dB (0.8 dB from it);
  Gaussian: 23.20 dB.

Which convention the missions' θ truly follows is not stated in SPEC; if their quoted
divergence were the FWHM full angle instead, a Gaussian beam would give 23.2 dB and 27.8 dB.

Pointing (both ends)
--------------------
*Transmitter jitter.* The satellite's tracking error is modelled as a 2-D Gaussian angular
offset with RMS σ **per axis** (``pointing_jitter_urad``), so the beam centre lands r = σL·ρ
from the receiver, ρ Rayleigh distributed. Averaging the Gaussian intensity profile over
that offset is a convolution of two Gaussians: the time-averaged ("long-term") profile is
Gaussian again with per-axis variance ``w²/4 + (σL)²``, i.e. radius
``w_lt² = w² + 4 (σL)²``, with the same total power. Hence the mean collected fraction is
η_geo evaluated at ``w_lt`` — exact for any aperture and obscuration — and the pointing
efficiency is the ratio ``η_geo(w_lt) / η_geo(w)``; for D ≪ w it is
``w² / (w² + 4 σ² L²)`` (far field: ``1 / (1 + 16 σ²/θ²)``). Jinan-1 (θ = 9 µrad,
σ = 0.55–1.6 µrad) loses 0.25–1.78 dB; zero jitter loses 0 dB. Micius reported < 3 dB.

*Receiver tracking.* The ground telescope's tracking error (RMS per axis, σ_g) moves the
image of the satellite across the field stop (detector area or fibre core) of full angle
``fov_urad``. The image is modelled as a Gaussian spot of 1/e² angular radius ρ (seeing
and diffraction, :func:`image_radius_urad`); with the same convolution argument the mean
fraction inside the field stop is ``1 − exp(-2 (FOV/2)² / (ρ² + 4 σ_g²))``. The loss we
report is the ratio to the perfectly tracked value, because the static coupling of a
centred spot is part of the receiver's published optical efficiency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from satqkd.errors import InputError
from satqkd.link import _validate
from satqkd.link.atmosphere import airmass, atmospheric_transmittance
from satqkd.link.gating import gate_efficiency as _gate_efficiency

__all__ = [
    "ARCSEC_URAD",
    "BeamProfile",
    "LinkBudget",
    "beam_radius_m",
    "collected_fraction",
    "diffraction_limited_divergence_urad",
    "geometric_loss_db",
    "image_radius_urad",
    "link_budget",
    "pointing_efficiency",
    "receiver_tracking_efficiency",
    "to_db",
]

BeamProfile = Literal["gaussian", "top_hat"]

#: One arcsecond in microradians.
ARCSEC_URAD = np.pi / (180.0 * 3600.0) * 1e6


def to_db(factor: ArrayLike) -> NDArray[np.float64]:
    """A transmission factor in (0, 1] as a positive loss in dB, ``-10 log10(factor)``."""
    return -10.0 * np.log10(_validate.as_array(factor)) + 0.0  # + 0.0 turns -0.0 into 0.0


def beam_radius_m(
    range_km: ArrayLike, divergence_urad: ArrayLike, tx_aperture_m: ArrayLike | None = None
) -> NDArray[np.float64]:
    """1/e² intensity radius (m) of the Gaussian beam at ``range_km``.

    ``w² = w0² + (θ L / 2)²`` with θ the 1/e² full divergence and ``w0 = tx_aperture_m / 2``
    (omitted: far-field only).
    """
    range_m = _validate.positive("range_km", range_km) * 1e3
    theta_rad = _validate.positive("divergence_urad", divergence_urad) * 1e-6
    far_m = theta_rad * range_m / 2.0
    if tx_aperture_m is None:
        return far_m
    w0_m = _validate.positive("tx_aperture_m", tx_aperture_m) / 2.0
    return np.sqrt(w0_m**2 + far_m**2)


def diffraction_limited_divergence_urad(
    wavelength_nm: ArrayLike, tx_aperture_m: ArrayLike
) -> NDArray[np.float64]:
    """Smallest 1/e² full divergence of a Gaussian beam with waist radius ``tx_aperture_m/2``.

    ``θ_min = 2 λ / (π w0)``: 5.4 µrad for 200 mm at 850 nm, 3.6 µrad for 300 mm.
    """
    lam_m = _validate.positive("wavelength_nm", wavelength_nm) * 1e-9
    w0_m = _validate.positive("tx_aperture_m", tx_aperture_m) / 2.0
    return 2.0 * lam_m / (np.pi * w0_m) * 1e6


def collected_fraction(
    beam_radius_m: ArrayLike,
    rx_aperture_m: ArrayLike,
    central_obscuration: ArrayLike = 0.0,
    beam_profile: BeamProfile = "gaussian",
) -> NDArray[np.float64]:
    """Fraction of the beam power a centred annular aperture collects.

    ``beam_radius_m`` is the 1/e² radius w. Gaussian: ``exp(-2 (εa)²/w²) − exp(-2 a²/w²)``
    with ``a = rx_aperture_m / 2`` and ε = ``central_obscuration`` (diameter ratio);
    top-hat (uniform disc of radius w): ``min(1, a²/w²) − min(1, (εa)²/w²)``.
    """
    w_m = _validate.positive("beam_radius_m", beam_radius_m)
    a_m = _validate.positive("rx_aperture_m", rx_aperture_m) / 2.0
    eps = _validate.obscuration("central_obscuration", central_obscuration)
    if beam_profile == "gaussian":
        # exp(-x_in) - exp(-x_out) written with expm1 so tiny fractions keep their digits.
        x_out = 2.0 * a_m**2 / w_m**2
        x_in = x_out * eps**2
        return np.exp(-x_in) * -np.expm1(-(x_out - x_in))
    if beam_profile == "top_hat":
        return np.minimum(1.0, a_m**2 / w_m**2) - np.minimum(1.0, (eps * a_m) ** 2 / w_m**2)
    raise InputError("must be 'gaussian' or 'top_hat'", source="satqkd.link",
                     field="beam_profile", value=beam_profile)


def geometric_loss_db(
    range_km: ArrayLike,
    divergence_urad: ArrayLike,
    rx_aperture_m: ArrayLike,
    *,
    tx_aperture_m: ArrayLike | None = None,
    central_obscuration: ArrayLike = 0.0,
    beam_profile: BeamProfile = "gaussian",
) -> NDArray[np.float64]:
    """Geometric (diffraction) loss in dB of the beam into the receiver aperture.

    See the module docstring for the beam model and the published figures it reproduces
    (Micius 22 dB at 1200 km, Tiangong-2 27 dB at 700 km, with ``beam_profile="top_hat"``).
    """
    w_m = beam_radius_m(range_km, divergence_urad, tx_aperture_m)
    return to_db(collected_fraction(w_m, rx_aperture_m, central_obscuration, beam_profile))


def pointing_efficiency(
    range_km: ArrayLike,
    divergence_urad: ArrayLike,
    rx_aperture_m: ArrayLike,
    pointing_jitter_urad: ArrayLike,
    *,
    tx_aperture_m: ArrayLike | None = None,
    central_obscuration: ArrayLike = 0.0,
) -> NDArray[np.float64]:
    """Mean fraction of the collected power kept under transmitter pointing jitter.

    ``η_geo(w_lt) / η_geo(w)`` with ``w_lt² = w² + 4 (σ L)²``, σ the per-axis RMS jitter
    (module docstring); ≈ ``w² / (w² + 4 σ² L²)`` for a receiver much smaller than the beam.
    Exactly 1 for zero jitter.
    """
    w_m = beam_radius_m(range_km, divergence_urad, tx_aperture_m)
    sigma_m = _validate.non_negative("pointing_jitter_urad", pointing_jitter_urad) * 1e-6 * (
        _validate.as_array(range_km) * 1e3
    )
    w_long_m = np.sqrt(w_m**2 + 4.0 * sigma_m**2)
    jittered = collected_fraction(w_long_m, rx_aperture_m, central_obscuration)
    return jittered / collected_fraction(w_m, rx_aperture_m, central_obscuration)


def image_radius_urad(
    elevation_deg: ArrayLike,
    rx_aperture_m: ArrayLike,
    *,
    seeing_fwhm_arcsec: ArrayLike = 2.0,
    wavelength_nm: ArrayLike = 850.0,
) -> NDArray[np.float64]:
    """Approximate 1/e² angular radius (µrad) of the satellite's image at the focal plane.

    Seeing FWHM (given at zenith and 500 nm) grows as airmass**0.6 and shrinks as
    λ**-0.2 (Kolmogorov Fried-parameter scaling); it is added in quadrature to the
    diffraction FWHM ≈ 1.03 λ/D, and the FWHM is converted to a Gaussian 1/e² radius
    (× 0.849). Approximate: a long-exposure Gaussian stand-in for the real image.
    """
    lam_nm = _validate.positive("wavelength_nm", wavelength_nm)
    d_m = _validate.positive("rx_aperture_m", rx_aperture_m)
    seeing_urad = _validate.non_negative("seeing_fwhm_arcsec", seeing_fwhm_arcsec) * ARCSEC_URAD
    seeing_urad = seeing_urad * airmass(elevation_deg) ** 0.6 * (lam_nm / 500.0) ** -0.2
    diffraction_urad = 1.03 * lam_nm * 1e-9 / d_m * 1e6
    fwhm_urad = np.hypot(seeing_urad, diffraction_urad)
    return fwhm_urad / np.sqrt(2.0 * np.log(2.0))


def receiver_tracking_efficiency(
    tracking_error_urad: ArrayLike, fov_urad: ArrayLike, image_radius_urad: ArrayLike
) -> NDArray[np.float64]:
    """Mean coupling into the field stop under ground tracking error, relative to none.

    ``(1 − exp(-2 b² / (ρ² + 4 σ_g²))) / (1 − exp(-2 b² / ρ²))`` with ``b = fov_urad / 2``,
    ρ the image's 1/e² radius and σ_g the per-axis RMS tracking error (module docstring).
    """
    sigma = _validate.non_negative("tracking_error_urad", tracking_error_urad)
    b = _validate.positive("fov_urad", fov_urad) / 2.0
    rho = _validate.positive("image_radius_urad", image_radius_urad)
    return -np.expm1(-2.0 * b**2 / (rho**2 + 4.0 * sigma**2)) / -np.expm1(-2.0 * b**2 / rho**2)


@dataclass(frozen=True)
class LinkBudget:
    """The downlink budget at each time sample; every field broadcasts to the input shape.

    Losses are positive dB. ``total_db`` runs from the light leaving the satellite's
    telescope to the detector input — detector efficiency excluded, which is how the
    missions publish "link loss" — and is the sum of the dB terms. ``transmittance`` is
    η(t), the probability that a photon leaving the satellite produces a click-eligible
    detection (inside the gate): ``10**(-total_db/10) · detector_efficiency ·
    gate_efficiency``. The mean photon numbers of the source are defined at the satellite's
    output, so transmit-side optics are not part of this budget.
    """

    geometric_db: NDArray[np.float64]
    """Diffraction loss of the beam into the receiver aperture (incl. obscuration)."""
    pointing_db: NDArray[np.float64]
    """Satellite pointing jitter plus ground tracking error."""
    atmosphere_db: NDArray[np.float64]
    """Extinction along the slant path (clear-sky plus haze)."""
    turbulence_db: NDArray[np.float64]
    """Instantaneous scintillation fade (negative for a surge); 0 without fading samples."""
    receiver_db: NDArray[np.float64]
    """Receiver optics from aperture to detector input (coupling included)."""
    total_db: NDArray[np.float64]
    """Sum of the above: the published "link loss"."""
    detector_efficiency: NDArray[np.float64]
    """Detection efficiency of the single-photon detectors (mean over the four)."""
    gate_efficiency: NDArray[np.float64]
    """Fraction of signal photons arriving within the time gate."""
    transmittance: NDArray[np.float64]
    """End-to-end probability η(t) that a photon leaving the satellite gives a gated click."""
    beam_radius_m: NDArray[np.float64]
    """1/e² radius of the beam at the receiver."""


def link_budget(
    range_km: ArrayLike,
    elevation_deg: ArrayLike,
    *,
    divergence_urad: ArrayLike,
    tx_aperture_m: ArrayLike,
    rx_aperture_m: ArrayLike,
    wavelength_nm: ArrayLike = 850.0,
    central_obscuration: ArrayLike = 0.0,
    pointing_jitter_urad: ArrayLike = 0.0,
    rx_tracking_error_urad: ArrayLike = 0.0,
    fov_urad: ArrayLike = 100.0,
    seeing_fwhm_arcsec: ArrayLike = 2.0,
    zenith_transmittance: ArrayLike = 0.9,
    haze_extinction_db: ArrayLike = 0.0,
    rx_optical_efficiency: ArrayLike = 1.0,
    detector_efficiency: ArrayLike = 1.0,
    gate_ps: ArrayLike | None = None,
    timing_jitter_fwhm_ps: ArrayLike = 0.0,
    fading: ArrayLike | None = None,
    beam_profile: BeamProfile = "gaussian",
) -> LinkBudget:
    """The downlink budget along a pass, vectorised over time samples.

    Parameters
    ----------
    range_km, elevation_deg:
        Slant range and elevation of the satellite, shape ``[n]`` (or broadcastable).
    divergence_urad:
        Far-field 1/e² full divergence of the quantum beam.
    tx_aperture_m:
        Transmit telescope aperture (sets the near-field waist, w0 = D_tx/2).
    rx_aperture_m, central_obscuration:
        Receive telescope diameter and obscuration diameter ratio.
    wavelength_nm:
        Signal wavelength (diffraction limit check, image size).
    pointing_jitter_urad:
        Satellite tracking error, RMS per axis.
    rx_tracking_error_urad, fov_urad, seeing_fwhm_arcsec:
        Ground tracking error (RMS per axis), field-stop full angle, zenith seeing at 500 nm.
    zenith_transmittance, haze_extinction_db:
        Clear-sky zenith transmittance at ``wavelength_nm`` and extra zenith haze extinction.
    rx_optical_efficiency:
        Receiver transmission from aperture to detector input (coupling included).
    detector_efficiency:
        Detection efficiency (mean over the detectors).
    gate_ps, timing_jitter_fwhm_ps:
        Time gate width and total Gaussian timing jitter; ``gate_ps=None`` means no gating.
    fading:
        Optional turbulence fading factors (e.g. :func:`satqkd.link.atmosphere.draw_fading`),
        shape ``[n]``; None for the mean channel.
    beam_profile:
        ``"gaussian"`` (default) or ``"top_hat"`` (the missions' published convention,
        3.01 dB more geometric loss in the far field).

    Raises
    ------
    InputError
        For out-of-range values, or a divergence below the diffraction limit of the
        transmit aperture.
    """
    theta_min = diffraction_limited_divergence_urad(wavelength_nm, tx_aperture_m)
    if np.any(_validate.positive("divergence_urad", divergence_urad) < theta_min * (1 - 1e-9)):
        raise InputError(
            f"is below the diffraction limit {float(np.min(theta_min)):.2f} µrad of the "
            "transmit aperture", source="satqkd.link", field="divergence_urad",
            value=float(np.min(divergence_urad)),
        )
    w_m = beam_radius_m(range_km, divergence_urad, tx_aperture_m)
    geometric_db = to_db(collected_fraction(w_m, rx_aperture_m, central_obscuration, beam_profile))
    tx_pointing = pointing_efficiency(
        range_km, divergence_urad, rx_aperture_m, pointing_jitter_urad,
        tx_aperture_m=tx_aperture_m, central_obscuration=central_obscuration,
    )
    rho_urad = image_radius_urad(
        elevation_deg, rx_aperture_m, seeing_fwhm_arcsec=seeing_fwhm_arcsec,
        wavelength_nm=wavelength_nm,
    )
    rx_pointing = receiver_tracking_efficiency(rx_tracking_error_urad, fov_urad, rho_urad)
    pointing_db = to_db(tx_pointing * rx_pointing)
    atmosphere_db = to_db(
        atmospheric_transmittance(elevation_deg, zenith_transmittance, haze_extinction_db)
    )
    receiver_db = to_db(_validate.fraction("rx_optical_efficiency", rx_optical_efficiency))
    turbulence_db = (
        np.zeros_like(atmosphere_db) if fading is None
        else to_db(_validate.positive("fading", fading))
    )
    total_db = geometric_db + pointing_db + atmosphere_db + turbulence_db + receiver_db
    eta_det = _validate.fraction("detector_efficiency", detector_efficiency)
    eta_gate = (
        np.ones_like(total_db) if gate_ps is None
        else _gate_efficiency(gate_ps, timing_jitter_fwhm_ps)
    )
    shape = np.broadcast_shapes(np.shape(total_db), np.shape(eta_det), np.shape(eta_gate))
    transmittance = 10.0 ** (-total_db / 10.0) * eta_det * eta_gate

    def full(x: ArrayLike) -> NDArray[np.float64]:
        return np.broadcast_to(np.asarray(x, dtype=np.float64), shape).copy()

    return LinkBudget(
        geometric_db=full(geometric_db),
        pointing_db=full(pointing_db),
        atmosphere_db=full(atmosphere_db),
        turbulence_db=full(turbulence_db),
        receiver_db=full(receiver_db),
        total_db=full(total_db),
        detector_efficiency=full(eta_det),
        gate_efficiency=full(eta_gate),
        transmittance=full(transmittance),
        beam_radius_m=full(w_m),
    )
