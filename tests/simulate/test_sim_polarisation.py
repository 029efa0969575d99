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
