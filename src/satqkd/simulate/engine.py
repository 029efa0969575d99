"""Event-level simulation of the QKD part of one pass, with exact photon statistics.

A Jinan-1 pass sends ~1.9e11 pulses at 625 MHz, of which ~1e7 give a click. The engine
never touches the others: per segment of the pass (default 1 s) it draws the pulses that
carry at least one photon to the receiver as a Bernoulli process with the segment's largest
probability ``p_max = 1 − exp(−μ_max·η_max)`` (geometric gaps between indices, which is
exact), looks up the satellite's random choices of only those pulses, and keeps each with
probability ``(1 − exp(−μ_k·η(t_k))) / p_max`` (thinning). The survivors get a
zero-truncated Poisson photon number, are routed through the polarisation analyser and
detected by the four detectors with their efficiencies, jitter and dead time, together with
dark and background clicks drawn as a Poisson process in time. Every click is then
time-tagged with the changing time of flight and the satellite clock's offset and drift, and
the ground recovers the pulse index of each from the sync words, exactly as the station
does; the gate keeps the clicks near a slot centre. The result is what each party really
holds after the pass, plus, separately, the simulator's ground truth.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from satqkd.config.models import Mission, Station
from satqkd.photonics.clicks import ORIGIN_SIGNAL, Clicks, assign_events
from satqkd.photonics.detector import Receiver
from satqkd.photonics.source import DecoySource, sample_photon_numbers_given_nonzero
from satqkd.photonics.timing import make_sync_tags, make_time_tags, recover_pulse_index
from satqkd.simulate.channel import ChannelModel
from satqkd.simulate.geometry import PassGeometry
from satqkd.simulate.records import GroundRecord, PassTruth, SatelliteRecord

ProgressFn = Callable[[float, float, int], None]
"""Called after each segment with (time in window s, window length s, detections so far)."""


@dataclass(frozen=True)
class SimulationResult:
    """The two parties' records after a pass, the truth, and the per-second timeline."""

    satellite: SatelliteRecord
    ground: GroundRecord
    truth: PassTruth
    channel: ChannelModel
    wall_time_s: float


def _candidate_offsets(n_pulses: int, p: float, rng: np.random.Generator) -> NDArray[np.int64]:
    """Indices (0..n_pulses-1) of a Bernoulli(p) process, drawn by geometric gaps (exact)."""
    if p <= 0.0 or n_pulses <= 0:
        return np.empty(0, dtype=np.int64)
    expected = n_pulses * p
    out = []
    last = -1
    while True:
        gaps = rng.geometric(p, size=int(expected + 6.0 * np.sqrt(expected) + 16))
        pos = last + np.cumsum(gaps, dtype=np.int64)
        inside = pos[pos < n_pulses]
        out.append(inside)
        if inside.size < pos.size:
            break
        last = int(pos[-1])
    return np.concatenate(out)


def make_receiver(station: Station) -> Receiver:
    """The four-detector receiver of a station's config."""
    det = station.detectors
    return Receiver(
        efficiency=np.array(det.efficiencies),
        dark_count_rate_hz=det.dark_count_hz,
        dead_time_ns=det.dead_time_ns,
        jitter_fwhm_ps=det.jitter_ps,
        afterpulse_probability=det.afterpulse_probability,
        basis_split_z=station.basis_split_ratio,
    )


def make_source(mission: Mission, seed: int) -> DecoySource:
    """The satellite's decoy source keyed by ``seed`` (its random-number 'cache')."""
    p = mission.satellite.payload
    return DecoySource(
        (p.intensities.signal, p.intensities.decoy, p.intensities.vacuum),
        (p.probabilities.signal, p.probabilities.decoy, p.probabilities.vacuum),
        seed,
        extinction_ratio_db=p.extinction_ratio_db,
        intensity_fluctuation_rel=p.intensity_fluctuation,
    )


