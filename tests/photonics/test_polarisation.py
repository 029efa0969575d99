"""Tests of the polarisation model: onboard fibre compensation and the frame rotation (SPEC §4)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from satqkd.config import Station, load_mission
from satqkd.errors import InputError
from satqkd.orbit.frames import EARTH_ROTATION_RAD_S
from satqkd.photonics.jones import (
    BB84_JONES,
    fidelity,
    half_wave_plate,
    quarter_wave_plate,
    random_su2,
    rotator,
    stokes_from_jones,
    su2_from_axis_angle,
)
from satqkd.photonics.polarisation import (
    bb84_errors,
    compensate_fibre,
    compensator_setting,
    error_from_misalignment,
    frame_rotation_angle_rad,
    frame_rotation_jones,
    ground_compensator,
    ground_hwp_angle_rad,
    probe_stokes,
)
from satqkd.simulate.geometry import PassGeometry, pass_geometry
from satqkd.simulate.pass_simulation import select_pass

N_FIBRES = 2000
POLAR_RADIUS_KM = 6356.752314245  # WGS-84 semi-minor axis


def apply(u: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """Jones matrices ``[..., 2, 2]`` applied to the four BB84 states → ``[..., 4, 2]``."""
    return np.einsum("...ij,sj->...si", u, psi)


def contrast(error: np.ndarray) -> np.ndarray:
    """Polarisation contrast (right : wrong detector) of an error probability."""
    return (1.0 - error) / error


# --- Fibre compensation --------------------------------------------------------------------


def test_exact_probes_restore_hvda_for_random_fibres() -> None:
    fibre = random_su2(N_FIBRES, seed=11)
    result = compensate_fibre(fibre)
    out = apply(result.residual_jones, BB84_JONES)
    assert np.min(fidelity(BB84_JONES, out)) > 1.0 - 1e-13
    assert np.max(result.residual_rad) < 1e-12
    assert max(result.error_z.max(), result.error_x.max()) < 1e-13


@pytest.mark.parametrize("fibre", [
    np.eye(2), half_wave_plate(0.3), quarter_wave_plate(0.0),   # R' already on a pole / H
    su2_from_axis_angle([0, 0, 1], np.pi / 2),                  # H' → D, R' stays at R
    su2_from_axis_angle([0, 1, 1], np.pi),                      # H' = V, R' = D: H'' polar
], ids=["identity", "hwp", "qwp", "rotate-about-S3", "H''-polar"])
def test_degenerate_fibres_are_compensated_too(fibre: np.ndarray) -> None:
    result = compensate_fibre(fibre)
    assert result.residual_rad < 1e-12


def test_each_plate_does_its_spec_step() -> None:
    """SPEC §4: QWP₁ brings R' to the equator, QWP₂ brings H' there, the HWP H' onto H."""
    fibre = random_su2(500, seed=12)
    stokes = probe_stokes(fibre)
    setting = compensator_setting(stokes[:, 0], stokes[:, 2])
    h, r = fibre[..., :, 0], fibre @ np.array([1, 1j]) / np.sqrt(2)
    after1 = quarter_wave_plate(setting.qwp1_rad)
    after2 = quarter_wave_plate(setting.qwp2_rad) @ after1
    np.testing.assert_allclose(stokes_from_jones(np.einsum("nij,nj->ni", after1, r))[:, 2], 0,
                               atol=1e-13)
    np.testing.assert_allclose(stokes_from_jones(np.einsum("nij,nj->ni", after2, h))[:, 2], 0,
                               atol=1e-13)
    full = half_wave_plate(setting.hwp_rad) @ after2
    np.testing.assert_allclose(stokes_from_jones(np.einsum("nij,nj->ni", full, h)),
                               np.broadcast_to([1.0, 0, 0], (500, 3)), atol=1e-13)
    np.testing.assert_allclose(setting.jones(), full, atol=1e-15)


def test_noisy_probes_of_a_fibre_leaving_h_polar_after_qwp1_stay_well_conditioned() -> None:
    """H'' at a pole has no longitude; the QWP₂ axis then comes from R'' (⊥ H'')."""
    fibre = np.broadcast_to(su2_from_axis_angle([0, 1, 1], np.pi), (2000, 2, 2))
    n = 10_000
    result = compensate_fibre(fibre, shots_per_basis=n, seed=17)
    assert np.sqrt(np.mean(result.residual_rad**2)) * np.sqrt(n) < 3.0
    assert result.residual_rad.max() * np.sqrt(n) < 10.0


def test_partially_polarised_probes_give_the_same_setting() -> None:
    fibre = random_su2(200, seed=13)
    s = probe_stokes(fibre)
    exact = compensator_setting(s[:, 0], s[:, 2])
    scaled = compensator_setting(0.7 * s[:, 0], 0.9 * s[:, 2])
    np.testing.assert_allclose(scaled.jones(), exact.jones(), atol=1e-14)


