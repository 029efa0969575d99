"""The classical laser links: received power, frame loss and latency (approximate).

The protocol's messages ride on two classical optical links that share the telescopes
with the quantum beam (SPEC §6): a downlink at ~812 nm (~2.4 mW, same divergence as the
quantum beam) and an uplink at ~1538 nm (beacon/data laser, wide beam), both 156 Mbit/s.
Frames are lost when the received power dips too low; every protocol message is repeated
frame by frame, so what the protocol simulation needs is the probability that one frame of
``frame_bits`` bits is lost, as a function of the pass geometry. This module gives it.

Model (each step approximate, stated so it can be replaced):

1. **Boresight received power** ``P0 = P_tx · η_geo · T_atm · η_rx`` with the same
   Gaussian-beam geometry as the quantum link (:mod:`satqkd.link.budget`: 1/e² full
   divergence, near-field waist D_tx/2, annular receiver) and the same Kasten–Young
   atmosphere (:mod:`satqkd.link.atmosphere`) with a zenith transmittance for the link's
   wavelength.
2. **Fades.** Within one frame (52 µs at 156 Mbit/s for 1 kB) the channel is frozen, so
   the instantaneous power is ``P = P0 · h_p · h_s``:
   *pointing*: a per-axis Gaussian angular error σ puts the receiver r = σL·ρ (ρ Rayleigh)
   off the beam axis, and for a receiver much smaller than the beam
   ``h_p = exp(−2 r² / w²) = U^β`` with U uniform on (0, 1) and ``β = 4 σ² L² / w²``
   (the classic beta-distributed pointing fade; its mean ``1/(1+β)`` is the pointing
   efficiency of :func:`satqkd.link.budget.pointing_efficiency`);
   *scintillation*: ``h_s`` log-normal with mean 1 and log-variance growing with airmass
   (:func:`satqkd.link.atmosphere.scintillation_log_variance`), or given sample by sample
   (``fading``) to follow one drawn realisation.
3. **Bit errors.** A receiver limited by signal-independent (thermal/APD) noise has a
   Q-factor proportional to the received power, ``Q = Q_s · P / P_sens`` with
   ``Q_s = 6`` at the sensitivity ``P_sens`` (BER 1e-9 there), and
   ``BER = ½ erfc(Q / √2)``.
4. **Frame loss** (no forward error correction): ``1 − (1 − BER)^N``, averaged over the
   fades. ``ln(h_p h_s) = S − β E`` (S Gaussian, E exponential) has a closed-form CDF
   (exponentially modified Gaussian), so the average is a Stieltjes sum of the tabulated
   frame-loss curve against that CDF on a fine grid of received power (0.04 dB steps).

Because every step is monotone in the received power, the frame-loss probability grows
with range and with pointing jitter at a fixed elevation, and falls with elevation at a
fixed range wherever the mean power is above the sensitivity (in deep outage a larger
scintillation variance can, correctly, lift a few frames above threshold).

The default sensitivities (−45 dBm at 812 nm: a Si APD receiver at 156 Mbit/s;
−40 dBm at 1538 nm: an InGaAs APD) and receive efficiencies are typical values, not
published figures of the missions; latency is ``range / c``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import erfc, erfcx

from satqkd.errors import InputError
from satqkd.link import _validate
from satqkd.link.atmosphere import atmospheric_transmittance, scintillation_log_variance
from satqkd.link.budget import beam_radius_m, collected_fraction

__all__ = [
    "SPEED_OF_LIGHT_KM_S",
    "bit_error_rate",
    "downlink_frame_loss_probability",
    "frame_loss_probability",
    "latency_s",
    "received_power_dbm",
    "uplink_frame_loss_probability",
]

#: Speed of light in vacuum, km/s.
SPEED_OF_LIGHT_KM_S = 299_792.458

# Grid of the receiver's Q-factor over which the frame-loss curve is tabulated: from Q = 0.05
# (BER 0.48: every frame lost) to Q = 12 (BER 2e-33: none), 600 log-spaced points.
_Q_GRID = np.geomspace(0.05, 12.0, 601)
_CHUNK = 1024  # time samples per block: bounds the (samples x grid) temporaries


def latency_s(range_km: ArrayLike) -> NDArray[np.float64]:
    """One-way light travel time (s) over ``range_km``."""
    return _validate.non_negative("range_km", range_km) / SPEED_OF_LIGHT_KM_S


def bit_error_rate(
    received_power_dbm: ArrayLike, sensitivity_dbm: ArrayLike, q_at_sensitivity: float = 6.0
) -> NDArray[np.float64]:
    """Bit error rate of a noise-limited receiver: ``½ erfc(Q/√2)``, ``Q ∝ P``.

    ``Q = q_at_sensitivity · 10**((P − P_sens)/10)``; the default Q = 6 means BER ≈ 1e-9 at
    the sensitivity, ~1e-3 at 3 dB below it.
    """
    ratio = 10.0 ** ((_validate.as_array(received_power_dbm) - np.asarray(sensitivity_dbm)) / 10)
    q = float(_validate.positive("q_at_sensitivity", q_at_sensitivity)) * ratio
    return 0.5 * erfc(q / np.sqrt(2.0))


def _boresight_power_mw(
    range_km: ArrayLike, elevation_deg: ArrayLike, power_mw: ArrayLike, divergence_urad: ArrayLike,
    tx_aperture_m: ArrayLike, rx_aperture_m: ArrayLike, central_obscuration: ArrayLike,
    zenith_transmittance: ArrayLike, haze_extinction_db: ArrayLike,
    rx_optical_efficiency: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Power at the detector with the beam centred on the receiver (mW), and w (m)."""
    w_m = beam_radius_m(range_km, divergence_urad, tx_aperture_m)
    p_mw = (
        _validate.positive("power_mw", power_mw)
        * collected_fraction(w_m, rx_aperture_m, central_obscuration)
        * atmospheric_transmittance(elevation_deg, zenith_transmittance, haze_extinction_db)
        * _validate.fraction("rx_optical_efficiency", rx_optical_efficiency)
    )
    return p_mw, w_m


