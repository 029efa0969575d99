"""Hand a pass's final keys to the key stores of both nodes (``satqkd pass --store``).

One store per node: the ground station's at the given path, the satellite's beside it
(``<dir>/<mission>-sat.db``); or, when the path is a directory, ``<dir>/<node>.db`` for
both. Each final-key block is added by each party from its *own* copy of the key, with
its ε and provenance (pass, block); the store gives both ends the same block id.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from satqkd.config.models import Mission, Station
from satqkd.keys import KeyStore, Provenance, link_name
from satqkd.orbit.timescale import iso_utc
from satqkd.protocol.blocks import KeyBlock
from satqkd.protocol.run import PassRun


def satellite_node(mission: Mission) -> str:
    """Node name of a mission's satellite in key stores (``jinan1-sat``)."""
    return f"{mission.name}-sat"


def station_node(mission: Mission, station: Station) -> str:
    """Node name of a station (its key in the mission, e.g. ``jinan``)."""
    for key, value in mission.stations.items():
        if value == station:
            return key
    return station.name.lower()


def store_paths(path: Path, mission: Mission, station: Station) -> tuple[Path, Path]:
    """(satellite store, station store) for ``--store PATH``."""
    if path.is_dir() or not path.suffix:
        path.mkdir(parents=True, exist_ok=True)
        return (path / f"{satellite_node(mission)}.db",
                path / f"{station_node(mission, station)}.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f"{satellite_node(mission)}.db"), path


def store_pass_keys(
    run: PassRun, mission: Mission, station: Station, path: Path
) -> list[dict[str, Any]]:
    """Add every block both sides of ``run`` hold to both stores; returns what was stored."""
    out = run.outcome
    return store_keys(out.satellite_keys, out.ground_keys, mission, station,
                      run.simulation.geometry.start_unix_s, path)


def store_keys(
    satellite_keys: Mapping[int, KeyBlock], ground_keys: Mapping[int, KeyBlock],
    mission: Mission, station: Station, start_unix_s: float, path: Path,
) -> list[dict[str, Any]]:
    """Add every block held by both parties (each from its own copy) to both stores.

    Used by ``satqkd pass --store`` with either transport: in memory, or the keys the two
    party processes wrote (``--transport udp``). ε comes from the ground's block report.
    """
    sat_node, gs_node = satellite_node(mission), station_node(mission, station)
    link = link_name(sat_node, gs_node)
    sat_path, gs_path = store_paths(Path(path), mission, station)
    pass_id = f"{mission.name}:{gs_node}:{iso_utc(start_unix_s)}"
    stored = []
    with KeyStore(sat_path, sat_node) as sat_store, KeyStore(gs_path, gs_node) as gs_store:
        for block_id in sorted(set(ground_keys) & set(satellite_keys)):
            g, s = ground_keys[block_id], satellite_keys[block_id]
            eps = float(g.report.get("epsilon", {}).get("total", 0.0))
            if not eps > 0.0:
                raise ValueError(f"block {block_id} has no security parameter ε to store")
            prov = Provenance(pass_id, block_index=block_id,
                              extra={"packets": list(g.packet_ids)})
            sat_id = sat_store.add_block(link, s.bits, eps, prov)
            gs_id = gs_store.add_block(link, g.bits, eps, prov)
            stored.append({"block": block_id, "bits": int(g.bits.size), "id": gs_id,
                           "same_id": sat_id == gs_id, "epsilon": eps})
    return stored