def test_noisy_probes_leave_a_residual_that_scales_as_one_over_root_n() -> None:
    """The residual follows the Stokes noise: RMS·√N stays ~1.6 rad, the tail stays short."""
    fibre = random_su2(N_FIBRES, seed=14)
    rms = {}
    for n in (1_000, 100_000):
        result = compensate_fibre(fibre, shots_per_basis=n, seed=15)
        rms[n] = float(np.sqrt(np.mean(result.residual_rad**2)))
        assert 1.2 < rms[n] * np.sqrt(n) < 2.0
        # Well conditioned: no fibre is left far worse than the typical one.
        assert result.residual_rad.max() * np.sqrt(n) < 8.0
        # Added QBER ≈ 0.4/N (a residual rotation φ costs at most sin²(φ/2) per state).
        qber = 0.5 * (result.error_z + result.error_x)
        assert 0.3 < qber.mean() * n < 0.55
        assert np.all(qber <= np.sin(result.residual_rad / 2) ** 2 + 1e-15)
    assert 8.0 < rms[1_000] / rms[100_000] < 12.0


def test_compensation_is_reproducible_and_needs_a_seed_when_noisy() -> None:
    fibre = random_su2(10, seed=16)
    a = compensate_fibre(fibre, shots_per_basis=500, seed=3)
    b = compensate_fibre(fibre, shots_per_basis=500, seed=3)
    np.testing.assert_array_equal(a.residual_rad, b.residual_rad)
    with pytest.raises(InputError):
        compensate_fibre(fibre, shots_per_basis=500)
    with pytest.raises(InputError):
        compensator_setting(np.zeros(2), np.zeros(3))


def test_misalignment_error_matches_the_jones_model() -> None:
    delta = np.linspace(-np.pi, np.pi, 101)
    error_z, error_x = bb84_errors(frame_rotation_jones(delta))
    np.testing.assert_allclose(error_from_misalignment(delta), error_z, atol=1e-15)
    np.testing.assert_allclose(error_from_misalignment(delta), error_x, atol=1e-15)
    assert error_from_misalignment(0.0, 1 / 151) == pytest.approx(1 / 151)


# --- Frame rotation: geometry alone ---------------------------------------------------------


def straight_track(offset_km: float, height_km: float, n: int = 601):
    """A straight, fast track over a station at the north pole (local vertical = Earth axis).

    The satellite flies north-south at ``height_km`` above the station, ``offset_km`` to the
    side; its speed is huge so that the Earth's rotation does not turn its velocity.
    """
    station = np.array([0.0, 0.0, POLAR_RADIUS_KM])
    y = np.linspace(-4000.0, 4000.0, n)
    r = np.stack([np.full_like(y, offset_km), y, np.full_like(y, POLAR_RADIUS_KM + height_km)],
                 axis=-1)
    return r, np.tile([0.0, 1e7, 0.0], (n, 1)), station, y


def test_straight_track_matches_the_flat_geometry_formula() -> None:
    """cos θ = d·ρ / (√(d² + y²) √(d² + h²)); θ → ±E (culmination elevation) at the ends."""
    d, h = 700.0, 500.0
    r, v, station, y = straight_track(d, h)
    theta = frame_rotation_angle_rad(r, v, station)
    rho = np.sqrt(d**2 + y**2 + h**2)
    expected = np.arccos(d * rho / (np.sqrt(d**2 + y**2) * np.sqrt(d**2 + h**2)))
    np.testing.assert_allclose(np.abs(theta), expected, atol=1e-6)
    assert theta[0] < 0 < theta[-1]  # it turns one way through the pass
    culmination_elevation = np.arctan2(h, d)
    assert abs(theta[-1]) == pytest.approx(culmination_elevation, abs=np.radians(2.0))


def test_zenith_track_does_not_rotate_the_frame() -> None:
    """Overhead, the elevation axis flips through the keyhole: the same axis modulo π."""
    r, v, station, _ = straight_track(0.0, 500.0)
    theta = frame_rotation_angle_rad(r, v, station)
    assert np.all(np.isfinite(theta))
    np.testing.assert_allclose(theta, theta[0], atol=1e-6)


def test_attitude_follows_the_inertial_velocity() -> None:
    """The orbital frame moves with the inertial velocity ``v_itrs + ω⊕ × r``."""
    r, fast, station, _ = straight_track(700.0, 500.0)
    v_itrs = fast * (7.5 / 1e7)
    v_inertial = v_itrs + np.cross([0.0, 0.0, EARTH_ROTATION_RAD_S], r)
    as_inertial = v_inertial / np.linalg.norm(v_inertial, axis=-1, keepdims=True) * 1e7
    theta = frame_rotation_angle_rad(r, v_itrs, station)
    np.testing.assert_allclose(theta, frame_rotation_angle_rad(r, as_inertial, station),
                               atol=1e-5)
    assert np.max(np.abs(theta - frame_rotation_angle_rad(r, fast, station))) > np.radians(0.3)


