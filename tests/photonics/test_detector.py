"""Tests of the four-detector receiver: routing, multi-photon squashing, background, dead time."""

from __future__ import annotations

import numpy as np
import pytest

from satqkd.errors import InputError
from satqkd.photonics.clicks import (
    ORIGIN_AFTERPULSE,
    ORIGIN_BACKGROUND,
    Clicks,
    apply_dead_time,
    assign_events,
)
from satqkd.photonics.detector import Receiver, background_clicks, jitter_sigma_ps

REP_RATE_HZ = 625e6
PERIOD_PS = 1600.0


def per_basis_matrix(error: float = 0.0) -> np.ndarray:
    """Rows: prepared H, V, D, A; columns P(H), P(V) in the Z arm and P(D), P(A) in the X arm."""
    e = error
    return np.array(
        [
            [1 - e, e, 0.5, 0.5],
            [e, 1 - e, 0.5, 0.5],
            [0.5, 0.5, 1 - e, e],
            [0.5, 0.5, e, 1 - e],
        ]
    )


def quiet_receiver(**kwargs) -> Receiver:
    params = dict(efficiency=1.0, dark_count_rate_hz=0.0, dead_time_ns=0.0, jitter_fwhm_ps=0.0)
    params.update(kwargs)
    return Receiver(**params)


def candidates(n: int, photons: int, state: int) -> tuple[np.ndarray, ...]:
    index = np.arange(n, dtype=np.uint64) * np.uint64(1000)
    return index, np.full(n, photons), np.full(n, state, dtype=np.uint8)


def run_detect(
    receiver: Receiver, n: int, photons: int, state: int, matrix, seed: int = 1, **kwargs
):
    index, photon_number, prepared = candidates(n, photons, state)
    return receiver.detect(
        index,
        photon_number,
        prepared,
        matrix,
        np.random.default_rng(seed),
        rep_rate_hz=REP_RATE_HZ,
        pulse_range=(0, n * 1000),
        prepared_state_of=lambda k: np.full(k.shape, state, dtype=np.uint8),
        **kwargs,
    )


def test_single_photons_follow_splitter_and_efficiency() -> None:
    n = 200_000
    receiver = quiet_receiver(efficiency=[0.6, 0.5, 0.4, 0.3], basis_split_z=0.6)
    events, truth = run_detect(receiver, n, 1, 0, per_basis_matrix())
    expected_z = 0.6 * 0.6
    expected_x = 0.4 * (0.5 * 0.4 + 0.5 * 0.3)
    z = events.basis == 0
    assert np.sum(z) / n == pytest.approx(expected_z, abs=5 * np.sqrt(expected_z / n))
    assert np.sum(~z) / n == pytest.approx(expected_x, abs=5 * np.sqrt(expected_x / n))
    assert not np.any(events.double_click | events.cross_basis)
    # Prepared H, perfect alignment: no error in Z; the X arm is a coin.
    assert not np.any(truth.bit_error[truth.basis_match])
    assert np.mean(events.bit[~z]) == pytest.approx(0.3 / 0.7, abs=0.01)
    assert np.all(truth.photon_number == 1)
    assert np.all(truth.signal_click)


def test_misalignment_gives_its_error_rate() -> None:
    n = 200_000
    events, truth = run_detect(quiet_receiver(), n, 1, 2, per_basis_matrix(error=0.01))
    qber = np.mean(truth.bit_error[truth.basis_match])
    assert qber == pytest.approx(0.01, abs=5 * np.sqrt(0.01 / truth.basis_match.sum()))
    assert len(events) == n


def test_two_photons_double_and_cross_basis_clicks() -> None:
    n = 100_000
    events, _ = run_detect(quiet_receiver(), n, 2, 0, per_basis_matrix())
    # Two photons of H, 50:50 splitter, ideal detectors: both in Z (1/4) -> H only;
    # both in X (1/4) -> D+A with probability 1/2; one in each arm (1/2) -> cross basis.
    assert len(events) == n
    assert np.mean(events.cross_basis) == pytest.approx(0.5, abs=0.01)
    assert np.mean(events.double_click) == pytest.approx(0.125, abs=0.005)
    # Squashing assigns random bases and bits: balanced.
    assert np.mean(events.basis[events.cross_basis]) == pytest.approx(0.5, abs=0.01)
    assert np.mean(events.bit[events.double_click]) == pytest.approx(0.5, abs=0.02)
    assert np.all(events.basis[events.double_click] == 1)


