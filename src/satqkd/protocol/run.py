"""``satqkd pass``: simulate a pass and run the live two-party distillation over it.

:func:`run_pass` chains the photon-level simulation (:mod:`satqkd.simulate`) and the
two actors (:mod:`satqkd.protocol`): the simulator's ground record goes to the
:class:`~satqkd.protocol.ground.GroundStation`, the satellite's seed to the
:class:`~satqkd.protocol.satellite.Satellite`; both get their own copy of the pre-shared
authentication key; the link between them follows the classical beam's budget over the
pass. The simulator's ground truth is used only for the report (true QBER), never by
either actor.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from satqkd.config.models import Mission, Station
from satqkd.link.classical import downlink_frame_loss_probability, uplink_frame_loss_probability
from satqkd.protocol.link import LinkProfile
from satqkd.protocol.parties import RETRANSMIT_S, GroundSetup, SatelliteSetup
from satqkd.protocol.session import ProgressFn, SessionOutcome, run_session
from satqkd.simulate.engine import ProgressFn as SimProgressFn
from satqkd.simulate.geometry import PassGeometry
from satqkd.simulate.pass_simulation import PassSimulation, simulate_pass

LINGER_S = 120.0
"""How long the classical link stays up after the QKD window to finish post-processing."""


@dataclass
class LinkFaults:
    """Extra impairments of the classical link for robustness studies and tests."""

    extra_loss: float = 0.0
    corrupt_probability: float = 0.0
    duplicate_probability: float = 0.0
    reorder_s: float = 0.0
    outages: tuple[tuple[float, float], ...] = ()
    tamper_uplink: Any = None
    tamper_downlink: Any = None

    def direction(self, tamper: Any) -> dict[str, Any]:
        return {"corrupt_probability": self.corrupt_probability,
                "duplicate_probability": self.duplicate_probability,
                "reorder_s": self.reorder_s, "outages": self.outages, "tamper": tamper}


@dataclass
class PassRun:
    """A simulated pass and the protocol run over it."""

    simulation: PassSimulation
    outcome: SessionOutcome
    protocol_wall_time_s: float
    """Wall time of the two actors' run (the simulation's own is in its summary)."""
    auth_key_bits_used: int
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The JSON report of ``satqkd pass --json``."""
        sim = self.simulation.summary()
        out = self.outcome
        g = out.ground.state
        packets = [{"t_s": round(p.t_s, 3), "qber": round(p.qber, 6), "decoded": p.decoded}
                   for p in g.packets]
        blocks = []
        eps_total = 0.0
        for b in g.blocks.values():
            sat_key = out.satellite_keys.get(b.block_id)
            gnd_key = out.ground_keys.get(b.block_id)
            latency = None
            if sat_key is not None and gnd_key is not None:
                both = max(sat_key.committed_s or 0.0, gnd_key.committed_s or 0.0)
                latency = round(both - b.t_last_detection_s, 4)
                eps_total += float(b.report.get("epsilon", {}).get("total", 0.0))
            blocks.append({"block_id": b.block_id, "t_s": round(b.t_last_detection_s, 3),
                           "bits": b.final_bits if latency is not None else 0,
                           "latency_s": latency, "state": b.state,
                           "packets": list(b.packet_ids)})
        decoded = [p for p in g.packets if p.decoded]
        qbers = [p.qber for p in decoded]
        return {
            "mission": sim["mission"],
            "station": sim["station"],
            "pass": sim["pass"],
            "start": sim["start"],
            "max_elevation_deg": sim["max_elevation_deg"],
            "duration_s": sim["duration_s"],
            "pulses_sent": sim["pulses_sent"],
            "detections": sim["detections"],
            "sifted_bits": int(out.satellite.state.sifted_bits),
            "sample_qber": (out.satellite.state.sample_errors
                            / max(out.satellite.state.sample_size, 1)),
            "packets": packets,
            "qber_mean": float(np.mean(qbers)) if qbers else None,
            "qber_min": float(np.min(qbers)) if qbers else None,
            "qber_max": float(np.max(qbers)) if qbers else None,
            "blocks": blocks,
            "final_key_bits": out.final_key_bits,
            "keys_match": out.keys_match,
            "mismatched_blocks": out.mismatched_blocks,
            "one_sided_blocks": out.one_sided_blocks,
            "epsilon_total": eps_total,
            "frames_lost": out.frames_lost(),
            "frames_sent": out.uplink.stats.frames + out.downlink.stats.frames,
            "auth_key_bits_used": self.auth_key_bits_used,
            "true_qber": sim["true_qber"],
            "simulation_wall_time_s": sim["wall_time_s"],
            "protocol_wall_time_s": round(self.protocol_wall_time_s, 3),
            # Each actor's own computation (sifting, estimation, LDPC, PA, authentication,
            # framing), without the event-driven link simulation around them.
            "satellite_processing_s": round(out.satellite.processing_s, 3),
            "ground_processing_s": round(out.ground.processing_s, 3),
            "wall_time_s": round(sim["wall_time_s"] + self.protocol_wall_time_s, 3),
            "notes": out.notes,
        }


