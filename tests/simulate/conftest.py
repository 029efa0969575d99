"""Shared fixtures of the pass-simulation tests: missions, the reference pass, short runs.

The photon-level runs are session-scoped and short (a few to 20 s of a pass) so that the
whole directory stays fast; the statistical tests use a 50 MHz variant of Jinan-1 (same
optics, same link, 12.5× fewer pulses) where the counts still give sub-percent statistics.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from satqkd.config import Mission, Station, load_mission, mission_from_dict, preset_path
from satqkd.photonics.source import effective_vacuum_intensity
from satqkd.photonics.timing import combine_fwhm_ps, gate_acceptance
from satqkd.simulate.engine import SimulationResult, simulate_window
from satqkd.simulate.geometry import PassGeometry, pass_geometry
from satqkd.simulate.pass_simulation import SelectedPass, select_pass

LOW_REP_RATE_HZ = 50e6


def jinan1_data() -> dict[str, Any]:
    """The Jinan-1 preset as plain data, to be modified and validated again."""
    return tomllib.loads(preset_path("jinan1").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def jinan1() -> Mission:
    return load_mission("jinan1")


@pytest.fixture(scope="session")
def jinan(jinan1: Mission) -> Station:
    return jinan1.station("jinan")


@pytest.fixture(scope="session")
def jinan1_low_rate() -> Mission:
    """Jinan-1 with the source at 50 MHz instead of 625 MHz (everything else unchanged)."""
    data = jinan1_data()
    data["satellite"]["payload"]["rep_rate_hz"] = LOW_REP_RATE_HZ
    return mission_from_dict(data, source="jinan1 at 50 MHz")


@pytest.fixture(scope="session")
def reference_pass(jinan1: Mission, jinan: Station) -> SelectedPass:
    """The Jinan-1 reference pass (Jinan, 25 Sep 2022, 34.1°, 300 s)."""
    return select_pass(jinan1, jinan)


def culmination_geometry(
    selected: SelectedPass, station: Station, duration_s: float
) -> PassGeometry:
    """``duration_s`` of the selected pass centred on the middle of its QKD window."""
    mid = 0.5 * (selected.window_start_unix_s + selected.window_end_unix_s)
    return pass_geometry(selected.orbit, station, mid - duration_s / 2, mid + duration_s / 2)


@pytest.fixture(scope="session")
def low_rate_run(
    jinan1_low_rate: Mission, jinan: Station, reference_pass: SelectedPass
) -> SimulationResult:
    """20 s around the culmination of the reference pass, 50 MHz source (~4e4 detections)."""
    geometry = culmination_geometry(reference_pass, jinan, 20.0)
    return simulate_window(jinan1_low_rate, jinan, geometry, seed=3)


@pytest.fixture(scope="session")
def full_rate_run(
    jinan1: Mission, jinan: Station, reference_pass: SelectedPass
) -> SimulationResult:
    """5 s around the culmination of the reference pass at Jinan-1's real 625 MHz."""
    geometry = culmination_geometry(reference_pass, jinan, 5.0)
    return simulate_window(jinan1, jinan, geometry, seed=11)


@dataclass(frozen=True)
class Expectation:
    """Analytic expected counts of a run, from the configuration and the channel model only.

    Arrays are indexed ``[intensity class (signal, decoy, vacuum), basis (Z, X)]``.
    """

    detections: NDArray[np.float64]
    signal_detections: NDArray[np.float64]
    background_detections: NDArray[np.float64]
    sifted_errors: NDArray[np.float64]
    single_photon_detections: NDArray[np.float64]
    gate_acceptance: float