def test_assign_events_rules() -> None:
    # Pulse 5: H alone; 7: H and V; 9: H and D; 11: V twice (one detector) -> V.
    index = np.array([5, 7, 7, 9, 9, 11, 11], dtype=np.uint64)
    detector = np.array([0, 0, 1, 0, 2, 1, 1], dtype=np.uint8)
    offset = np.array([10.0, 5.0, -3.0, 1.0, 2.0, 0.0, 4.0])
    ev = assign_events(index, detector, offset, np.random.default_rng(0))
    np.testing.assert_array_equal(ev.pulse_index, [5, 7, 9, 11])
    assert ev.detector[0] == 0 and ev.detector[3] == 1
    assert ev.basis[1] == 0 and ev.double_click[1] and not ev.cross_basis[1]
    assert ev.cross_basis[2] and not ev.double_click[2]
    np.testing.assert_array_equal(ev.time_offset_ps, [10.0, -3.0, 1.0, 0.0])
    with pytest.raises(ValueError):
        assign_events(index[::-1], detector, offset, np.random.default_rng(0))


def test_background_clicks_are_poisson_and_uniform_in_slot() -> None:
    rng = np.random.default_rng(3)
    clicks = background_clicks(0, int(REP_RATE_HZ), REP_RATE_HZ, [1e4, 2e4, 0.0, 5e3], rng)
    counts = np.bincount(clicks.detector, minlength=4)
    for count, rate in zip(counts, [1e4, 2e4, 0.0, 5e3], strict=True):
        assert abs(count - rate) <= 5 * np.sqrt(rate) + 1e-9
    assert np.all(np.abs(clicks.time_offset_ps) <= PERIOD_PS / 2)
    assert np.std(clicks.time_offset_ps) == pytest.approx(PERIOD_PS / np.sqrt(12), rel=0.02)
    assert np.all(clicks.origin == ORIGIN_BACKGROUND)


def test_dark_counts_reach_events_with_half_errors() -> None:
    receiver = quiet_receiver(dark_count_rate_hz=2e4)
    # No photons at all: every event is a dark count, half of the sifted bits wrong.
    events, truth = run_detect(receiver, 1000, 0, 0, per_basis_matrix())
    expected = 4 * 2e4 * 1000 * 1000 / REP_RATE_HZ
    assert abs(len(events) - expected) < 5 * np.sqrt(expected)
    assert not np.any(truth.signal_click)
    assert np.mean(truth.bit_error[truth.basis_match]) == pytest.approx(0.5, abs=0.06)


def test_dead_time_is_non_paralysable() -> None:
    # One detector, clicks at 0, 30, 60, 100, 130 ns with 50 ns dead time -> 0, 60, 130 kept.
    t_ps = np.array([0.0, 30e3, 60e3, 100e3, 130e3])
    index = np.rint(t_ps / PERIOD_PS).astype(np.uint64)
    clicks = Clicks(index, np.zeros(5, np.uint8), t_ps - index * PERIOD_PS, np.zeros(5, np.uint8))
    kept = apply_dead_time(clicks, REP_RATE_HZ, 50.0)
    np.testing.assert_allclose(
        kept.pulse_index * PERIOD_PS + kept.time_offset_ps, [0.0, 60e3, 130e3], atol=1e-6
    )
    # Other detectors are not blinded: detector 1 at 30, 60, 130 ns loses only 60 ns.
    other = Clicks(index, np.array([0, 1, 1, 3, 1], np.uint8), clicks.time_offset_ps, clicks.origin)
    assert len(apply_dead_time(other, REP_RATE_HZ, 50.0)) == 4


