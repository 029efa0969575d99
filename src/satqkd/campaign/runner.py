"""Run a campaign: search passes, apply weather and conflicts, evaluate, collect.

:func:`run_campaign` is what ``satqkd campaign`` calls. Both stages run on an executor
(:mod:`satqkd.campaign.execution`): the pass search in 30-day chunks per satellite, then the
evaluation of the candidates, in batches in the ``fast`` fidelity (a pass takes ~10 ms) and
one pass per task in the ``photon`` fidelity (tens of seconds each). Everything random is
keyed by the campaign seed and the pass itself, so the result does not depend on the
executor or the number of workers.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from satqkd.campaign.execution import Executor, SerialExecutor
from satqkd.campaign.fast_pass import fast_pass_outcome
from satqkd.campaign.outcome import PassOutcome
from satqkd.campaign.photon_pass import photon_pass_outcome
from satqkd.campaign.results import CampaignResult
from satqkd.campaign.schedule import (
    Candidate,
    mark_weather_and_conflicts,
    search_chunk,
    search_chunks,
)
from satqkd.config.models import Mission, Station
from satqkd.errors import InputError
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.orbit.timescale import to_unix_s

__all__ = ["CampaignSpec", "Mode", "ProgressFn", "run_campaign"]

Mode = Literal["fast", "photon"]
ProgressFn = Callable[[str, int, int], None]
"""Called with (stage, done, total); stages are ``"search"`` and ``"evaluate"``."""

FAST_BATCH = 16
"""Passes per task in the fast fidelity (amortises task overhead)."""


@dataclass(frozen=True)
class CampaignSpec:
    """What to run: satellites (one mission each), stations, dates, fidelity, seed.

    ``stations`` are keys of the first mission's stations (the ground segment is shared by
    every satellite); empty means all of them. ``duration_cap_s`` caps every QKD window
    (below the procedure's ``max_qkd_duration_s``; tests use it to keep photon runs short).
    """

    missions: tuple[Mission, ...]
    start: dt.datetime
    days: float
    stations: tuple[str, ...] = ()
    mode: Mode = "fast"
    seed: int = 1
    weather: bool = True
    repoint_s: float = 300.0
    duration_cap_s: float | None = None

    def __post_init__(self) -> None:
        if not self.missions:
            raise InputError("a campaign needs at least one satellite", field="missions")
        if not 0.0 < self.days <= 3660.0:
            raise InputError("must be between 0 and 3660 days", source="--days", value=self.days)
        if self.mode not in ("fast", "photon"):
            raise InputError("choose fast or photon", source="--mode", value=self.mode)
        if self.duration_cap_s is not None and self.duration_cap_s <= 0:
            raise InputError("must be positive", field="duration_cap_s",
                             value=self.duration_cap_s)
        names = [m.satellite.name for m in self.missions]
        if len(set(names)) != len(names):
            raise InputError("satellite names must be distinct", field="missions", value=names)

    def station_map(self) -> dict[str, Station]:
        """The campaign's stations by key (from the first mission), validated."""
        first = self.missions[0]
        if not self.stations:
            return dict(first.stations)
        out = {}
        for name in self.stations:
            station = first.station(name)
            key = next(k for k, v in first.stations.items() if v is station)
            out[key] = station
        return out


def _search(mission: Mission, index: int, stations: dict[str, Station], t0: float, t1: float,
            seed: int) -> list[Candidate]:
    return search_chunk(mission, index, stations, t0, t1, seed)


def _evaluate(mission: Mission, mode: Mode, stations: dict[str, Station],
              batch: Sequence[Candidate], duration_cap_s: float | None) -> list[PassOutcome]:
    """Evaluate a batch of one satellite's candidates (runs on a worker)."""
    orbit = SatelliteOrbit.from_config(mission.satellite)
    out = []
    for c in batch:
        template = c.outcome
        if duration_cap_s is not None and template.window_s > duration_cap_s:
            mid = 0.5 * (template.window_start_unix_s + template.window_end_unix_s)
            template = template.with_result(window_start_unix_s=mid - duration_cap_s / 2,
                                            window_end_unix_s=mid + duration_cap_s / 2)
        station = stations[c.station_key]
        try:
            if mode == "fast":
                out.append(fast_pass_outcome(mission, station, template, orbit))
            else:
                out.append(photon_pass_outcome(mission, station, template, c.pass_, orbit))
        except Exception as exc:  # one bad pass must not lose a whole campaign
            out.append(template.with_result(status="failed", mode=mode,
                                            note=f"{type(exc).__name__}: {exc}"))
    return out


def run_campaign(
    spec: CampaignSpec, executor: Executor | None = None, progress: ProgressFn | None = None,
) -> CampaignResult:
    """Run the campaign ``spec`` on ``executor`` (default: in this process)."""
    wall0 = time.perf_counter()
    executor = executor or SerialExecutor()
    stations = spec.station_map()
    t0 = to_unix_s(spec.start)
    t1 = t0 + spec.days * 86400.0
    chunks = search_chunks(t0, t1)
    search_tasks = [(m, i, stations, a, b, spec.seed)
                    for i, m in enumerate(spec.missions) for a, b in chunks]

    def report(stage: str, total: int) -> Callable[[int], None] | None:
        if progress is None:
            return None
        progress(stage, 0, total)
        return lambda n: progress(stage, n, total)

    found = executor.map(_search, search_tasks, report("search", len(search_tasks)))
    candidates = [c for chunk in found for c in chunk]
    to_run, skipped = mark_weather_and_conflicts(candidates, stations, spec.seed,
                                                 weather=spec.weather, repoint_s=spec.repoint_s)
    size = FAST_BATCH if spec.mode == "fast" else 1
    eval_tasks = []
    for i, mission in enumerate(spec.missions):
        mine = [c for c in to_run if c.satellite_index == i]
        for b in range(0, len(mine), size):
            eval_tasks.append((mission, spec.mode, stations, mine[b:b + size],
                               spec.duration_cap_s))
    evaluated = executor.map(_evaluate, eval_tasks, report("evaluate", len(eval_tasks)))
    outcomes = [o for batch in evaluated for o in batch] + skipped
    outcomes.sort(key=lambda o: (o.window_start_unix_s, o.station))
    return CampaignResult(
        outcomes=tuple(outcomes), stations=stations,
        satellites=tuple(m.satellite.name for m in spec.missions), start_unix_s=t0,
        end_unix_s=t1, mode=spec.mode, seed=spec.seed, workers=executor.workers,
        wall_time_s=time.perf_counter() - wall0,
    )
