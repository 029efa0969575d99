"""The ``photon`` fidelity: simulate a campaign pass photon by photon and run the protocol live.

The pass, its QKD window and the seed come from the campaign's schedule; the simulation is
:func:`~satqkd.simulate.engine.simulate_window` over the window's geometry and the key comes
from :func:`~satqkd.protocol.run.run_pass` (both actors, lossy classical link, LDPC,
estimation, privacy amplification), exactly as ``satqkd pass`` does for one pass.
"""

from __future__ import annotations

import time

from satqkd.campaign.outcome import PassOutcome
from satqkd.config.models import Mission, Station
from satqkd.orbit.passes import Pass
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.protocol.run import run_pass
from satqkd.simulate.engine import simulate_window
from satqkd.simulate.geometry import pass_geometry
from satqkd.simulate.pass_simulation import PassSimulation, SelectedPass

__all__ = ["photon_pass_outcome"]


def photon_pass_outcome(
    mission: Mission, station: Station, template: PassOutcome, pass_: Pass,
    orbit: SatelliteOrbit | None = None,
) -> PassOutcome:
    """Evaluate the candidate ``template`` (of pass ``pass_``) at photon level."""
    wall0 = time.perf_counter()
    orbit = orbit or SatelliteOrbit.from_config(mission.satellite)
    selected = SelectedPass(orbit, pass_, template.window_start_unix_s,
                            template.window_end_unix_s, f"campaign pass ({template.night})")
    geometry = pass_geometry(orbit, station, template.window_start_unix_s,
                             template.window_end_unix_s)
    result = simulate_window(mission, station, geometry, seed=template.seed)
    simulation = PassSimulation(mission.name, station.name, selected, geometry, result)
    run = run_pass(mission, station, seed=template.seed, simulation=simulation)
    s = run.summary()
    undecoded = sum(1 for p in s["packets"] if not p["decoded"])
    final = int(s["final_key_bits"])
    notes = [f"{undecoded} packet(s) not decoded"] if undecoded else []
    if not s["keys_match"]:
        # Say why: a block held by one side only (the session reached the end of the
        # classical link before its last acknowledgement) or, never expected, different bits.
        notes.append(f"keys differ: {s['one_sided_blocks']} one-sided, "
                     f"{s['mismatched_blocks']} mismatched block(s)")
    notes += [str(n) for n in s["notes"]]
    return template.with_result(
        status="key" if final > 0 else "no key", mode="photon",
        detections=float(s["detections"]), sifted_bits=float(s["sifted_bits"]),
        packets=len(s["packets"]), qber_mean=s["qber_mean"], qber_min=s["qber_min"],
        qber_max=s["qber_max"], blocks=len(s["blocks"]), final_key_bits=final,
        keys_match=bool(s["keys_match"]), wall_time_s=time.perf_counter() - wall0,
        note="; ".join(notes),
        timeline=tuple(simulation.timeline()), packet_list=tuple(s["packets"]),
        block_list=tuple(s["blocks"]),
    )
