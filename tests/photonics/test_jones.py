"""Tests of the Jones calculus: states, wave plates, SU(2), Stokes vectors and their noise."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from satqkd.errors import InputError
from satqkd.photonics.jones import (
    BB84_JONES,
    fidelity,
    half_wave_plate,
    jones_from_stokes,
    jones_vector,
    measure_stokes,
    orientation_ellipticity_rad,
    poincare_rotation,
    quarter_wave_plate,
    random_su2,
    rotation_angle_rad,
    rotator,
    sphere_angle_rad,
    stokes_from_jones,
    stokes_from_orientation_ellipticity,
    su2_from_axis_angle,
    wave_plate,
)

NAMED_STOKES = {
    "H": (1, 0, 0), "V": (-1, 0, 0), "D": (0, 1, 0), "A": (0, -1, 0), "R": (0, 0, 1),
    "L": (0, 0, -1),
}


def rodrigues(axis: np.ndarray, angle_rad: np.ndarray) -> np.ndarray:
    """Right-handed 3×3 rotation matrices about unit ``axis [..., 3]`` (reference)."""
    n = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    k = np.zeros((*n.shape[:-1], 3, 3))
    k[..., 0, 1], k[..., 0, 2], k[..., 1, 2] = -n[..., 2], n[..., 1], -n[..., 0]
    k = k - np.swapaxes(k, -1, -2)
    a = np.asarray(angle_rad)[..., None, None]
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * (k @ k)


def linear_angle_rad(psi: np.ndarray) -> np.ndarray:
    """Angle from H of a linear polarisation (half the Stokes longitude)."""
    return orientation_ellipticity_rad(stokes_from_jones(psi))[0]


@pytest.mark.parametrize("name", list(NAMED_STOKES))
def test_named_states_sit_where_the_convention_says(name: str) -> None:
    np.testing.assert_allclose(stokes_from_jones(jones_vector(name)), NAMED_STOKES[name],
                               atol=1e-15)
    np.testing.assert_allclose(fidelity(jones_from_stokes(NAMED_STOKES[name]),
                                        jones_vector(name)), 1.0, atol=1e-15)


def test_unknown_state_name_is_an_input_error() -> None:
    with pytest.raises(InputError):
        jones_vector("X")


def test_bb84_states_are_two_conjugate_bases() -> None:
    overlaps = np.abs(np.conj(BB84_JONES) @ BB84_JONES.T) ** 2
    np.testing.assert_allclose(overlaps, [[1, 0, .5, .5], [0, 1, .5, .5],
                                          [.5, .5, 1, 0], [.5, .5, 0, 1]], atol=1e-15)


def test_wave_plates_are_su2_rotations_about_equatorial_axes() -> None:
    rng = np.random.default_rng(1)
    theta, gamma = rng.uniform(-np.pi, np.pi, 200), rng.uniform(0, 2 * np.pi, 200)
    j = wave_plate(theta, gamma)
    np.testing.assert_allclose(np.linalg.det(j), 1.0, atol=1e-14)
    np.testing.assert_allclose(j @ np.conj(np.swapaxes(j, -1, -2)), np.broadcast_to(
        np.eye(2), j.shape), atol=1e-14)
    axis = np.stack([np.cos(2 * theta), np.sin(2 * theta), np.zeros_like(theta)], -1)
    np.testing.assert_allclose(poincare_rotation(j), rodrigues(axis, gamma), atol=1e-13)


def test_quarter_wave_plate_at_45_deg_turns_h_into_a_circular_state() -> None:
    # A quarter turn about D: H → D × H = −S3, i.e. L in this convention.
    out = stokes_from_jones(quarter_wave_plate(np.pi / 4) @ jones_vector("H"))
    np.testing.assert_allclose(out, (0, 0, -1), atol=1e-15)


def test_half_wave_plate_reflects_linear_angles_and_rotator_turns_them() -> None:
    rng = np.random.default_rng(2)
    alpha, theta = rng.uniform(-1.5, 1.5, 100), rng.uniform(-1.5, 1.5, 100)
    psi = np.stack([np.cos(alpha), np.sin(alpha)], -1).astype(complex)
    out = np.einsum("...ij,...j->...i", half_wave_plate(theta), psi)
    diff = linear_angle_rad(out) - (2 * theta - alpha)
    np.testing.assert_allclose(np.sin(diff), 0.0, atol=1e-13)  # equal modulo π
    turned = np.einsum("...ij,...j->...i", rotator(theta), psi)
    np.testing.assert_allclose(np.sin(linear_angle_rad(turned) - alpha - theta), 0.0,
                               atol=1e-13)


def test_su2_from_axis_angle_is_a_right_handed_rotation() -> None:
    rng = np.random.default_rng(3)
    axis, angle = rng.standard_normal((300, 3)), rng.uniform(0, np.pi, 300)
    u = su2_from_axis_angle(axis, angle)
    np.testing.assert_allclose(poincare_rotation(u), rodrigues(axis, angle), atol=1e-13)
    np.testing.assert_allclose(rotation_angle_rad(u * np.exp(0.7j)), angle, atol=1e-13)
    with pytest.raises(InputError):
        su2_from_axis_angle([0.0, 0.0, 0.0], 1.0)


def test_rotation_angle_is_accurate_for_tiny_angles() -> None:
    assert rotation_angle_rad(su2_from_axis_angle([0, 1, 0], 1e-10)) == pytest.approx(1e-10)
    assert rotation_angle_rad(np.eye(2) * 1j) == 0.0


def test_random_su2_is_haar_and_reproducible() -> None:
    u = random_su2(20_000, seed=5)
    np.testing.assert_array_equal(u, random_su2(20_000, seed=5))
    np.testing.assert_allclose(np.linalg.det(u), 1.0, atol=1e-14)
    # The image of any state is uniform on the sphere: each Stokes component is uniform on
    # [−1, 1] (Archimedes); the rotation angle φ has density (1 − cos φ)/π on [0, π].
    s = stokes_from_jones(u @ jones_vector("D"))
    for k in range(3):
        assert stats.kstest(s[:, k], stats.uniform(-1, 2).cdf).pvalue > 1e-3
    phi = rotation_angle_rad(u)
    assert stats.kstest(phi, lambda x: (x - np.sin(x)) / np.pi).pvalue > 1e-3


def test_stokes_round_trips() -> None:
    rng = np.random.default_rng(6)
    s = rng.standard_normal((500, 3))
    s /= np.linalg.norm(s, axis=-1, keepdims=True)
    np.testing.assert_allclose(stokes_from_jones(jones_from_stokes(s)), s, atol=1e-14)
    psi, chi = orientation_ellipticity_rad(s)
    np.testing.assert_allclose(stokes_from_orientation_ellipticity(psi, chi), s, atol=1e-14)
    # Fidelity and the great-circle angle agree for pure states.
    a, b = jones_from_stokes(s[:250]), jones_from_stokes(s[250:])
    np.testing.assert_allclose(fidelity(a, b),
                               np.cos(sphere_angle_rad(s[:250], s[250:]) / 2) ** 2, atol=1e-14)


def test_measured_stokes_has_the_binomial_standard_error() -> None:
    psi = np.broadcast_to(jones_from_stokes([0.6, 0.0, 0.8]), (4000, 2))
    n = 2500
    s = measure_stokes(psi, n, np.random.default_rng(7))
    np.testing.assert_allclose(s.mean(axis=0), [0.6, 0.0, 0.8], atol=4 * 0.02 / np.sqrt(4000))
    expected_sd = np.sqrt((1 - np.array([0.36, 0.0, 0.64])) / n)
    np.testing.assert_allclose(s.std(axis=0), expected_sd, rtol=0.05)
    np.testing.assert_allclose(measure_stokes(psi[:1], None, degree_of_polarisation=0.5),
                               [[0.3, 0.0, 0.4]], atol=1e-15)
    with pytest.raises(InputError):
        measure_stokes(psi, n)
    with pytest.raises(InputError):
        measure_stokes(psi, 0, np.random.default_rng(0))
