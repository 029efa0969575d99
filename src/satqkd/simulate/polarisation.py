"""Polarisation errors along a pass: the glue between the Jones model and the engine.

The error probability of a photon (detected in the orthogonal state of its own basis) is
``e = e_c + (1 − 2 e_c) sin² δ(t)`` where ``e_c = 1 / (1 + C)`` comes from the finite
polarisation contrast C of the source (Jinan-1: 25 dB → 0.32 %, SPEC §3) and δ(t) is the
residual misalignment between the transmitted and received frames: the onboard fibre
compensation residual plus, without the ground's motorised HWP, the frame rotation the
geometry imposes during the pass (SPEC §4).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from satqkd.config.models import Payload, Station
from satqkd.photonics.jones import random_su2, rotation_angle_rad, rotator
from satqkd.photonics.polarisation import (
    bb84_errors,
    compensate_fibre,
    error_from_misalignment,
    frame_rotation_angle_rad,
    with_contrast,
)
from satqkd.simulate.geometry import PassGeometry


def contrast_error(contrast_db: float) -> float:
    """Error probability from a polarisation contrast (extinction) of ``contrast_db``."""
    return 1.0 / (1.0 + 10.0 ** (contrast_db / 10.0))


def pass_polarisation_errors(
    geometry: PassGeometry, payload: Payload, station: Station, *, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Error probabilities in Z and in X, and the misalignment angle (deg), vs time.

    The onboard residual is one draw per pass, Gaussian with the payload's RMS
    ``polarisation_residual_deg`` — or, with ``polarisation_probe_photons`` set, the residual
    Jones matrix the QWP-QWP-HWP procedure leaves on a Haar-random fibre when its probe
    Stokes parameters carry the binomial noise of that many photons per basis
    (:func:`satqkd.photonics.polarisation.compensate_fibre`; then Z and X errors differ).
    With the ground's motorised HWP
    (``station.polarisation_compensation``) the frame rotation is taken as cancelled
    exactly (a drive error ε would add 2ε, see
    :func:`satqkd.photonics.polarisation.ground_hwp_angle_rad`); without it the frame
    turns by :func:`satqkd.photonics.polarisation.frame_rotation_angle_rad`.
    """
    rng = np.random.default_rng([seed, 0x9015])
    if payload.polarisation_probe_photons is not None:
        return _probed_compensation_errors(geometry, payload, station, rng)
    residual_rad = np.radians(payload.polarisation_residual_deg) * rng.standard_normal()
    if station.polarisation_compensation:
        delta = np.full_like(geometry.t_s, residual_rad)
    else:
        delta = residual_rad + _frame_drift_rad(geometry)
    error = error_from_misalignment(delta, contrast_error(payload.polarisation_contrast_db))
    return error, error.copy(), np.degrees(delta)


def _frame_drift_rad(geometry: PassGeometry) -> NDArray[np.float64]:
    """The frame's rotation since the start of the window, rad, without the ground's HWP:
    the frame is aligned once, at the start, and then left alone."""
    rotation = frame_rotation_angle_rad(
        geometry.sat_itrs_km, geometry.sat_velocity_km_s, geometry.station_itrs_km
    )
    return rotation - rotation[0]


def _probed_compensation_errors(
    geometry: PassGeometry, payload: Payload, station: Station, rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Errors vs time from the simulated onboard compensation of a random fibre."""
    fibre = random_su2((), rng)
    residual = compensate_fibre(fibre, shots_per_basis=payload.polarisation_probe_photons,
                                seed=rng).residual_jones
    if station.polarisation_compensation:
        link = np.broadcast_to(residual, (geometry.t_s.size, 2, 2))
    else:
        link = rotator(_frame_drift_rad(geometry)) @ residual
    pol_z, pol_x = bb84_errors(link)
    e_c = contrast_error(payload.polarisation_contrast_db)
    error_z, error_x = with_contrast(pol_z, e_c), with_contrast(pol_x, e_c)
    # The Poincaré-sphere rotation angle is twice the frame misalignment of a linear state.
    return error_z, error_x, np.degrees(rotation_angle_rad(link)) / 2.0


def routing_matrix_from_errors(error_z: float, error_x: float) -> NDArray[np.float64]:
    """Per-basis-arm routing ``[prepared H,V,D,A] × [detector H,V,D,A]`` (rows sum to 2).

    In its own basis arm a photon goes to the wrong detector with the basis's error
    probability; in the other arm it is split evenly (conjugate bases).
    """
    ez, ex = error_z, error_x
    return np.array([
        [1 - ez, ez, 0.5, 0.5],
        [ez, 1 - ez, 0.5, 0.5],
        [0.5, 0.5, 1 - ex, ex],
        [0.5, 0.5, ex, 1 - ex],
    ])