def simulate_window(
    mission: Mission,
    station: Station,
    geometry: PassGeometry,
    *,
    seed: int,
    segment_s: float = 1.0,
    progress: ProgressFn | None = None,
) -> SimulationResult:
    """Simulate the QKD window described by ``geometry`` pulse by pulse.

    ``seed`` keys both the satellite's random numbers and the simulator's own randomness
    (independent streams), so a run is reproducible.
    """
    wall0 = time.perf_counter()
    payload = mission.satellite.payload
    rep_rate_hz = payload.rep_rate_hz
    rng = np.random.default_rng([seed, 0x5A7])
    source = make_source(mission, seed)
    receiver = make_receiver(station)
    channel = ChannelModel.build(mission, station, geometry, seed=seed)
    n_pulses = round(geometry.duration_s * rep_rate_hz)
    n_segments = max(1, int(np.ceil(geometry.duration_s / segment_s)))
    bounds = np.linspace(0, n_pulses, n_segments + 1).astype(np.int64)
    mu_max = float(source.mean_photon_numbers.max()) * (
        1.0 + 6.0 * source.intensity_fluctuation_rel
    )
    all_clicks: list[Clicks] = []
    cand_index: list[NDArray[np.uint64]] = []
    cand_photons: list[NDArray[np.int64]] = []
    n_clicks = 0
    for k0, k1 in itertools.pairwise(bounds):
        t0_s, t1_s = k0 / rep_rate_hz, k1 / rep_rate_hz
        eta_max = channel.max_transmittance(t0_s, t1_s)
        p_max = -np.expm1(-mu_max * eta_max)
        offsets = _candidate_offsets(int(k1 - k0), p_max, rng)
        idx = (offsets + k0).astype(np.uint64)
        cls, basis, bit = source.lookup(idx)
        mean = source.mean_photon_number(idx, cls) * channel.transmittance(
            idx.astype(np.float64) / rep_rate_hz
        )
        keep = rng.random(idx.size) * p_max < -np.expm1(-mean)
        idx, basis, bit, mean = idx[keep], basis[keep], bit[keep], mean[keep]
        photons = sample_photon_numbers_given_nonzero(mean, rng)
        state = (2 * basis + bit).astype(np.uint8)
        t_mid = 0.5 * (t0_s + t1_s)
        clicks = receiver.clicks(
            idx, photons, state, channel.routing_matrix(t_mid), rng,
            rep_rate_hz=rep_rate_hz, pulse_range=(int(k0), int(k1)),
            background_rate_hz=channel.background_rate_hz(t0_s, t1_s),
        )
        all_clicks.append(clicks)
        cand_index.append(idx)
        cand_photons.append(photons)
        n_clicks += len(clicks)
        if progress is not None:
            progress(t1_s, geometry.duration_s, n_clicks)
    clicks = Clicks(*(np.concatenate([getattr(c, f) for c in all_clicks])
                      for f in ("pulse_index", "detector", "time_offset_ps", "origin")))
    candidates = np.concatenate(cand_index)
    photons = np.concatenate(cand_photons)
    # The per-segment pieces would otherwise stay alive to the end (~0.3 GB in a pass).
    del all_clicks, cand_index, cand_photons

    # Time tags on the ground clock, sync words on the classical downlink, and recovery.
    clock = channel.clocks
    range_fn = (geometry.t_s, geometry.range_km)
    tags_ps = make_time_tags(
        clicks.pulse_index, rep_rate_hz, range_fn, time_offset_ps=clicks.time_offset_ps,
        jitter_fwhm_ps=payload.timing_jitter_ps, rng=rng,
        satellite_clock_offset_s=clock.satellite_offset_s,
        satellite_clock_drift_ppm=clock.satellite_drift_ppm,
        ground_clock_offset_s=clock.ground_offset_s,
    )
    sync_index, sync_tags_ps = make_sync_tags(
        0, n_pulses, rep_rate_hz, range_fn,
        sync_rate_hz=payload.classical.sync_rate_hz,
        sync_jitter_fwhm_ps=payload.classical.sync_precision_ps,
        satellite_clock_offset_s=clock.satellite_offset_s,
        satellite_clock_drift_ppm=clock.satellite_drift_ppm,
        ground_clock_offset_s=clock.ground_offset_s, rng=rng,
    )
    order = np.argsort(tags_ps, kind="stable")
    clicks = Clicks(clicks.pulse_index[order], clicks.detector[order],
                    clicks.time_offset_ps[order], clicks.origin[order])
    tags_ps = tags_ps[order]
    rec_index, in_gate, phase_ps = recover_pulse_index(
        tags_ps, sync_tags_ps, sync_index, rep_rate_hz, station.time_gate_ps
    )
    gated = Clicks(rec_index[in_gate], clicks.detector[in_gate], phase_ps[in_gate],
                   clicks.origin[in_gate])
    true_index = clicks.pulse_index[in_gate]
    # Time order maps monotonically onto recovered indices, so the clicks are already grouped
    # by pulse; sort (stably, keeping time order inside a pulse) only if that ever fails.
    if np.any(gated.pulse_index[1:] < gated.pulse_index[:-1]):
        by_pulse = np.argsort(gated.pulse_index, kind="stable")
        gated = Clicks(gated.pulse_index[by_pulse], gated.detector[by_pulse],
                       gated.time_offset_ps[by_pulse], gated.origin[by_pulse])
        true_index = true_index[by_pulse]
    events = assign_events(gated.pulse_index, gated.detector, gated.time_offset_ps, rng)
    # Ground truth per event: photons of the (true) pulse, prepared state, error, origin.
    click_event = np.searchsorted(events.pulse_index, gated.pulse_index)
    mis_click = true_index != gated.pulse_index
    mis_event = np.zeros(len(events), dtype=bool)
    mis_event[click_event[mis_click]] = True
    signal_event = np.zeros(len(events), dtype=bool)
    signal_event[click_event[gated.origin == ORIGIN_SIGNAL]] = True
    pos = np.minimum(np.searchsorted(candidates, events.pulse_index), max(candidates.size - 1, 0))
    ev_photons = np.zeros(len(events), dtype=np.int64)
    if candidates.size:
        hit = candidates[pos] == events.pulse_index
        ev_photons[hit] = photons[pos[hit]]
    ev_class, ev_basis, ev_bit = source.lookup(events.pulse_index)
    prepared = (2 * ev_basis + ev_bit).astype(np.uint8)

    t_event_s = events.pulse_index.astype(np.float64) / rep_rate_hz
    ground = GroundRecord(
        station=station.name, rep_rate_hz=rep_rate_hz, pulse_index=events.pulse_index,
        basis=events.basis, bit=events.bit, double_click=events.double_click,
        cross_basis=events.cross_basis, detection_time_s=t_event_s,
        raw_clicks=len(clicks), gated_clicks=int(in_gate.sum()),
    )
    satellite = SatelliteRecord(
        satellite=mission.satellite.name, seed=seed, rep_rate_hz=rep_rate_hz,
        pulses_sent=n_pulses,
        intensities=tuple(float(m) for m in source.mean_photon_numbers),
        probabilities=source.probabilities,
        start_unix_s=geometry.start_unix_s,
    )
    truth = PassTruth(
        photon_number=ev_photons, prepared_state=prepared,
        basis_match=ev_basis == events.basis, bit_error=ev_bit != events.bit,
        signal_click=signal_event, mis_indexed=mis_event, intensity_class=ev_class,
        clicks_mis_indexed=int(mis_click.sum()),
        background_clicks_in_gate=int((gated.origin != 0).sum()),
    )
    return SimulationResult(satellite, ground, truth, channel, time.perf_counter() - wall0)
