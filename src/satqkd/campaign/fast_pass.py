"""The ``fast`` fidelity: a pass's key from expected counts and the real finite-key analysis.

From :func:`~satqkd.campaign.expected_counts.expected_counts` the pass's sifted detections
and errors per intensity class and basis are integrated in time, and the post-processing of
SPEC §7 is followed step by step on those expectations, with the same settings and code as
the live protocol:

1. the ground samples ``sampling_fraction`` (10 %) of its detections for the QBER estimate,
   the rest of the sifted bits form the key stream;
2. the key stream is cut into packets of ``packet_bits`` (100 kbit); the satellite picks an
   LDPC code for its sampled QBER (the last ~20,000 sampled sifted bits, upper 2σ bound)
   and the leak is what that code of the shipped :class:`~satqkd.distill.ldpc.CodeFamily`
   discloses, plus the verification tag; with ``reconciliation = "blind"`` (``"guided"``)
   it is the measured mean blind (guided) efficiency at the packet's expected QBER instead
   (:func:`~satqkd.distill.ldpc.blind.expected_blind_leak_bits`, an empirical model);
3. packets are grouped into privacy-amplification blocks of ``pa_block_bits`` (the last
   block of a pass takes what is left), and each block's counts go through
   :func:`~satqkd.distill.estimation.estimate` and
   :func:`~satqkd.distill.estimation.final_key_length` with the mission's method and ε.

No random numbers are drawn: the packet QBERs are expectations, so their spread (min–max)
is narrower than a real pass's, and every packet is assumed to decode (the family's codes
are designed to decode ≥ 99 % of frames). Validated against the photon-level fidelity in
``tests/campaign/test_fidelity.py`` (agreement figures in the README).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from satqkd.campaign.expected_counts import ExpectedCounts, expected_counts
from satqkd.campaign.outcome import PassOutcome
from satqkd.config.models import Mission, Station
from satqkd.distill.estimation import DecoyCounts, estimate, final_key_length
from satqkd.distill.estimation import DecoySource as EstimationSource
from satqkd.distill.ldpc import CodeFamily, binary_entropy
from satqkd.distill.ldpc.blind import BLIND_MEAN_EFFICIENCY, expected_blind_leak_bits
from satqkd.distill.ldpc.family import DEFAULT_SAMPLE_BITS, DEFAULT_SIGMAS
from satqkd.distill.ldpc.guided import GUIDED_MEAN_EFFICIENCY
from satqkd.distill.security import EpsilonBudget
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.photonics.source import effective_vacuum_intensity
from satqkd.protocol.satellite import SAMPLE_WINDOW
from satqkd.simulate.channel import ChannelModel
from satqkd.simulate.geometry import pass_geometry

__all__ = ["FastPass", "ec_leak_bits", "fast_pass", "fast_pass_outcome"]

GEOMETRY_STEP_S = 1.0
"""Time step of the fast fidelity's geometry and counts (the engine uses 0.1 s)."""


def ec_leak_bits(
    family: CodeFamily, qber_estimate: float, frame_bits: int, *,
    sample_bits: int | None = DEFAULT_SAMPLE_BITS, confidence_sigmas: float = DEFAULT_SIGMAS,
) -> int:
    """Syndrome bits the family's rate-adapted code discloses for a frame (no code built).

    Equal to ``family.select(qber_estimate, frame_bits, ...).leak_bits`` (checked by a
    test) without building the mother code (1–2 s each): the first mother code with at
    least ``f·F·H(q_up)`` checks, punctured down to that target where its extra positions
    allow.
    """
    q_up = family.upper_qber(qber_estimate, sample_bits, confidence_sigmas)
    target = math.ceil(family.design_efficiency(q_up) * frame_bits * binary_entropy(q_up))
    index = 0
    while index < family.count - 1 and family.checks(index, frame_bits) < target:
        index += 1
    m = family.checks(index, frame_bits)
    punctured = min(max(0, m - target), family.extra_positions(index, frame_bits))
    return int(m - punctured)


@dataclass(frozen=True)
class FastPass:
    """Expected-count result of a pass: per-packet and per-block figures and the totals."""

    counts: ExpectedCounts
    sifted_key_bits: float
    packets: list[dict[str, Any]]
    blocks: list[dict[str, Any]]

    @property
    def final_key_bits(self) -> int:
        """Sum of the blocks' final key lengths."""
        return int(sum(b["bits"] for b in self.blocks))


