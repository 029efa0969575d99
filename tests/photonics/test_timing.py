"""Tests of time tags, sync words and pulse-index recovery over a Jinan-1-like pass."""

from __future__ import annotations

import numpy as np
import pytest

from satqkd.photonics.detector import Receiver, jitter_sigma_ps
from satqkd.photonics.timing import (
    SPEED_OF_LIGHT_KM_S,
    arrival_time_s,
    combine_fwhm_ps,
    emission_time_s,
    gate_acceptance,
    make_sync_tags,
    make_time_tags,
    recover_pulse_index,
)

# Jinan-1: 625 MHz (1.6 ns period), 800 ps gate, 300 s of data (SPEC §3, §2, §10).
REP_RATE_HZ = 625e6
PERIOD_PS = 1600.0
GATE_PS = 800.0
PASS_S = 300.0
N_PULSES = int(REP_RATE_HZ * PASS_S)
CLOCKS = dict(
    satellite_clock_offset_s=2.7e-6,
    satellite_clock_drift_ppm=1.5,
    ground_clock_offset_s=-1.3e-3,
    ground_clock_drift_ppm=-0.4,
)


# Ideal per-basis routing of H, V, D, A (rows: prepared state; Z-arm and X-arm columns).
IDEAL_ROUTING = np.array(
    [[1.0, 0.0, 0.5, 0.5], [0.0, 1.0, 0.5, 0.5], [0.5, 0.5, 1.0, 0.0], [0.5, 0.5, 0.0, 1.0]]
)


def pass_range_km(t_s: np.ndarray) -> np.ndarray:
    """Straight-line fly-by: 500 km at culmination (t = 150 s), ~1220 km at the ends,
    range rate up to ±6.9 km/s and acceleration up to 112 m/s² (at culmination)."""
    return np.sqrt(500.0**2 + (7.5 * (np.asarray(t_s) - 150.0)) ** 2)


@pytest.fixture(scope="module")
def sync_words() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(95)
    return make_sync_tags(
        0, N_PULSES, REP_RATE_HZ, pass_range_km, sync_jitter_fwhm_ps=100.0, rng=rng, **CLOCKS
    )


