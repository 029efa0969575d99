"""Polarisation error along a pass, with and without the ground's motorised HWP (SPEC §4).

Without compensation the frame rotation comes from
:func:`satqkd.photonics.polarisation.frame_rotation_angle_rad` (the Jones model).
"""

from __future__ import annotations

import numpy as np

from satqkd.config import Mission, Station
from satqkd.simulate.geometry import pass_geometry
from satqkd.simulate.pass_simulation import SelectedPass
from satqkd.simulate.polarisation import (
    contrast_error,
    pass_polarisation_errors,
    routing_matrix_from_errors,
)


def test_compensated_error_is_constant(jinan1: Mission, jinan: Station,
                                       reference_pass: SelectedPass) -> None:
    geometry = pass_geometry(reference_pass.orbit, jinan, reference_pass.window_start_unix_s,
                             reference_pass.window_end_unix_s, step_s=1.0)
    payload = jinan1.satellite.payload
    error_z, error_x, misalignment_deg = pass_polarisation_errors(geometry, payload, jinan,
                                                                  seed=4)
    assert np.all(misalignment_deg == misalignment_deg[0])
    assert abs(misalignment_deg[0]) < 5 * payload.polarisation_residual_deg
    np.testing.assert_array_equal(error_z, error_x)
    e_c = contrast_error(payload.polarisation_contrast_db)
    assert e_c <= error_z[0] < e_c + 0.01


def test_without_compensation_the_frame_rotates_during_the_pass(
    jinan1: Mission, jinan: Station, reference_pass: SelectedPass
) -> None:
    """SPEC §4: the relative motion rotates the polarisation frame during a pass."""
    geometry = pass_geometry(reference_pass.orbit, jinan, reference_pass.window_start_unix_s,
                             reference_pass.window_end_unix_s, step_s=1.0)
    payload = jinan1.satellite.payload
    free = jinan.model_copy(update={"polarisation_compensation": False})
    _, _, compensated_deg = pass_polarisation_errors(geometry, payload, jinan, seed=4)
    error, _, misalignment_deg = pass_polarisation_errors(geometry, payload, free, seed=4)
    assert misalignment_deg.shape == geometry.t_s.shape
    assert np.all(np.isfinite(misalignment_deg))
    # Aligned once at the start of the window (same onboard residual), then left alone.
    assert misalignment_deg[0] == compensated_deg[0]
    assert np.ptp(misalignment_deg) > 5.0
    # A rotation of the frame is smooth: no jumps between 1-s samples.
    assert np.max(np.abs(np.diff(misalignment_deg))) < 5.0
    e_c = contrast_error(payload.polarisation_contrast_db)
    assert np.all((error >= e_c - 1e-15) & (error <= 1 - e_c + 1e-15))
    assert error.max() > 2 * error[0]


def test_routing_matrix_rows() -> None:
    m = routing_matrix_from_errors(0.01, 0.02)
    np.testing.assert_allclose(m.sum(axis=1), 2.0)
    assert m[0, 1] == m[1, 0] == 0.01
    assert m[2, 3] == m[3, 2] == 0.02
    assert np.all(m[:2, 2:] == 0.5) and np.all(m[2:, :2] == 0.5)


def test_simulated_onboard_compensation_sets_the_residual(
    jinan1: Mission, jinan: Station, reference_pass: SelectedPass
) -> None:
    """With ``polarisation_probe_photons`` the residual comes from running the QWP-QWP-HWP
    procedure on a random fibre with noisy probes: its added QBER falls as ≈ 0.4/N."""
    geometry = pass_geometry(reference_pass.orbit, jinan, reference_pass.window_start_unix_s,
                             reference_pass.window_end_unix_s, step_s=10.0)
    e_c = contrast_error(jinan1.satellite.payload.polarisation_contrast_db)
    added = {}
    for photons in (1_000, 100_000):
        payload = jinan1.satellite.payload.model_copy(
            update={"polarisation_probe_photons": photons})
        per_pass = []
        for seed in range(150):
            error_z, error_x, misalignment_deg = pass_polarisation_errors(
                geometry, payload, jinan, seed=seed)
            assert np.all(error_z == error_z[0]) and np.all(misalignment_deg >= 0.0)
            per_pass.append(0.5 * (error_z[0] + error_x[0]) - e_c)
        added[photons] = float(np.mean(per_pass))
        assert min(per_pass) >= -1e-12
    assert 0.2 / 1_000 < added[1_000] < 0.8 / 1_000
    assert added[100_000] < added[1_000] / 30
    # Without the ground's HWP the frame rotation still comes on top of that residual.
    payload = jinan1.satellite.payload.model_copy(update={"polarisation_probe_photons": 10_000})
    free = jinan.model_copy(update={"polarisation_compensation": False})
    error_z, _, _ = pass_polarisation_errors(geometry, payload, free, seed=1)
    assert error_z.max() > 10 * error_z[0]