def expected_counts(mission: Mission, station: Station, result: SimulationResult) -> Expectation:
    """What the engine should produce on average, derived independently of its sampling.

    A pulse of class k sent at t carries Poisson(μ_k·η(t)) photons to the receiver (η from
    :meth:`ChannelModel.transmittance`); the passive splitter sends a fraction s_b to basis
    arm b and each detector clicks with efficiency η_det, so a pulse gives a click in arm b
    with probability 1 − exp(−μ_k·η·s_b·η_det) (Poisson thinning; the two detectors of an
    arm share the photons, their probabilities add to one arm-level click up to the rare
    double clicks). The gate keeps a fraction ``gate_acceptance(gate, total jitter)`` of
    signal clicks: the detector jitter, the payload's further spread and the sync-word
    jitter left after the ground's 33-word quadratic smoothing (variance ≈ 9/(4·33) of one
    word's) add in quadrature. Background (dark + sky, per detector) arrives uniformly in
    time: an arm gets ``2·rate·gate_fraction`` gated clicks per second, spread over the
    intensity classes in proportion p_k. In the sifted key (prepared basis = measured basis,
    half of the events) a signal photon is an error with the channel's polarisation error
    e(t), a background click with probability 1/2.
    """
    payload = mission.satellite.payload
    channel = result.channel
    rep_rate_hz = payload.rep_rate_hz
    intensities = payload.intensities
    mu = np.array([
        intensities.signal,
        intensities.decoy,
        effective_vacuum_intensity(
            intensities.signal, intensities.vacuum, payload.extinction_ratio_db
        ),
    ])
    p_class = np.array([
        payload.probabilities.signal, payload.probabilities.decoy, payload.probabilities.vacuum
    ])
    split = np.array([station.basis_split_ratio, 1.0 - station.basis_split_ratio])
    eff = float(np.mean(station.detectors.efficiencies))
    sync_residual_fwhm_ps = payload.classical.sync_precision_ps * np.sqrt(9.0 / (4.0 * 33.0))
    acceptance = gate_acceptance(
        station.time_gate_ps,
        combine_fwhm_ps(station.detectors.jitter_ps, payload.timing_jitter_ps,
                        sync_residual_fwhm_ps),
    )
    duration_s = result.satellite.pulses_sent / rep_rate_hz
    t_s = np.linspace(0.0, duration_s, 100_001)
    eta = channel.transmittance(t_s)[None, None, :]
    error = np.interp(t_s, channel.t_s, channel.error_z)[None, None, :]
    sky_hz = np.interp(t_s, channel.t_s, channel.sky_hz_per_detector)
    arm_background_hz = 2.0 * (sky_hz + channel.dark_hz_per_detector) * channel.gate_fraction
    m = mu[:, None, None] * eta * split[None, :, None] * eff
    per_pulse = rep_rate_hz * p_class[:, None] * acceptance

    def integral(y: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(np.trapezoid(y, t_s, axis=-1))

    signal = per_pulse * integral(-np.expm1(-m))
    background = p_class[:, None] * float(np.trapezoid(arm_background_hz, t_s)) * np.ones(2)
    errors = 0.5 * (per_pulse * integral(-np.expm1(-m * error)) + 0.5 * background)
    # One photon at the receiver (P = m_rx e^−m_rx), detected in arm b and inside the gate.
    m_rx = mu[:, None, None] * eta
    single = per_pulse * integral(m_rx * np.exp(-m_rx)) * split[None, :] * eff
    return Expectation(signal + background, signal, background, errors, single, acceptance)


@pytest.fixture(scope="session")
def low_rate_expectation(
    jinan1_low_rate: Mission, jinan: Station, low_rate_run: SimulationResult
) -> Expectation:
    return expected_counts(jinan1_low_rate, jinan, low_rate_run)


@pytest.fixture(scope="session")
def full_rate_expectation(
    jinan1: Mission, jinan: Station, full_rate_run: SimulationResult
) -> Expectation:
    return expected_counts(jinan1, jinan, full_rate_run)


@pytest.fixture(scope="session")
def window_around_culmination() -> Any:
    """The function :func:`culmination_geometry` (test modules do not import conftest)."""
    return culmination_geometry