def received_power_dbm(
    range_km: ArrayLike,
    elevation_deg: ArrayLike,
    *,
    power_mw: ArrayLike,
    divergence_urad: ArrayLike,
    tx_aperture_m: ArrayLike,
    rx_aperture_m: ArrayLike,
    central_obscuration: ArrayLike = 0.0,
    pointing_jitter_urad: ArrayLike = 0.0,
    zenith_transmittance: ArrayLike = 0.9,
    haze_extinction_db: ArrayLike = 0.0,
    rx_optical_efficiency: ArrayLike = 1.0,
) -> NDArray[np.float64]:
    """Mean received power (dBm) at the classical detector, pointing loss included."""
    p_mw, w_m = _boresight_power_mw(
        range_km, elevation_deg, power_mw, divergence_urad, tx_aperture_m, rx_aperture_m,
        central_obscuration, zenith_transmittance, haze_extinction_db, rx_optical_efficiency,
    )
    beta = _pointing_beta(range_km, pointing_jitter_urad, w_m)
    return 10.0 * np.log10(p_mw / (1.0 + beta))


def _pointing_beta(
    range_km: ArrayLike, pointing_jitter_urad: ArrayLike, w_m: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``β = 4 σ² L² / w²``: the pointing fade is ``h_p = U^β``."""
    sigma_m = (
        _validate.non_negative("pointing_jitter_urad", pointing_jitter_urad) * 1e-6
        * _validate.as_array(range_km) * 1e3
    )
    return 4.0 * sigma_m**2 / w_m**2


def frame_loss_probability(
    range_km: ArrayLike,
    elevation_deg: ArrayLike,
    *,
    power_mw: ArrayLike,
    wavelength_nm: ArrayLike,
    divergence_urad: ArrayLike,
    tx_aperture_m: ArrayLike,
    rx_aperture_m: ArrayLike,
    sensitivity_dbm: ArrayLike,
    frame_bits: int = 8192,
    central_obscuration: ArrayLike = 0.0,
    pointing_jitter_urad: ArrayLike = 0.0,
    zenith_transmittance: ArrayLike = 0.9,
    haze_extinction_db: ArrayLike = 0.0,
    rx_optical_efficiency: ArrayLike = 1.0,
    scintillation_sigma2_zenith: ArrayLike = 0.0,
    fading: ArrayLike | None = None,
    q_at_sensitivity: float = 6.0,
) -> NDArray[np.float64]:
    """Probability in [0, 1] that a frame of ``frame_bits`` bits is lost, per time sample.

    See the module docstring for the model. With ``fading=None`` the result is averaged
    over pointing and scintillation fades; with ``fading`` (factors of mean 1, shape of the
    time samples) it is conditional on that scintillation realisation and averaged over
    pointing only. ``wavelength_nm`` documents the link (its atmosphere is set through
    ``zenith_transmittance`` at that wavelength) and is checked for sanity.
    """
    _validate.positive("wavelength_nm", wavelength_nm)
    if not isinstance(frame_bits, int | np.integer) or frame_bits < 1:
        raise InputError("must be a positive integer", source="satqkd.link",
                         field="frame_bits", value=frame_bits)
    if np.ndim(sensitivity_dbm) or not np.isfinite(sensitivity_dbm):
        raise InputError("must be a finite scalar", source="satqkd.link",
                         field="sensitivity_dbm", value=str(sensitivity_dbm))
    q_s = float(_validate.positive("q_at_sensitivity", q_at_sensitivity))
    p_mw, w_m = _boresight_power_mw(
        range_km, elevation_deg, power_mw, divergence_urad, tx_aperture_m, rx_aperture_m,
        central_obscuration, zenith_transmittance, haze_extinction_db, rx_optical_efficiency,
    )
    beta = _pointing_beta(range_km, pointing_jitter_urad, w_m)
    # ln(P0 / P_sens), the pointing exponent and the scintillation nodes, per time sample.
    ln_margin = np.log(p_mw) - float(sensitivity_dbm) / 10.0 * np.log(10.0)
    if fading is None:
        sigma2 = scintillation_log_variance(elevation_deg, scintillation_sigma2_zenith)
    else:
        ln_margin = ln_margin + np.log(_validate.positive("fading", fading))
        sigma2 = np.zeros(())
    shape = np.broadcast_shapes(ln_margin.shape, beta.shape, sigma2.shape)
    ln_margin, beta, sigma2 = (np.broadcast_to(a, shape).reshape(-1)
                               for a in (ln_margin, beta, sigma2))
    # Frame loss tabulated against x = ln(P / P_sens) at bin edges and bin centres.
    x_edges = np.log(_Q_GRID / q_s)
    fer_edges = _frame_loss(_Q_GRID, frame_bits)
    fer_mid = _frame_loss(np.sqrt(_Q_GRID[1:] * _Q_GRID[:-1]), frame_bits)
    out = np.empty(ln_margin.size)
    for lo in range(0, ln_margin.size, _CHUNK):
        hi = lo + _CHUNK
        # P(ln P/P_sens < x_edge) for each sample and edge: CDF of the total log fade.
        cdf = _log_fade_cdf(x_edges[None, :] - ln_margin[lo:hi, None],
                            beta[lo:hi, None], sigma2[lo:hi, None])
        out[lo:hi] = (
            fer_edges[0] * cdf[:, 0]
            + np.diff(cdf, axis=1) @ fer_mid
            + fer_edges[-1] * (1.0 - cdf[:, -1])
        )
    return np.clip(out, 0.0, 1.0).reshape(shape)


def _frame_loss(q: NDArray[np.float64], frame_bits: int) -> NDArray[np.float64]:
    """Probability that a frame of ``frame_bits`` has ≥ 1 bit error at Q-factor ``q``."""
    ber = 0.5 * erfc(q / np.sqrt(2.0))
    return -np.expm1(frame_bits * np.log1p(-ber))


def _log_fade_cdf(
    y: NDArray[np.float64], beta: NDArray[np.float64], sigma2: NDArray[np.float64]
) -> NDArray[np.float64]:
    """CDF at ``y`` of ``ln h = S − β E``: S ~ N(−σ²/2, σ²) (scintillation), E ~ Exp(1)
    (pointing, ``h_p = U^β = exp(−β E)``).

    ``−ln h`` is exponentially modified Gaussian, so the CDF is closed-form:
    ``Φ(−u) + exp(−λσu + λ²σ²/2) Φ(u − λσ)`` with ``u = (−y − σ²/2)/σ``, ``λ = 1/β``; the
    second term is evaluated through ``erfcx`` where it would overflow. ``σ → 0`` and
    ``β → 0`` are handled by tiny floors (the limits are continuous).
    """
    sigma = np.sqrt(np.maximum(sigma2, 1e-24))
    lam_sigma = sigma / np.maximum(beta, 1e-300)
    u = (-y - 0.5 * sigma**2) / sigma
    v = lam_sigma - u
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        direct = np.exp(-lam_sigma * u + 0.5 * lam_sigma**2) * 0.5 * erfc(v / np.sqrt(2.0))
        scaled = 0.5 * erfcx(v / np.sqrt(2.0)) * np.exp(-0.5 * u**2)
        term = np.where(v > 0.0, scaled, direct)
    term = np.where(np.isfinite(term), term, 0.0)
    return np.clip(0.5 * erfc(u / np.sqrt(2.0)) + term, 0.0, 1.0)


def downlink_frame_loss_probability(
    range_km: ArrayLike,
    elevation_deg: ArrayLike,
    *,
    divergence_urad: ArrayLike,
    tx_aperture_m: ArrayLike,
    rx_aperture_m: ArrayLike,
    power_mw: ArrayLike = 2.4,
    wavelength_nm: ArrayLike = 812.0,
    sensitivity_dbm: float = -45.0,
    frame_bits: int = 8192,
    central_obscuration: ArrayLike = 0.0,
    pointing_jitter_urad: ArrayLike = 1.0,
    zenith_transmittance: ArrayLike = 0.9,
    haze_extinction_db: ArrayLike = 0.0,
    rx_optical_efficiency: ArrayLike = 0.3,
    scintillation_sigma2_zenith: ArrayLike = 0.02,
    fading: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Frame loss on the ~812 nm, ~2.4 mW downlink (SPEC §6) that shares the quantum beam's
    divergence and telescopes; defaults as in the module docstring (approximate)."""
    return frame_loss_probability(
        range_km, elevation_deg, power_mw=power_mw, wavelength_nm=wavelength_nm,
        divergence_urad=divergence_urad, tx_aperture_m=tx_aperture_m,
        rx_aperture_m=rx_aperture_m, sensitivity_dbm=sensitivity_dbm, frame_bits=frame_bits,
        central_obscuration=central_obscuration, pointing_jitter_urad=pointing_jitter_urad,
        zenith_transmittance=zenith_transmittance, haze_extinction_db=haze_extinction_db,
        rx_optical_efficiency=rx_optical_efficiency,
        scintillation_sigma2_zenith=scintillation_sigma2_zenith, fading=fading,
    )


def uplink_frame_loss_probability(
    range_km: ArrayLike,
    elevation_deg: ArrayLike,
    *,
    power_mw: ArrayLike = 500.0,
    wavelength_nm: ArrayLike = 1538.0,
    divergence_urad: ArrayLike = 200.0,
    tx_aperture_m: ArrayLike = 0.05,
    rx_aperture_m: ArrayLike = 0.2,
    sensitivity_dbm: float = -40.0,
    frame_bits: int = 8192,
    pointing_jitter_urad: ArrayLike = 5.0,
    beam_wander_urad: ArrayLike = 2.0,
    zenith_transmittance: ArrayLike = 0.95,
    haze_extinction_db: ArrayLike = 0.0,
    rx_optical_efficiency: ArrayLike = 0.3,
    scintillation_sigma2_zenith: ArrayLike = 0.2,
    fading: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Frame loss on the ~1538 nm uplink (beacon/data) into the satellite's telescope.

    Same model as the downlink; an uplink crosses the turbulence next to its transmitter,
    so the beam also wanders (``beam_wander_urad``, RMS per axis, added in quadrature to the
    ground pointing jitter) and scintillates more (larger ``scintillation_sigma2_zenith``).
    Defaults (wide 200 µrad beacon-like beam, 0.2 m satellite telescope) are typical values,
    not published figures.
    """
    jitter = np.hypot(
        _validate.non_negative("pointing_jitter_urad", pointing_jitter_urad),
        _validate.non_negative("beam_wander_urad", beam_wander_urad),
    )
    return frame_loss_probability(
        range_km, elevation_deg, power_mw=power_mw, wavelength_nm=wavelength_nm,
        divergence_urad=divergence_urad, tx_aperture_m=tx_aperture_m,
        rx_aperture_m=rx_aperture_m, sensitivity_dbm=sensitivity_dbm, frame_bits=frame_bits,
        pointing_jitter_urad=jitter, zenith_transmittance=zenith_transmittance,
        haze_extinction_db=haze_extinction_db, rx_optical_efficiency=rx_optical_efficiency,
        scintillation_sigma2_zenith=scintillation_sigma2_zenith, fading=fading,
    )