def test_bad_shapes_and_attitude_are_input_errors() -> None:
    r, v, station, _ = straight_track(700.0, 500.0, n=5)
    with pytest.raises(InputError):
        frame_rotation_angle_rad(r, v[:3], station)
    with pytest.raises(InputError):
        frame_rotation_angle_rad(r, v, station, attitude="yaw")  # type: ignore[arg-type]


# --- Frame rotation over real passes --------------------------------------------------------


def geometry_of(mission: str, station: str, *, max_elevation_deg: float | None = None,
                start: dt.datetime | None = None) -> tuple[PassGeometry, Station]:
    m = load_mission(mission)
    st = m.station(station)
    sel = select_pass(m, st, start=start, max_elevation_deg=max_elevation_deg)
    return pass_geometry(sel.orbit, st, sel.window_start_unix_s, sel.window_end_unix_s,
                         step_s=1.0), st


@pytest.fixture(scope="module")
def reference() -> PassGeometry:
    """The Jinan-1 reference pass (Jinan, 25 Sep 2022, 34.1°, 300 s), 1-s samples."""
    return geometry_of("jinan1", "jinan")[0]


def rotation_of(g: PassGeometry, **kwargs) -> np.ndarray:
    return frame_rotation_angle_rad(g.sat_itrs_km, g.sat_velocity_km_s, g.station_itrs_km,
                                    **kwargs)


def test_reference_pass_rotation_is_smooth_large_and_antisymmetric(reference) -> None:
    theta_deg = np.degrees(rotation_of(reference))
    assert theta_deg.shape == reference.t_s.shape
    assert np.max(np.abs(np.diff(theta_deg))) < 0.5           # deg per 1-s step
    assert 40.0 < np.ptp(theta_deg) < 100.0                    # tens of degrees (~74°)
    # Antisymmetric about culmination, up to the Earth's rotation (a few degrees).
    ic = int(np.argmax(reference.elevation_deg))
    tau = np.arange(1, min(ic, theta_deg.size - 1 - ic))
    odd = theta_deg[ic + tau] + theta_deg[ic - tau] - 2 * theta_deg[ic]
    assert np.max(np.abs(odd)) < 4.0
    assert abs(theta_deg[ic]) < 4.0                            # H axes agree at culmination


@pytest.mark.parametrize("attitude", ["roll_pitch", "pitch_roll"])
def test_higher_passes_turn_the_frame_further(attitude: str) -> None:
    swings = [np.ptp(rotation_of(geometry_of("jinan1", "jinan", max_elevation_deg=el)[0],
                                 attitude=attitude)) for el in (20.0, 34.1, 70.0)]
    assert swings[0] < swings[1] < swings[2]
    assert np.degrees(swings[2]) > 90.0


def test_ground_hwp_cancels_the_rotation_to_its_drive_error(reference) -> None:
    theta = rotation_of(reference)
    link = frame_rotation_jones(theta)
    exact = ground_compensator(ground_hwp_angle_rad(theta)) @ link
    out = apply(exact, BB84_JONES)
    assert np.min(fidelity(BB84_JONES, out)) > 1.0 - 1e-14
    # A drive (prediction, motor) error ε leaves 2ε: here 0.5° → 1° in both bases.
    error_z, error_x = bb84_errors(ground_compensator(ground_hwp_angle_rad(theta, np.radians(
        0.5))) @ link)
    np.testing.assert_allclose(error_z, np.sin(np.radians(1.0)) ** 2, rtol=1e-9)
    np.testing.assert_allclose(error_x, error_z, rtol=1e-9)
    np.testing.assert_allclose(ground_compensator(0.2), -rotator(-0.4), atol=1e-15)


def test_micius_contrast_falls_to_zero_without_compensation_and_holds_with_it() -> None:
    """SPEC §4: left alone, the contrast of a Micius pass falls from ~150:1 to 0; with the
    ground HWP driven by the predicted angle Micius averaged ~280:1 (preset: 24.5 dB)."""
    g, _ = geometry_of("micius", "xinglong", start=dt.datetime(2016, 12, 19, tzinfo=dt.UTC))
    assert g.max_elevation_deg > 40.0
    theta = rotation_of(g)
    free = error_from_misalignment(theta - theta[0], 1.0 / 151.0)  # aligned at the start
    assert contrast(free[0]) == pytest.approx(150.0)
    assert contrast(free).min() < 0.05            # through 1:1 at 45° toward 0 at 90°
    # Compensated: the HWP follows an angle predicted 1 s late, quantised to 0.1° steps.
    e_c = 1.0 / (1.0 + 10 ** 2.45)
    predicted = np.concatenate([theta[:1], theta[:-1]])
    step = np.radians(0.1)
    hwp = np.round(ground_hwp_angle_rad(predicted) / step) * step
    residual = (ground_compensator(hwp) @ frame_rotation_jones(theta))
    error_z, _ = bb84_errors(residual)
    total = e_c + (1 - 2 * e_c) * error_z
    assert 270.0 < contrast(total).mean() <= contrast(e_c)
