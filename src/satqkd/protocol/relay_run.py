"""Key relay through the satellite from real simulated passes (SPEC §9).

Pass 1 over station A gives key M_A (satellite–A), a later pass over station B gives M_B
(satellite–B); the satellite sends M_B ⊕ M_A down to B, who recovers M_A: A and B now
share it (the satellite is a trusted node). :func:`relay_between` runs both passes photon
by photon with the live protocol, stores their keys in each node's store, and relays.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from satqkd.config.models import Mission, Station
from satqkd.errors import InputError
from satqkd.keys import KeyStore, RelayResult, link_name, relay_key
from satqkd.orbit.timescale import from_unix_s, iso_utc
from satqkd.protocol.run import PassRun, ProgressFn, run_pass
from satqkd.protocol.storage import satellite_node, station_node, store_pass_keys
from satqkd.simulate.engine import ProgressFn as SimProgressFn


@dataclass
class RelayRun:
    """The two passes and the relay between them."""

    pass_a: PassRun
    pass_b: PassRun
    relay: RelayResult | None
    latency_s: float
    stores: dict[str, Path]

    def summary(self) -> dict[str, Any]:
        """JSON report of ``satqkd relay``."""
        a, b = self.pass_a.summary(), self.pass_b.summary()
        return {
            "pass_a": {k: a[k] for k in ("station", "start", "max_elevation_deg",
                                         "final_key_bits", "keys_match")},
            "pass_b": {k: b[k] for k in ("station", "start", "max_elevation_deg",
                                         "final_key_bits", "keys_match")},
            "latency_between_passes_s": round(self.latency_s, 1),
            "latency_between_passes_h": round(self.latency_s / 3600.0, 3),
            "relayed_bits": self.relay.n_bits if self.relay else 0,
            "relayed_link": self.relay.link_ab if self.relay else None,
            "relay_epsilon": self.relay.epsilon if self.relay else None,
            "stores": {k: str(v) for k, v in self.stores.items()},
        }


def relay_between(
    mission: Mission, station_a: Station, station_b: Station, *, start: dt.datetime | None,
    store_dir: Path, seed: int = 1, bits: int | None = None, duration_s: float | None = None,
    sim_progress: SimProgressFn | None = None, progress: ProgressFn | None = None,
) -> RelayRun:
    """Run a pass over A, the next pass over B, store both, and relay key from A to B.

    ``duration_s`` caps each pass's QKD window (seconds, as ``satqkd pass --duration``);
    ``None`` keeps the mission's procedure (the whole usable pass).
    """
    if station_a == station_b:
        raise InputError("the two stations must differ", source="--to")
    run_a = run_pass(mission, station_a, start=start, seed=seed, duration_s=duration_s,
                     sim_progress=sim_progress, progress=progress)
    end_a = run_a.simulation.geometry.start_unix_s + run_a.simulation.geometry.duration_s
    run_b = run_pass(mission, station_b, start=from_unix_s(end_a), seed=seed + 1,
                     duration_s=duration_s, sim_progress=sim_progress, progress=progress)
    store_dir.mkdir(parents=True, exist_ok=True)
    store_pass_keys(run_a, mission, station_a, store_dir)
    store_pass_keys(run_b, mission, station_b, store_dir)
    sat = satellite_node(mission)
    node_a, node_b = station_node(mission, station_a), station_node(mission, station_b)
    paths = {n: store_dir / f"{n}.db" for n in (sat, node_a, node_b)}
    end_b = run_b.simulation.geometry.start_unix_s + run_b.simulation.geometry.duration_s
    link_a, link_b = link_name(sat, node_a), link_name(sat, node_b)
    result = None
    with KeyStore(paths[sat], sat) as s, KeyStore(paths[node_a], node_a) as a, \
            KeyStore(paths[node_b], node_b) as b:
        available = 8 * min(s.available_bytes(link_a), s.available_bytes(link_b))
        n_bits = bits if bits is not None else available
        if n_bits >= 8:
            result = relay_key(s, a, b, link_a, link_b, n_bits)
    return RelayRun(run_a, run_b, result, end_b - end_a, paths)


def describe_times(run: RelayRun) -> str:
    """One line: when the two passes were (for the terminal)."""
    a = run.pass_a.simulation.geometry.start_unix_s
    b = run.pass_b.simulation.geometry.start_unix_s
    return f"pass A {iso_utc(a)}, pass B {iso_utc(b)}"
