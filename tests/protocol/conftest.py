"""Shared fixtures of the protocol tests: one short simulated pass, run under many faults.

The pass is 30 s around the culmination of the Jinan-1 reference pass, photon by photon
at the real 625 MHz (≈ 7.7e5 detections, three 100-kbit packets of sifted key); the
protocol uses 100-kbit privacy-amplification blocks (the smallest SPEC §7 allows) so that
the short pass gives three blocks: enough to lose one to an attack and keep the others.
Each protocol run over it takes about a second. The keys do not depend on timing (each
party's random choices come from streams consumed in data order, never interleaved by
event order), so a run under faults must give bit for bit the clean run's keys for every
block it keys.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from satqkd.config import Mission, Station, load_mission
from satqkd.protocol.run import LinkFaults, PassRun, run_pass
from satqkd.simulate.engine import simulate_window
from satqkd.simulate.geometry import pass_geometry
from satqkd.simulate.pass_simulation import PassSimulation, select_pass

SHORT_PASS_S = 30.0
SEED = 5


@pytest.fixture(scope="session")
def mission() -> Mission:
    """Jinan-1 with 100-kbit privacy-amplification blocks."""
    base = load_mission("jinan1")
    protocol = base.protocol.model_copy(update={"pa_block_bits": 100_000})
    return base.model_copy(update={"protocol": protocol})


@pytest.fixture(scope="session")
def station(mission: Mission) -> Station:
    return mission.station("jinan")


@pytest.fixture(scope="session")
def short_pass(mission: Mission, station: Station) -> PassSimulation:
    """30 s around the culmination of the reference pass (Jinan, 25 Sep 2022, 34.1°)."""
    selected = select_pass(mission, station)
    mid = 0.5 * (selected.window_start_unix_s + selected.window_end_unix_s)
    geometry = pass_geometry(selected.orbit, station, mid - SHORT_PASS_S / 2,
                             mid + SHORT_PASS_S / 2)
    result = simulate_window(mission, station, geometry, seed=SEED)
    return PassSimulation(mission.name, station.name, selected, geometry, result)


@pytest.fixture(scope="session")
def run_short(
    mission: Mission, station: Station, short_pass: PassSimulation
) -> Callable[..., PassRun]:
    """``run_short(faults)``: the live protocol over the short pass with those link faults."""

    def run(faults: LinkFaults | None = None, seed: int = SEED) -> PassRun:
        return run_pass(mission, station, simulation=short_pass, seed=seed, faults=faults)

    return run


@pytest.fixture(scope="session")
def clean_run(run_short: Callable[..., PassRun]) -> PassRun:
    """The short pass over the link with only the classical beam's own frame loss.

    Run twice, the first time to compile the numba kernels: the session charges each
    actor's measured processing time to the simulated clock, and a first call's
    compilation would otherwise show up as seconds of latency.
    """
    run_short()
    return run_short()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20220727)