def pass_setups(
    mission: Mission, simulation: PassSimulation, seed: int,
    retransmit_s: float = RETRANSMIT_S,
) -> tuple[SatelliteSetup, GroundSetup]:
    """Each party's starting data for a simulated pass: the satellite's seed, the ground's
    record (never the simulator's truth), and the same pre-shared key for both."""
    sat_rec = simulation.result.satellite
    frame_bytes = mission.satellite.payload.classical.frame_bytes
    probabilities = tuple(float(p) for p in sat_rec.probabilities)
    satellite = SatelliteSetup(int(sat_rec.seed), probabilities,  # type: ignore[arg-type]
                               mission.protocol, auth_seed=seed, rng_seed=seed + 2,
                               frame_bytes=frame_bytes, retransmit_s=retransmit_s)
    ground = GroundSetup(simulation.result.ground,
                         tuple(float(x) for x in sat_rec.intensities),  # type: ignore[arg-type]
                         probabilities, mission.protocol,  # type: ignore[arg-type]
                         auth_seed=seed, rng_seed=seed + 1, frame_bytes=frame_bytes,
                         retransmit_s=retransmit_s)
    return satellite, ground


def pass_link_profiles(
    mission: Mission, station: Station, geometry: PassGeometry, faults: LinkFaults | None = None,
) -> tuple[LinkProfile, LinkProfile]:
    """(uplink, downlink) over the pass: light time, link rate, the classical beam's frame
    loss (:mod:`satqkd.link.classical`) and the configured faults (not the tamper hooks)."""
    faults = faults or LinkFaults()
    payload = mission.satellite.payload
    t_grid = np.asarray(geometry.t_s, dtype=np.float64)
    frame_bits = 8 * payload.classical.frame_bytes
    rx_div = payload.classical.downlink_divergence_urad or payload.divergence_urad
    down_p = downlink_frame_loss_probability(
        geometry.range_km, geometry.elevation_deg, divergence_urad=rx_div,
        tx_aperture_m=payload.tx_aperture_m, rx_aperture_m=station.aperture_m,
        frame_bits=frame_bits, zenith_transmittance=station.zenith_transmittance,
        haze_extinction_db=station.haze_extinction_db,
    )
    up_p = uplink_frame_loss_probability(
        geometry.range_km, geometry.elevation_deg, power_mw=payload.classical.uplink_power_mw,
        wavelength_nm=payload.classical.uplink_wavelength_nm,
        divergence_urad=payload.classical.uplink_divergence_urad,
        rx_aperture_m=payload.tx_aperture_m, frame_bits=frame_bits,
        zenith_transmittance=station.zenith_transmittance,
        haze_extinction_db=station.haze_extinction_db,
    )
    range_km = np.asarray(geometry.range_km, dtype=np.float64)
    rate = payload.classical.data_rate_bps

    def profile(loss: Any) -> LinkProfile:
        return LinkProfile(t_grid, range_km, np.asarray(loss, dtype=np.float64)
                           * np.ones_like(t_grid), rate_bps=rate, extra_loss=faults.extra_loss,
                           corrupt_probability=faults.corrupt_probability,
                           duplicate_probability=faults.duplicate_probability,
                           reorder_s=faults.reorder_s, outages=faults.outages)

    return profile(up_p), profile(down_p)


def run_pass(
    mission: Mission,
    station: Station,
    *,
    start: dt.datetime | None = None,
    max_elevation_deg: float | None = None,
    duration_s: float | None = None,
    seed: int = 1,
    faults: LinkFaults | None = None,
    simulation: PassSimulation | None = None,
    sim_progress: SimProgressFn | None = None,
    progress: ProgressFn | None = None,
) -> PassRun:
    """Simulate a pass (or reuse ``simulation``) and distill its keys with both actors."""
    faults = faults or LinkFaults()
    sim = simulation or simulate_pass(
        mission, station, start=start, max_elevation_deg=max_elevation_deg,
        duration_s=duration_s, seed=seed, progress=sim_progress,
    )
    wall0 = time.perf_counter()
    sat_setup, ground_setup = pass_setups(mission, sim, seed)
    satellite, ground = sat_setup.build(), ground_setup.build()
    # The session charges each actor's measured processing time to the simulated clock, so
    # loading (or, after an edit, compiling) the numba kernels must happen before it starts:
    # charged, it delayed the last blocks past the link's linger (one-sided blocks).
    from satqkd.protocol.process import warm_up

    warm_up(satellite, mission.protocol)
    up_profile, down_profile = pass_link_profiles(mission, station, sim.geometry, faults)
    uplink = up_profile.direction(faults.tamper_uplink)
    downlink = down_profile.direction(faults.tamper_downlink)
    outcome = run_session(satellite, ground, uplink, downlink,
                          rng=np.random.default_rng([seed, 0x11E]),
                          max_time_s=sim.geometry.duration_s + LINGER_S, progress=progress)
    used = (satellite.endpoint.auth.outgoing.key_bits_used()  # type: ignore[attr-defined]
            + ground.endpoint.auth.outgoing.key_bits_used())  # type: ignore[attr-defined]
    return PassRun(sim, outcome, time.perf_counter() - wall0, used)