def test_dead_time_saturates_a_bright_detector() -> None:
    rate_hz, dead_ns = 1e7, 50.0
    n_pulses = int(REP_RATE_HZ * 2e-3)
    clicks = background_clicks(
        0, n_pulses, REP_RATE_HZ, [rate_hz, 0, 0, 0], np.random.default_rng(8)
    )
    kept = apply_dead_time(clicks, REP_RATE_HZ, dead_ns)
    expected = rate_hz / (1 + rate_hz * dead_ns * 1e-9) * 2e-3
    assert abs(len(kept) - expected) < 5 * np.sqrt(expected)
    t_ps = kept.pulse_index * PERIOD_PS + kept.time_offset_ps
    assert np.min(np.diff(np.sort(t_ps))) >= dead_ns * 1e3


def test_afterpulses_follow_clicks() -> None:
    receiver = quiet_receiver(
        dark_count_rate_hz=1e4,
        dead_time_ns=50.0,
        afterpulse_probability=0.05,
        afterpulse_time_constant_ns=200.0,
    )
    index, photons, state = candidates(10, 0, 0)
    clicks = receiver.clicks(
        index,
        photons,
        state,
        per_basis_matrix(),
        np.random.default_rng(2),
        rep_rate_hz=REP_RATE_HZ,
        pulse_range=(0, int(REP_RATE_HZ * 10)),
    )
    n_after = np.sum(clicks.origin == ORIGIN_AFTERPULSE)
    n_primary = np.sum(clicks.origin != ORIGIN_AFTERPULSE)
    expected = n_primary * 0.05 * np.exp(-50 / 200)
    assert abs(n_after - expected) < 5 * np.sqrt(expected)


def test_jitter_and_gate() -> None:
    receiver = quiet_receiver(jitter_fwhm_ps=350.0)
    events, _ = run_detect(receiver, 100_000, 1, 0, per_basis_matrix())
    assert np.std(events.time_offset_ps) == pytest.approx(jitter_sigma_ps(350.0), rel=0.02)
    gated, _ = run_detect(receiver, 100_000, 1, 0, per_basis_matrix(), gate_width_ps=200.0)
    # ±100 ps of a 148.6 ps sigma Gaussian: erf(100 / (148.6·√2)) = 0.499.
    assert len(gated) / 100_000 == pytest.approx(0.499, abs=0.006)


def test_reproducible_with_seed() -> None:
    receiver = quiet_receiver(efficiency=0.6, dark_count_rate_hz=100.0, jitter_fwhm_ps=350.0)
    a, _ = run_detect(receiver, 10_000, 2, 1, per_basis_matrix(0.02), seed=11)
    b, _ = run_detect(receiver, 10_000, 2, 1, per_basis_matrix(0.02), seed=11)
    c, _ = run_detect(receiver, 10_000, 2, 1, per_basis_matrix(0.02), seed=12)
    np.testing.assert_array_equal(a.detector, b.detector)
    np.testing.assert_array_equal(a.time_offset_ps, b.time_offset_ps)
    assert not np.array_equal(a.time_offset_ps[:100], c.time_offset_ps[:100])


def test_matrix_per_time_step_and_validation() -> None:
    receiver = quiet_receiver()
    index, photons, state = candidates(20_000, 1, 0)
    matrices = np.stack([per_basis_matrix(0.0), per_basis_matrix(0.5)])
    which = (np.arange(20_000) >= 10_000).astype(np.int64)
    events, truth = receiver.detect(
        index,
        photons,
        state,
        matrices,
        np.random.default_rng(0),
        rep_rate_hz=REP_RATE_HZ,
        pulse_range=(0, 20_000_000),
        prepared_state_of=lambda k: np.zeros(k.shape, np.uint8),
        matrix_index=which,
    )
    first = (events.pulse_index < 10_000_000) & truth.basis_match
    second = (events.pulse_index >= 10_000_000) & truth.basis_match
    assert np.mean(truth.bit_error[first]) == 0.0
    assert np.mean(truth.bit_error[second]) == pytest.approx(0.5, abs=0.03)
    with pytest.raises(InputError):
        receiver.detector_probabilities(per_basis_matrix() * 0.75)
    with pytest.raises(InputError):
        Receiver(efficiency=1.5, dark_count_rate_hz=0, dead_time_ns=0, jitter_fwhm_ps=0)