def detections(
    n: int, seed: int, receiver: Receiver, extra_jitter_fwhm_ps: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signal clicks at random pulses of the pass, with the receiver's jitter, and their tags."""
    rng = np.random.default_rng(seed)
    index = np.unique(rng.integers(0, N_PULSES, n).astype(np.uint64))
    clicks = receiver.clicks(
        index,
        np.ones(index.size, np.int64),
        np.zeros(index.size, np.uint8),
        IDEAL_ROUTING,
        rng,
        rep_rate_hz=REP_RATE_HZ,
        pulse_range=(0, N_PULSES),
    )
    tags = make_time_tags(
        clicks.pulse_index,
        REP_RATE_HZ,
        pass_range_km,
        time_offset_ps=clicks.time_offset_ps,
        jitter_fwhm_ps=extra_jitter_fwhm_ps,
        rng=rng,
        **CLOCKS,
    )
    return clicks.pulse_index, clicks.time_offset_ps, tags


def test_sync_words_every_65789_pulses(sync_words) -> None:
    index, tags = sync_words
    assert np.all(np.diff(index) == round(625e6 / 9.5e3))
    assert index.size == pytest.approx(PASS_S * 9.5e3, rel=1e-3)
    assert tags.dtype == np.int64 and np.all(np.diff(tags) > 0)


def test_light_time_solves_the_range_equation() -> None:
    t_emit = np.linspace(0, PASS_S, 1001)
    t_arr = arrival_time_s(t_emit, pass_range_km)
    residual_s = t_arr - t_emit - pass_range_km(t_arr) / SPEED_OF_LIGHT_KM_S
    one_tenth_ps = 1e-13  # float64 resolution of a time of 300 s is 0.057 ps
    assert np.max(np.abs(residual_s)) < one_tenth_ps
    # Range samples every second (cubic spline) agree with the function to under 1 ps.
    t_grid = np.arange(-1.0, PASS_S + 2.0)
    sampled = arrival_time_s(t_emit, (t_grid, pass_range_km(t_grid)))
    assert np.max(np.abs(sampled - t_arr)) < 10 * one_tenth_ps


def test_clock_drift_and_offset() -> None:
    index = np.array([0, N_PULSES // 2], dtype=np.uint64)
    t = emission_time_s(index, REP_RATE_HZ, clock_offset_s=1e-6, clock_drift_ppm=2.0)
    np.testing.assert_allclose(t, (index / REP_RATE_HZ - 1e-6) / (1 + 2e-6), rtol=0, atol=1e-15)
    plain = make_time_tags(index, REP_RATE_HZ, pass_range_km)
    drifted = make_time_tags(index, REP_RATE_HZ, pass_range_km, ground_clock_drift_ppm=1.0)
    assert drifted[1] - plain[1] == pytest.approx(1e-6 * 150.0 * 1e12, rel=1e-3)


def test_mis_indexing_negligible_over_a_jinan1_pass(sync_words) -> None:
    receiver = Receiver(
        efficiency=1.0, dark_count_rate_hz=0.0, dead_time_ns=0.0, jitter_fwhm_ps=350.0
    )
    true_index, offset_ps, tags = detections(300_000, 1, receiver)
    index, in_gate, phase_ps = recover_pulse_index(tags, *sync_words[::-1], REP_RATE_HZ, GATE_PS)
    mis_indexed = index != true_index
    assert np.mean(mis_indexed) < 1e-4
    # The recovered phase is the detector jitter plus a small recovery error (sync jitter
    # averaged over 33 words: ~11 ps rms against 42 ps rms per word).
    error_ps = phase_ps[~mis_indexed] - offset_ps[~mis_indexed]
    assert np.std(error_ps) < 20.0
    assert abs(np.mean(error_ps)) < 2.0
    # Gate fraction against the analytic value for the configured jitters.
    expected = gate_acceptance(GATE_PS, combine_fwhm_ps(350.0, 2.3548 * np.std(error_ps)))
    assert np.mean(in_gate) == pytest.approx(expected, abs=0.002)


def test_recovery_needs_drift_tracking(sync_words) -> None:
    """With only the first and last sync word (no tracking of the Doppler drift, which is
    milliseconds over the pass), almost every detection lands in the wrong slot."""
    receiver = Receiver(
        efficiency=1.0, dark_count_rate_hz=0.0, dead_time_ns=0.0, jitter_fwhm_ps=350.0
    )
    true_index, _, tags = detections(10_000, 2, receiver)
    sync_index, sync_tags = sync_words
    ends = [0, -1]
    index, _, _ = recover_pulse_index(tags, sync_tags[ends], sync_index[ends], REP_RATE_HZ, GATE_PS)
    assert np.mean(index != true_index) > 0.5


def test_recovery_survives_lost_sync_words() -> None:
    rng = np.random.default_rng(7)
    stop = int(REP_RATE_HZ * 20.0)
    sync_index, sync_tags = make_sync_tags(
        0, stop, REP_RATE_HZ, pass_range_km, loss_probability=0.5, rng=rng, **CLOCKS
    )
    true_index = np.sort(rng.integers(0, stop, 50_000).astype(np.uint64))
    offset_ps = rng.normal(0.0, jitter_sigma_ps(350.0), true_index.size)
    tags = make_time_tags(
        true_index, REP_RATE_HZ, pass_range_km, time_offset_ps=offset_ps, **CLOCKS
    )
    # Unsorted input is accepted too.
    order = rng.permutation(true_index.size)
    index, _, phase_ps = recover_pulse_index(
        tags[order], sync_tags, sync_index, REP_RATE_HZ, GATE_PS
    )
    assert np.mean(index != true_index[order]) < 1e-4
    assert np.std(phase_ps - offset_ps[order]) < 25.0


def test_jinan1_gate_keeps_80_percent_with_a_diffusion_tail(sync_words) -> None:
    """SPEC §2: the 800 ps gate keeps ~80 % of signal photons. A 350 ps FWHM Gaussian alone
    would keep 99.3 %; a silicon-SPAD diffusion tail (here 30 % of clicks delayed by an
    exponential of mean 800 ps) brings it to 0.80. Measured against the analytic value."""
    tail = dict(jitter_tail_fraction=0.3, jitter_tail_ps=800.0)
    receiver = Receiver(
        efficiency=1.0, dark_count_rate_hz=0.0, dead_time_ns=0.0, jitter_fwhm_ps=350.0, **tail
    )
    true_index, _, tags = detections(200_000, 3, receiver)
    index, in_gate, _ = recover_pulse_index(tags, *sync_words[::-1], REP_RATE_HZ, GATE_PS)
    right = index == true_index
    fwhm = combine_fwhm_ps(350.0, 11.0 * 2.3548)
    expected = gate_acceptance(GATE_PS, fwhm, tail_fraction=0.3, tail_ps=800.0)
    assert expected == pytest.approx(0.80, abs=0.01)
    assert np.mean(in_gate & right) == pytest.approx(expected, abs=0.004)
    # Tail clicks that land in a later slot's gate are mis-indexed: analytic value too.
    leak = sum(
        gate_acceptance(
            GATE_PS, fwhm, tail_fraction=0.3, tail_ps=800.0, gate_centre_ps=k * PERIOD_PS
        )
        for k in range(1, 6)
    )
    assert np.mean(in_gate & ~right) == pytest.approx(leak, abs=0.003)


def test_jinan1_gate_keeps_80_percent_with_gaussian_spread(sync_words) -> None:
    """The other reading of the 80 %: a Gaussian total of 735 ps FWHM (350 ps detector plus
    ~646 ps of pulse width and other spread). Mis-indexed clicks inside the gate stay ~1e-4,
    consistent with the ~1 % QBER of the reference pass."""
    receiver = Receiver(
        efficiency=1.0, dark_count_rate_hz=0.0, dead_time_ns=0.0, jitter_fwhm_ps=350.0
    )
    true_index, _, tags = detections(200_000, 4, receiver, extra_jitter_fwhm_ps=646.0)
    index, in_gate, _ = recover_pulse_index(tags, *sync_words[::-1], REP_RATE_HZ, GATE_PS)
    right = index == true_index
    expected = gate_acceptance(GATE_PS, combine_fwhm_ps(350.0, 646.0, 11.0 * 2.3548))
    assert expected == pytest.approx(0.80, abs=0.01)
    assert np.mean(in_gate & right) == pytest.approx(expected, abs=0.004)
    assert np.mean(in_gate & ~right) < 5e-4


def test_gate_acceptance_limits() -> None:
    assert gate_acceptance(800.0, 350.0) == pytest.approx(0.99288, abs=1e-4)
    assert gate_acceptance(1e9, 350.0, tail_fraction=0.5, tail_ps=500.0) == pytest.approx(1.0)
    assert gate_acceptance(800.0, 0.0, tail_fraction=1.0, tail_ps=400.0) == pytest.approx(
        1 - np.exp(-1.0)
    )
    assert combine_fwhm_ps(300.0, 400.0) == pytest.approx(500.0)
