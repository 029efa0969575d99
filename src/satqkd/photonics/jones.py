"""Jones calculus for polarisation qubits: states, wave plates, rotators, SU(2), Stokes vectors.

A pure polarisation state is a Jones vector ``[E_x, E_y]`` (complex, shape ``[..., 2]``) in
the transmitter's frame: ``x`` is its H axis, ``y`` its V axis, and the light propagates
along ``+z`` so that ``(x, y, z)`` is right-handed. Optical elements without loss are SU(2)
matrices (shape ``[..., 2, 2]``); every function broadcasts over leading axes.

Conventions (one set, used everywhere in satqkd):

* Stokes vector ``s = (S1, S2, S3) / S0`` with ``S1 = |E_x|² − |E_y|²``,
  ``S2 = 2 Re(E_x* E_y)``, ``S3 = 2 Im(E_x* E_y)``. H = (1, 0, 0), V = (−1, 0, 0),
  D = (0, 1, 0), A = (0, −1, 0), R = (0, 0, 1), L = (0, 0, −1). A linear polarisation at
  angle α from H sits at longitude 2α on the equator of the Poincaré sphere. (Which circular
  state is called "right" differs between textbooks; here R is the one with S3 = +1.)
* ``U = exp(−i φ/2 n·σ)`` with ``σ = (σ_z, σ_x, σ_y)`` in Stokes order rotates Stokes vectors
  by ``+φ`` (right-handed) about ``n``: :func:`poincare_rotation` gives the 3×3 matrix.
* A wave plate of retardance Γ with its axis at angle θ from H rotates the sphere by Γ about
  the equatorial axis at longitude 2θ: a quarter-wave plate (QWP) by 90°, a half-wave plate
  (HWP) by 180° (it reflects a linear angle α to 2θ − α). A rotator by ρ turns linear
  polarisation by ρ (the sphere by 2ρ about S3).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from satqkd.errors import InputError

__all__ = [
    "BB84_JONES",
    "BB84_LABELS",
    "PAULI_STOKES",
    "fidelity",
    "half_wave_plate",
    "jones_from_stokes",
    "jones_vector",
    "measure_stokes",
    "orientation_ellipticity_rad",
    "poincare_rotation",
    "quarter_wave_plate",
    "random_su2",
    "rotation_angle_rad",
    "rotator",
    "sphere_angle_rad",
    "stokes_from_jones",
    "stokes_from_orientation_ellipticity",
    "su2_from_axis_angle",
    "wave_plate",
]

_SQRT_HALF = np.sqrt(0.5)
_STATES: dict[str, tuple[complex, complex]] = {
    "H": (1.0, 0.0),
    "V": (0.0, 1.0),
    "D": (_SQRT_HALF, _SQRT_HALF),
    "A": (_SQRT_HALF, -_SQRT_HALF),
    "R": (_SQRT_HALF, 1j * _SQRT_HALF),
    "L": (_SQRT_HALF, -1j * _SQRT_HALF),
}

BB84_LABELS = ("H", "V", "D", "A")
"""The four BB84 source states, in the detector order H, V (Z basis), D, A (X basis)."""

BB84_JONES: NDArray[np.complex128] = np.array([_STATES[k] for k in BB84_LABELS])
"""Jones vectors of H, V, D, A, shape ``[4, 2]``."""

PAULI_STOKES: NDArray[np.complex128] = np.array(
    [[[1, 0], [0, -1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]]], dtype=np.complex128
)
"""Pauli matrices in Stokes order (S1, S2, S3): ``S_k = ψ† σ_k ψ``, shape ``[3, 2, 2]``."""


def jones_vector(name: str) -> NDArray[np.complex128]:
    """Jones vector of a named state: ``"H"``, ``"V"``, ``"D"``, ``"A"``, ``"R"`` or ``"L"``."""
    try:
        return np.array(_STATES[name.upper()], dtype=np.complex128)
    except KeyError:
        raise InputError(
            f"unknown polarisation state (known: {', '.join(_STATES)})",
            field="state",
            value=name,
        ) from None


def rotator(angle_rad: ArrayLike) -> NDArray[np.complex128]:
    """Rotator turning linear polarisation by ``angle_rad`` (H → cos ρ H + sin ρ V).

    This is also how a rotation of the reference frame by −ρ looks to the light; on the
    Poincaré sphere it is a rotation by 2ρ about S3. Shape ``[..., 2, 2]``.
    """
    rho = np.asarray(angle_rad, dtype=np.float64)
    c, s = np.cos(rho), np.sin(rho)
    out = np.empty((*rho.shape, 2, 2), dtype=np.complex128)
    out[..., 0, 0], out[..., 0, 1] = c, -s
    out[..., 1, 0], out[..., 1, 1] = s, c
    return out


def wave_plate(angle_rad: ArrayLike, retardance_rad: ArrayLike) -> NDArray[np.complex128]:
    """Wave plate of retardance Γ with its axis at ``angle_rad`` from H, shape ``[..., 2, 2]``.

    ``J = R(θ) diag(e^{−iΓ/2}, e^{iΓ/2}) R(−θ)`` with ``R`` the :func:`rotator`: polarisation
    along the axis picks up phase −Γ/2, across it +Γ/2. Determinant 1 (SU(2)); on the
    Poincaré sphere a rotation by Γ about the equatorial axis at longitude 2θ.
    """
    theta = np.asarray(angle_rad, dtype=np.float64)
    gamma = np.asarray(retardance_rad, dtype=np.float64)
    theta, gamma = np.broadcast_arrays(theta, gamma)
    c2, s2 = np.cos(2 * theta), np.sin(2 * theta)
    ch, sh = np.cos(gamma / 2), np.sin(gamma / 2)
    out = np.empty((*theta.shape, 2, 2), dtype=np.complex128)
    # exp(−iΓ/2 (cos2θ σ1 + sin2θ σ2)) = cos(Γ/2) I − i sin(Γ/2) [[c2, s2], [s2, −c2]]
    out[..., 0, 0] = ch - 1j * sh * c2
    out[..., 0, 1] = -1j * sh * s2
    out[..., 1, 0] = -1j * sh * s2
    out[..., 1, 1] = ch + 1j * sh * c2
    return out


def quarter_wave_plate(angle_rad: ArrayLike) -> NDArray[np.complex128]:
    """Quarter-wave plate with its axis at ``angle_rad``: a 90° turn of the Poincaré sphere."""
    return wave_plate(angle_rad, np.pi / 2)


def half_wave_plate(angle_rad: ArrayLike) -> NDArray[np.complex128]:
    """Half-wave plate with its axis at ``angle_rad``: reflects a linear angle α to 2θ − α."""
    return wave_plate(angle_rad, np.pi)


def su2_from_axis_angle(axis: ArrayLike, angle_rad: ArrayLike) -> NDArray[np.complex128]:
    """The SU(2) matrix that rotates the Poincaré sphere by ``angle_rad`` about ``axis``.

    ``axis`` has shape ``[..., 3]`` (Stokes coordinates, normalised here); the result
    ``exp(−i φ/2 n·σ)`` has shape ``[..., 2, 2]``.
    """
    n = np.asarray(axis, dtype=np.float64)
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    if n.shape[-1:] != (3,) or np.any(norm == 0):
        raise InputError("rotation axis must be a non-zero 3-vector", field="axis", value=n)
    n = n / norm
    phi = np.asarray(angle_rad, dtype=np.float64)[..., None, None]
    n_sigma = np.einsum("...k,kij->...ij", n, PAULI_STOKES)
    return np.cos(phi / 2) * np.eye(2) - 1j * np.sin(phi / 2) * n_sigma


def random_su2(
    size: int | tuple[int, ...], seed: int | np.random.Generator
) -> NDArray[np.complex128]:
    """Haar-random SU(2) matrices (an unknown fibre), shape ``[*size, 2, 2]``, reproducible.

    A uniformly random unit quaternion (normalised 4-D Gaussian) ``(a, b, c, d)`` gives
    ``[[a + ib, c + id], [−c + id, a − ib]]``; its Poincaré-sphere rotation is uniform on SO(3).
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    shape = (size,) if isinstance(size, int) else tuple(size)
    q = rng.standard_normal((*shape, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    a, b, c, d = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    out = np.empty((*shape, 2, 2), dtype=np.complex128)
    out[..., 0, 0], out[..., 0, 1] = a + 1j * b, c + 1j * d
    out[..., 1, 0], out[..., 1, 1] = -c + 1j * d, a - 1j * b
    return out


def stokes_from_jones(psi: ArrayLike) -> NDArray[np.float64]:
    """Normalised Stokes vector ``(S1, S2, S3)/S0`` of Jones vectors ``[..., 2]`` → ``[..., 3]``."""
    p = np.asarray(psi, dtype=np.complex128)
    ex, ey = p[..., 0], p[..., 1]
    s0 = np.abs(ex) ** 2 + np.abs(ey) ** 2
    cross = np.conj(ex) * ey
    return np.stack([np.abs(ex) ** 2 - np.abs(ey) ** 2, 2 * cross.real, 2 * cross.imag], -1) / (
        s0[..., None]
    )


def jones_from_stokes(stokes: ArrayLike) -> NDArray[np.complex128]:
    """A unit Jones vector (real, non-negative ``E_x``) with the given Stokes direction.

    ``stokes`` has shape ``[..., 3]`` and is normalised here (a partially polarised
    measurement maps to its polarised part). The global phase is not defined by a Stokes
    vector; this one puts it on ``E_y``.
    """
    s = np.asarray(stokes, dtype=np.float64)
    s = s / np.linalg.norm(s, axis=-1, keepdims=True)
    ex = np.sqrt(np.clip((1 + s[..., 0]) / 2, 0.0, 1.0))
    ey_abs = np.sqrt(np.clip((1 - s[..., 0]) / 2, 0.0, 1.0))
    phase = np.arctan2(s[..., 2], s[..., 1])
    return np.stack([ex.astype(np.complex128), ey_abs * np.exp(1j * phase)], axis=-1)


def orientation_ellipticity_rad(
    stokes: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Orientation ψ of the polarisation ellipse (from H, in (−π/2, π/2]) and ellipticity χ.

    ``S = (cos 2χ cos 2ψ, cos 2χ sin 2ψ, sin 2χ)``: ψ is half the longitude on the Poincaré
    sphere and χ half the latitude (χ = ±π/4 for R/L).
    """
    s = np.asarray(stokes, dtype=np.float64)
    s = s / np.linalg.norm(s, axis=-1, keepdims=True)
    psi = 0.5 * np.arctan2(s[..., 1], s[..., 0])
    chi = 0.5 * np.arcsin(np.clip(s[..., 2], -1.0, 1.0))
    return psi, chi


def stokes_from_orientation_ellipticity(
    orientation_rad: ArrayLike, ellipticity_rad: ArrayLike
) -> NDArray[np.float64]:
    """Unit Stokes vector of an ellipse with orientation ψ and ellipticity χ, shape ``[..., 3]``."""
    psi = np.asarray(orientation_rad, dtype=np.float64)
    chi = np.asarray(ellipticity_rad, dtype=np.float64)
    psi, chi = np.broadcast_arrays(psi, chi)
    return np.stack(
        [np.cos(2 * chi) * np.cos(2 * psi), np.cos(2 * chi) * np.sin(2 * psi), np.sin(2 * chi)],
        axis=-1,
    )


def poincare_rotation(unitary: ArrayLike) -> NDArray[np.float64]:
    """The 3×3 rotation ``R`` with ``s(Uψ) = R s(ψ)`` for a Jones matrix ``[..., 2, 2]``.

    ``R_ij = ½ tr(σ_i U σ_j U†)``; the global phase (and the sign of an SU(2) matrix) drops
    out. Any unitary Jones matrix works, not only determinant-1 ones.
    """
    u = np.asarray(unitary, dtype=np.complex128)
    ud = np.conj(np.swapaxes(u, -1, -2))
    # σ_i U σ_j U†: trace over the 2×2 indices.
    r = np.einsum("iab,...bc,jcd,...da->...ij", PAULI_STOKES, u, PAULI_STOKES, ud)
    return 0.5 * r.real


def rotation_angle_rad(unitary: ArrayLike) -> NDArray[np.float64]:
    """Angle of the Poincaré-sphere rotation of a Jones matrix: the largest displacement.

    The identity (up to a global phase) gives 0; a state on the sphere is moved by at most
    this angle, and the states on the rotation axis are not moved at all. Computed from
    the matrix divided by the square root of its determinant, ``a I − i b·σ`` with
    ``a = cos(φ/2)``, ``|b| = sin(φ/2)``, as ``2 atan2(|b|, |a|)``: accurate to rounding
    also for tiny angles (an ``arccos`` of the trace would lose half the digits).
    """
    u = np.asarray(unitary, dtype=np.complex128)
    q = u / np.sqrt(np.linalg.det(u))[..., None, None]
    scalar = 0.5 * (q[..., 0, 0] + q[..., 1, 1])
    vector = 0.5 * np.einsum("kij,...ji->...k", PAULI_STOKES, q)
    return 2.0 * np.arctan2(np.linalg.norm(vector, axis=-1), np.abs(scalar))


def fidelity(psi: ArrayLike, phi: ArrayLike) -> NDArray[np.float64]:
    """State fidelity ``|⟨ψ|φ⟩|² / (⟨ψ|ψ⟩⟨φ|φ⟩)`` of Jones vectors ``[..., 2]``."""
    a = np.asarray(psi, dtype=np.complex128)
    b = np.asarray(phi, dtype=np.complex128)
    overlap = np.sum(np.conj(a) * b, axis=-1)
    norms = np.sum(np.abs(a) ** 2, axis=-1) * np.sum(np.abs(b) ** 2, axis=-1)
    return np.abs(overlap) ** 2 / norms


def sphere_angle_rad(stokes_a: ArrayLike, stokes_b: ArrayLike) -> NDArray[np.float64]:
    """Great-circle angle between two Stokes directions on the Poincaré sphere.

    For pure states ``fidelity = cos²(angle / 2)``.
    """
    a = np.asarray(stokes_a, dtype=np.float64)
    b = np.asarray(stokes_b, dtype=np.float64)
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    return np.arctan2(cross, np.sum(a * b, axis=-1))


def measure_stokes(
    psi: ArrayLike,
    shots_per_basis: int | None,
    rng: np.random.Generator | None = None,
    *,
    degree_of_polarisation: float = 1.0,
) -> NDArray[np.float64]:
    """Stokes vector of Jones vectors ``[..., 2]`` as a polarimeter would measure it.

    With ``shots_per_basis=None`` the exact vector (times ``degree_of_polarisation``);
    otherwise each component comes from ``shots_per_basis`` photons projected onto its
    basis (H/V, D/A, R/L): ``n₊ ~ Binomial(N, (1 + S_k)/2)`` and ``Ŝ_k = 2 n₊/N − 1``, so
    each component has a standard error ``√((1 − S_k²)/N)``. Shape ``[..., 3]``.
    """
    if not 0.0 <= degree_of_polarisation <= 1.0:
        raise InputError(
            "degree of polarisation must lie in [0, 1]",
            field="degree_of_polarisation",
            value=degree_of_polarisation,
        )
    s = stokes_from_jones(psi) * degree_of_polarisation
    if shots_per_basis is None:
        return s
    if shots_per_basis < 1:
        raise InputError(
            "a Stokes measurement needs at least one photon per basis",
            field="shots_per_basis",
            value=shots_per_basis,
        )
    if rng is None:
        raise InputError("a noisy Stokes measurement needs a random generator", field="rng")
    p_plus = np.clip((1.0 + s) / 2.0, 0.0, 1.0)
    n_plus = rng.binomial(shots_per_basis, p_plus)
    return 2.0 * n_plus / shots_per_basis - 1.0
