"""Polarisation on the downlink: the onboard fibre and its compensation, the frame rotation.

Two effects turn the BB84 states between the source and the ground's analyser (SPEC §4):

**The fibre.** The single-mode fibre from the source to the transmitting telescope turns
the polarisation by an unknown unitary (modelled as a Haar-random SU(2) matrix,
:func:`satqkd.photonics.jones.random_su2`). The satellite compensates it with two
quarter-wave plates (QWP) and one half-wave plate (HWP), in the order the light meets
them, whose angles come from the images ``H'``, ``R'`` of known probe states as measured
(with shot noise) behind the fibre. :func:`compensator_setting` is the Poincaré-sphere
procedure of SPEC §4: the first QWP brings ``R'`` to the equator, the second QWP brings
``H'`` to the equator (which puts ``R`` on a pole), and the HWP rotates ``H'`` onto ``H``
(and, being a half turn, the pole onto ``R``). With exact probes the chain is the identity
to rounding; with noisy probes the residual rotation grows as the Stokes noise, about
``1/√N`` for ``N`` photons per analysis basis (see :func:`compensate_fibre`).

**The frame rotation.** The transmitter's H axis is tied to the satellite's body, the
ground analyser's H axis to its telescope; as the satellite crosses the sky the two turn
against each other about the line of sight (:func:`frame_rotation_angle_rad`). Without
compensation Micius' contrast would fall from ~150:1 to 0 during a pass; a motorised HWP at
the ground driven by the predicted angle (:func:`ground_hwp_angle_rad`,
:func:`ground_compensator`) cancels it, and Micius averaged ~280:1 with it (SPEC §4).

Conventions are those of :mod:`satqkd.photonics.jones` (Stokes order S1, S2, S3; a
wave plate at θ turns the Poincaré sphere about the equatorial axis at longitude 2θ;
Jones frames ``(H, V, propagation)`` right-handed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import erfa
import numpy as np
from numpy.typing import ArrayLike, NDArray

from satqkd.errors import InputError
from satqkd.orbit.frames import EARTH_ROTATION_RAD_S, WGS84, enu_matrix
from satqkd.photonics.jones import (
    BB84_JONES,
    fidelity,
    half_wave_plate,
    jones_vector,
    measure_stokes,
    quarter_wave_plate,
    rotation_angle_rad,
    rotator,
)

__all__ = [
    "PROBE_LABELS",
    "CompensatorSetting",
    "FibreCompensation",
    "bb84_errors",
    "compensate_fibre",
    "compensator_setting",
    "error_from_misalignment",
    "frame_rotation_angle_rad",
    "frame_rotation_jones",
    "ground_compensator",
    "ground_hwp_angle_rad",
    "probe_stokes",
]

PROBE_LABELS = ("H", "D", "R")
"""The probe states the satellite sends through the fibre, in the order of :func:`probe_stokes`."""

Attitude = Literal["roll_pitch", "pitch_roll"]


# --- The fibre and its QWP-QWP-HWP compensation -------------------------------------------


@dataclass(frozen=True)
class CompensatorSetting:
    """Angles (rad, from the transmitter's H axis) of the onboard QWP, QWP, HWP, shape ``[...]``."""

    qwp1_rad: NDArray[np.float64]
    qwp2_rad: NDArray[np.float64]
    hwp_rad: NDArray[np.float64]

    def jones(self) -> NDArray[np.complex128]:
        """The compensator's Jones matrix ``HWP · QWP₂ · QWP₁`` (light meets QWP₁ first)."""
        return (
            half_wave_plate(self.hwp_rad)
            @ quarter_wave_plate(self.qwp2_rad)
            @ quarter_wave_plate(self.qwp1_rad)
        )


def _rotate_about_equator(
    stokes: NDArray[np.float64], axis_longitude_rad: NDArray[np.float64], angle_rad: float
) -> NDArray[np.float64]:
    """Rotate Stokes vectors ``[..., 3]`` by ``angle_rad`` about an equatorial axis (Rodrigues)."""
    a = np.stack(
        [np.cos(axis_longitude_rad), np.sin(axis_longitude_rad), np.zeros_like(axis_longitude_rad)],
        axis=-1,
    )
    along = np.sum(a * stokes, axis=-1, keepdims=True)
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return c * stokes + s * np.cross(a, stokes) + (1.0 - c) * along * a


def compensator_setting(h_stokes: ArrayLike, r_stokes: ArrayLike) -> CompensatorSetting:
    """Plate angles that bring measured probe images ``H'``, ``R'`` back to ``H``, ``R``.

    ``h_stokes`` and ``r_stokes`` (shape ``[..., 3]``, need not be unit or orthogonal:
    measured vectors carry noise) are the Stokes vectors behind the fibre of the probes H
    and R. The steps, each on the Poincaré sphere (SPEC §4):

    1. QWP₁ with its axis under ``R'`` (longitude ``2θ₁`` = longitude of ``R'``): a quarter
       turn about that axis brings ``R'`` exactly to the equator.
    2. QWP₂ with its axis under ``H''`` (the image after QWP₁) brings ``H''`` to the equator.
       Since H ⊥ R, that axis is also the equatorial direction perpendicular to ``R''``; it
       is estimated from both (``H''``'s equatorial part plus ``R''`` turned by 90°, so that a
       nearly polar ``H''`` with an ill-defined longitude still gives a good axis; for exact
       probes both agree), with the sense that sends ``R''`` to the L pole.
    3. The HWP at a quarter of ``H'''``'s longitude turns ``H'''`` onto H and, being a half
       turn about an equatorial axis, L onto R.

    With exact probes the compensated chain is the identity up to a global phase.
    """
    h = np.asarray(h_stokes, dtype=np.float64)
    r = np.asarray(r_stokes, dtype=np.float64)
    if h.shape[-1:] != (3,) or r.shape[-1:] != (3,):
        raise InputError("probe Stokes vectors must have shape [..., 3]", field="stokes")
    h, r = np.broadcast_arrays(h, r)
    # Step 1: a quarter turn about the axis under R' zeroes its S3 whatever its latitude.
    lon1 = np.arctan2(r[..., 1], r[..., 0])
    h1 = _rotate_about_equator(h, lon1, np.pi / 2)
    r1 = _rotate_about_equator(r, lon1, np.pi / 2)
    # Step 2: the axis under H'' (⊥ R''), oriented so that the quarter turn sends R'' to L.
    perp_r = np.stack([-r1[..., 1], r1[..., 0]], axis=-1)  # ẑ × R'': a × R'' = −|R''| ẑ
    h_eq = h1[..., :2]
    sense = np.where(np.sum(h_eq * perp_r, axis=-1) < 0.0, -1.0, 1.0)[..., None]
    axis2 = perp_r / np.linalg.norm(perp_r, axis=-1, keepdims=True) + sense * h_eq
    lon2 = np.arctan2(axis2[..., 1], axis2[..., 0])
    h2 = _rotate_about_equator(h1, lon2, np.pi / 2)
    # Step 3: the HWP maps longitude λ to 4θ₃ − λ; put H''' at longitude 0.
    lon_h = np.arctan2(h2[..., 1], h2[..., 0])
    return CompensatorSetting(
        qwp1_rad=np.mod(lon1 / 2, np.pi),
        qwp2_rad=np.mod(lon2 / 2, np.pi),
        hwp_rad=np.mod(lon_h / 4, np.pi / 2),
    )


def probe_stokes(
    unitary: ArrayLike,
    shots_per_basis: int | None = None,
    rng: np.random.Generator | None = None,
) -> NDArray[np.float64]:
    """Measured Stokes vectors of the probes H, D, R sent through ``unitary`` ``[..., 2, 2]``.

    Returns shape ``[..., 3, 3]`` (probe in :data:`PROBE_LABELS` order, then S1, S2, S3).
    ``shots_per_basis=None`` gives the exact images; otherwise each component is estimated
    from that many photons (:func:`satqkd.photonics.jones.measure_stokes`).
    """
    u = np.asarray(unitary, dtype=np.complex128)
    probes = np.stack([jones_vector(name) for name in PROBE_LABELS])  # [3, 2]
    images = np.einsum("...ij,pj->...pi", u, probes)
    return measure_stokes(images, shots_per_basis, rng)


def bb84_errors(unitary: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Error probabilities in Z (mean over H, V) and X (D, A) of a residual Jones matrix.

    A state ψ sent through ``unitary`` and analysed in its own basis lands in the orthogonal
    detector with probability ``1 − |⟨ψ|Uψ⟩|²``. Shapes ``[..., 2, 2]`` → ``[...]`` each.
    """
    u = np.asarray(unitary, dtype=np.complex128)
    out = np.einsum("...ij,sj->...si", u, BB84_JONES)
    error = 1.0 - fidelity(BB84_JONES, out)  # [..., 4]
    return error[..., :2].mean(axis=-1), error[..., 2:].mean(axis=-1)


def error_from_misalignment(
    misalignment_rad: ArrayLike, contrast_error: float = 0.0
) -> NDArray[np.float64]:
    """Error probability of a linear BB84 state whose frame is turned by ``misalignment_rad``.

    ``e = e_c + (1 − 2 e_c) sin² δ``: the state is turned by δ (2δ on the Poincaré sphere)
    and, with probability ``2 e_c``, depolarised by the source's finite contrast
    ``C = (1 − e_c)/e_c``. Equal in Z and X; with ``e_c = 0`` it is :func:`bb84_errors` of
    ``rotator(δ)``.
    """
    delta = np.asarray(misalignment_rad, dtype=np.float64)
    return with_contrast(np.sin(delta) ** 2, contrast_error)


def with_contrast(polarisation_error: ArrayLike, contrast_error: float) -> NDArray[np.float64]:
    """``e_c + (1 − 2 e_c) e_pol``: an error probability ``polarisation_error`` of the link's
    polarisation optics combined with the source's finite-contrast error ``e_c``
    (depolarised with probability ``2 e_c``)."""
    e = np.asarray(polarisation_error, dtype=np.float64)
    return contrast_error + (1.0 - 2.0 * contrast_error) * e


@dataclass(frozen=True)
class FibreCompensation:
    """The outcome of compensating fibres: plate angles and what is left (simulator truth).

    ``residual_rad`` is the Poincaré-sphere rotation angle of ``compensator · fibre`` (the
    largest displacement of any state), ``error_z`` / ``error_x`` the resulting BB84 error
    probabilities (:func:`bb84_errors`); all of shape ``[...]``.
    """

    setting: CompensatorSetting
    residual_jones: NDArray[np.complex128]
    residual_rad: NDArray[np.float64]
    error_z: NDArray[np.float64]
    error_x: NDArray[np.float64]


def compensate_fibre(
    fibre: ArrayLike,
    *,
    shots_per_basis: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> FibreCompensation:
    """Probe the fibre(s) ``[..., 2, 2]``, set the QWP-QWP-HWP, and report the residual.

    With ``shots_per_basis=N`` the probe Stokes components carry binomial noise of standard
    error ``√((1 − S²)/N)``; the residual rotation then has an RMS of about ``1.6/√N`` rad
    (20000 random fibres; the worst about ``6.4/√N``), an added QBER of ``≈ 0.4/N``.
    """
    u = np.asarray(fibre, dtype=np.complex128)
    rng = None
    if shots_per_basis is not None:
        if seed is None:
            raise InputError("noisy probes need a seed", field="seed")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    stokes = probe_stokes(u, shots_per_basis, rng)
    setting = compensator_setting(stokes[..., 0, :], stokes[..., 2, :])
    residual = setting.jones() @ u
    error_z, error_x = bb84_errors(residual)
    return FibreCompensation(
        setting=setting,
        residual_jones=residual,
        residual_rad=rotation_angle_rad(residual),
        error_z=error_z,
        error_x=error_x,
    )


# --- The rotation of the polarisation frame over a pass -----------------------------------


def _unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _perpendicular_part(v: NDArray[np.float64], k: NDArray[np.float64]) -> NDArray[np.float64]:
    """The unit direction of ``v`` with its component along the unit ``k`` removed."""
    return _unit(v - np.sum(v * k, axis=-1, keepdims=True) * k)


def _station_up(station_itrs_km: NDArray[np.float64]) -> NDArray[np.float64]:
    """The geodetic (WGS-84) vertical at an Earth-fixed position, in Earth-fixed axes."""
    lon_rad, lat_rad, _ = erfa.gc2gd(WGS84, station_itrs_km * 1000.0)
    return enu_matrix(float(np.degrees(lat_rad)), float(np.degrees(lon_rad)))[2]


def frame_rotation_angle_rad(
    sat_itrs_km: ArrayLike,
    sat_velocity_km_s: ArrayLike,
    station_itrs_km: ArrayLike,
    *,
    attitude: Attitude = "roll_pitch",
) -> NDArray[np.float64]:
    """Angle (rad) of the transmitter's H axis in the ground analyser's frame, along a pass.

    Shapes: ``sat_itrs_km`` and ``sat_velocity_km_s`` ``[N, 3]`` (Earth-fixed, samples in
    time order), ``station_itrs_km`` ``[3]``; returns ``[N]``, unwrapped (continuous, the
    first sample in (−π/2, π/2]; polarisation axes are defined modulo π).

    The model (geometric only; the birefringence of mirrors and windows is not included):

    * Light travels along ``k = (station − satellite)/range``.
    * Satellite: the transmitter is fixed in the body, its boresight tracks the station,
      and its H axis is the body axis that points along-track when the satellite looks at
      nadir. The attitude reaches the station from the orbital frame (along-track = the
      inertial velocity, ``v_itrs + ω⊕ × r``) by ``"roll_pitch"`` (roll about the
      along-track axis, then pitch: the H axis stays in the plane of ``k`` and the
      velocity, so it is the velocity's component perpendicular to ``k``) or
      ``"pitch_roll"`` (the pitch axis stays in the plane of ``k`` and the orbit normal;
      H = pitch axis × ``k``).
    * Ground: an alt-az telescope with the analyser riding on the tube; its H axis is the
      elevation axis, horizontal and perpendicular to the line of sight
      (``up × line of sight``), its V axis ``k × H``. (The elevation axis is undefined at
      the zenith, the alt-az keyhole; samples within 1e-9 rad of it are interpolated.)

    The angle θ is measured from the ground's H axis towards its V axis (right-handed
    about ``k``), so a state prepared at polarisation angle α arrives at α + θ: in Jones
    terms the link is :func:`satqkd.photonics.jones.rotator` ``(θ)``.

    What it reproduces: for a straight pass of culmination elevation E the angle tends to
    ±E at the horizons (flat-Earth limit, checked in the tests), so a pass turns the frame
    by up to ~2E: 74° over the 300 s of the 34.1° Jinan-1 reference pass, 108° over the
    15°-to-10° QKD window of a 47.8° Micius pass over Xinglong (``"roll_pitch"``; the
    ``"pitch_roll"`` law turns it further, 151° on the 34.1° pass). Left alone, the
    contrast falls from its start value through 1:1 (45°) toward 0 (90°), as SPEC §4
    reports for Micius. The rotation is antisymmetric about culmination, where the two H
    axes agree, up to the Earth's rotation (≲ 3° on the reference pass).
    """
    r = np.asarray(sat_itrs_km, dtype=np.float64)
    v = np.asarray(sat_velocity_km_s, dtype=np.float64)
    station = np.asarray(station_itrs_km, dtype=np.float64)
    if r.ndim != 2 or r.shape[-1] != 3 or v.shape != r.shape or station.shape != (3,):
        raise InputError(
            "expected satellite positions and velocities [N, 3] and a station [3]",
            field="sat_itrs_km", value=(r.shape, v.shape, station.shape),
        )
    k = _unit(station - r)
    v_inertial = v + np.cross(np.array([0.0, 0.0, EARTH_ROTATION_RAD_S]), r)
    if attitude == "roll_pitch":
        h_sat = _perpendicular_part(v_inertial, k)
    elif attitude == "pitch_roll":
        pitch_axis = _perpendicular_part(np.cross(v_inertial, r), k)  # −orbit normal
        h_sat = np.cross(pitch_axis, k)
    else:
        raise InputError("unknown attitude law", field="attitude", value=attitude)

    elevation_axis = np.cross(_station_up(station), -k)
    norm = np.linalg.norm(elevation_axis, axis=-1)
    ok = norm > 1e-9
    if not ok.any():
        raise InputError("the line of sight stays at the zenith", field="sat_itrs_km")
    h_gnd = elevation_axis / np.where(ok, norm, 1.0)[:, None]
    v_gnd = np.cross(k, h_gnd)
    theta = np.arctan2(np.sum(h_sat * v_gnd, axis=-1), np.sum(h_sat * h_gnd, axis=-1))
    if not ok.all():
        idx = np.arange(theta.size)
        good = np.unwrap(2.0 * theta[ok])
        doubled = np.interp(idx, idx[ok], good)
    else:
        doubled = np.unwrap(2.0 * theta)
    # Axes are defined modulo π: unwrap the doubled angle, start in (−π/2, π/2].
    shift = 2.0 * np.pi * np.ceil((doubled[0] - np.pi) / (2.0 * np.pi))
    return (doubled - shift) / 2.0


def ground_hwp_angle_rad(
    rotation_rad: ArrayLike, offset_rad: ArrayLike = 0.0
) -> NDArray[np.float64]:
    """Angle of the ground's motorised HWP that cancels a predicted frame rotation.

    ``θ/2 + offset``: the HWP reflects a linear angle α to ``2φ − α``, and the analyser
    behind it has the opposite handedness (a fixed HWP at 0, or an odd number of mirrors,
    see :func:`ground_compensator`), so the pair turns polarisation by ``−2φ``. An error
    ``ε`` in ``φ`` leaves a misalignment ``2ε``.
    """
    return 0.5 * np.asarray(rotation_rad, dtype=np.float64) + np.asarray(offset_rad)


def ground_compensator(hwp_angle_rad: ArrayLike) -> NDArray[np.complex128]:
    """Jones matrix ``HWP(0) · HWP(φ)`` of the ground's motorised HWP and analyser parity.

    Equal to ``−rotator(−2φ)``: a pure rotation of the frame by ``−2φ``, shape ``[..., 2, 2]``.
    """
    return half_wave_plate(0.0) @ half_wave_plate(hwp_angle_rad)


def frame_rotation_jones(rotation_rad: ArrayLike) -> NDArray[np.complex128]:
    """The link's Jones matrix for a frame rotation θ (ground frame ← transmitter frame)."""
    return rotator(rotation_rad)