def _at(levels: NDArray[np.float64], cumulative: NDArray[np.float64],
        values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Interpolate the columns of ``values`` (``[T+1, n]``) where ``cumulative`` hits levels."""
    pos = np.interp(levels, cumulative, np.arange(cumulative.size, dtype=np.float64))
    grid = np.arange(cumulative.size, dtype=np.float64)
    return np.stack([np.interp(pos, grid, values[:, j]) for j in range(values.shape[1])], -1)


def fast_pass(mission: Mission, station: Station, channel: ChannelModel) -> FastPass:
    """Packets, blocks and final key of the QKD window described by ``channel``."""
    proto = mission.protocol
    counts = expected_counts(mission, station, channel, GEOMETRY_STEP_S)
    key_fraction = 1.0 - proto.sampling_fraction
    edges_t = counts.edges_s
    zero = np.zeros((1, 6))
    # Cumulative key-stream (after sampling) counts and errors, per class and basis: [T+1, 6].
    key_c = np.vstack([zero, np.cumsum(counts.sifted.reshape(-1, 6) * key_fraction, axis=0)])
    key_e = np.vstack([zero, np.cumsum(counts.errors.reshape(-1, 6) * key_fraction, axis=0)])
    all_c = key_c.sum(axis=1) / key_fraction          # all sifted, sampled ones included
    all_e = key_e.sum(axis=1) / key_fraction
    total_key = key_c.sum(axis=1)
    n_packets = int(total_key[-1] // proto.packet_bits)
    levels = np.arange(n_packets + 1, dtype=np.float64) * proto.packet_bits
    c_at = np.rint(_at(levels, total_key, key_c)).astype(np.int64)
    e_at = np.rint(_at(levels, total_key, key_e)).astype(np.int64)
    t_at = np.interp(levels, total_key, edges_t)
    # The satellite's QBER estimate: the last SAMPLE_WINDOW sampled sifted bits.
    window = SAMPLE_WINDOW / proto.sampling_fraction
    s_end = np.interp(t_at, edges_t, all_c)
    s_start = np.maximum(s_end - window, 0.0)
    e_window = np.interp(s_end, all_c, all_e) - np.interp(s_start, all_c, all_e)
    family = CodeFamily.default()
    packets: list[dict[str, Any]] = []
    packet_counts: list[tuple[NDArray[np.int64], NDArray[np.int64], int]] = []
    for j in range(n_packets):
        det = c_at[j + 1] - c_at[j]
        err = np.minimum(e_at[j + 1] - e_at[j], det)
        q_est = (e_window[j + 1] + 1.0) / (s_end[j + 1] - s_start[j + 1] + 2.0)
        q_packet = float(err.sum() / max(det.sum(), 1))
        if proto.reconciliation in ("blind", "guided"):
            # Blind reveals until the packet decodes: its leak follows the packet's own
            # QBER (measured mean efficiency), not the sampled estimate.
            table = (GUIDED_MEAN_EFFICIENCY if proto.reconciliation == "guided"
                     else BLIND_MEAN_EFFICIENCY)
            leak = math.ceil(expected_blind_leak_bits(min(max(q_packet, 1e-4), 0.45),
                                                      proto.packet_bits, table))
        else:
            leak = ec_leak_bits(family, min(q_est, 0.45), proto.packet_bits)
        leak += proto.verification_tag_bits
        packets.append({"t_s": round(float(t_at[j + 1]), 3),
                        "qber": round(q_packet, 6),
                        "decoded": True, "leak_bits": leak})
        packet_counts.append((det.reshape(3, 2), err.reshape(3, 2), leak))
    payload = mission.satellite.payload
    source = EstimationSource(
        payload.intensities.signal, payload.intensities.decoy,
        effective_vacuum_intensity(payload.intensities.signal, payload.intensities.vacuum,
                                   payload.extinction_ratio_db),
        payload.probabilities.signal, payload.probabilities.decoy, payload.probabilities.vacuum,
    )
    eps = EpsilonBudget(pe_per_bound=proto.eps_pe, error_correction=proto.eps_ec,
                        privacy_amplification=proto.eps_pa, authentication=proto.eps_auth)
    per_block = max(1, proto.pa_block_bits // proto.packet_bits)
    blocks: list[dict[str, Any]] = []
    for b0 in range(0, n_packets, per_block):
        group = packet_counts[b0:b0 + per_block]
        block_counts = DecoyCounts(sum(g[0] for g in group), sum(g[1] for g in group))
        est = estimate(block_counts, source, proto.finite_key_method,
                       failure_probability=proto.eps_pe)
        length = final_key_length(est, float(sum(g[2] for g in group)),
                                  proto.verification_tag_bits, eps)
        blocks.append({"block_id": len(blocks), "t_s": packets[b0 + len(group) - 1]["t_s"],
                       "bits": int(length.final_key_bits),
                       "packets": list(range(b0, b0 + len(group)))})
    return FastPass(counts, float(total_key[-1]), packets, blocks)


def fast_pass_outcome(
    mission: Mission, station: Station, template: PassOutcome, orbit: SatelliteOrbit | None = None
) -> PassOutcome:
    """Evaluate the candidate ``template`` in the fast fidelity: its outcome, with detail."""
    wall0 = time.perf_counter()
    orbit = orbit or SatelliteOrbit.from_config(mission.satellite)
    geometry = pass_geometry(orbit, station, template.window_start_unix_s,
                             template.window_end_unix_s, step_s=GEOMETRY_STEP_S)
    channel = ChannelModel.build(mission, station, geometry, seed=template.seed)
    result = fast_pass(mission, station, channel)
    c = result.counts
    rng_km = np.interp(c.t_s, geometry.t_s, geometry.range_km)
    el_deg = np.interp(c.t_s, geometry.t_s, geometry.elevation_deg)
    widths = np.diff(c.edges_s)
    timeline = tuple(
        {"t_s": float(c.edges_s[i]), "range_km": round(float(rng_km[i]), 3),
         "elevation_deg": round(float(el_deg[i]), 3),
         "count_rate_cps": float(c.detections[i] / widths[i]),
         "background_cps": round(float(c.background_cps[i]), 2)}
        for i in range(c.t_s.size)
    )
    qbers = [p["qber"] for p in result.packets]
    final = result.final_key_bits
    return template.with_result(
        status="key" if final > 0 else "no key", mode="fast",
        detections=float(c.detections.sum()), sifted_bits=result.sifted_key_bits,
        packets=len(result.packets),
        qber_mean=float(np.mean(qbers)) if qbers else None,
        qber_min=float(np.min(qbers)) if qbers else None,
        qber_max=float(np.max(qbers)) if qbers else None,
        blocks=len(result.blocks), final_key_bits=final,
        wall_time_s=time.perf_counter() - wall0,
        timeline=timeline, packet_list=tuple(result.packets), block_list=tuple(result.blocks),
    )
