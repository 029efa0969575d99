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
from satqkd.distill.estimation import DecoySource as EstimationSource
from satqkd.link.classical import downlink_frame_loss_probability, uplink_frame_loss_probability
from satqkd.photonics.source import SourceRandomness
from satqkd.photonics.timing import SPEED_OF_LIGHT_KM_S
from satqkd.protocol.auth import make_authenticators
from satqkd.protocol.ground import GroundStation
from satqkd.protocol.satellite import Satellite
from satqkd.protocol.session import ProgressFn, SessionOutcome, link_directions, run_session
from satqkd.simulate.engine import ProgressFn as SimProgressFn
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
    wall_time_s: float
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
            "wall_time_s": round(self.wall_time_s, 3),
            "notes": out.notes,
        }


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
    wall0 = time.perf_counter()
    faults = faults or LinkFaults()
    sim = simulation or simulate_pass(
        mission, station, start=start, max_elevation_deg=max_elevation_deg,
        duration_s=duration_s, seed=seed, progress=sim_progress,
    )
    payload = mission.satellite.payload
    proto = mission.protocol
    geo = sim.geometry
    sat_auth, ground_auth, used = make_authenticators(proto, seed)
    randomness = SourceRandomness(sim.result.satellite.seed, sim.result.satellite.probabilities)
    satellite = Satellite(randomness, proto, sat_auth,
                          frame_bytes=payload.classical.frame_bytes, seed=seed + 2)
    source = EstimationSource(*sim.result.satellite.intensities,
                              *sim.result.satellite.probabilities)
    ground = GroundStation(sim.result.ground, source, proto, ground_auth, seed=seed + 1,
                           frame_bytes=payload.classical.frame_bytes)

    t_grid = geo.t_s
    frame_bits = 8 * payload.classical.frame_bytes
    rx_div = payload.classical.downlink_divergence_urad or payload.divergence_urad
    down_p = downlink_frame_loss_probability(
        geo.range_km, geo.elevation_deg, divergence_urad=rx_div,
        tx_aperture_m=payload.tx_aperture_m, rx_aperture_m=station.aperture_m,
        frame_bits=frame_bits, zenith_transmittance=station.zenith_transmittance,
        haze_extinction_db=station.haze_extinction_db,
    )
    up_p = uplink_frame_loss_probability(
        geo.range_km, geo.elevation_deg, power_mw=payload.classical.uplink_power_mw,
        wavelength_nm=payload.classical.uplink_wavelength_nm,
        divergence_urad=payload.classical.uplink_divergence_urad,
        rx_aperture_m=payload.tx_aperture_m, frame_bits=frame_bits,
        zenith_transmittance=station.zenith_transmittance,
        haze_extinction_db=station.haze_extinction_db,
    )

    def latency(t: float) -> float:
        return float(np.interp(t, t_grid, geo.range_km)) / SPEED_OF_LIGHT_KM_S

    def loss_fn(grid: np.ndarray) -> Any:
        return lambda t: min(1.0, float(np.interp(t, t_grid, grid)) + faults.extra_loss)

    uplink, downlink = link_directions(
        mission, latency, loss_fn(np.asarray(down_p) * np.ones_like(t_grid)),
        loss_fn(np.asarray(up_p) * np.ones_like(t_grid)),
        uplink=faults.direction(faults.tamper_uplink),
        downlink=faults.direction(faults.tamper_downlink),
    )
    outcome = run_session(satellite, ground, uplink, downlink,
                          rng=np.random.default_rng([seed, 0x11E]),
                          max_time_s=geo.duration_s + LINGER_S, progress=progress)
    return PassRun(sim, outcome, time.perf_counter() - wall0, used())
