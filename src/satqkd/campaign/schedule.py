"""Which passes a campaign tries: night passes, the weather, one station at a time per satellite.

For every satellite the orbit is searched for passes over all stations (in chunks of
``CHUNK_DAYS`` that can run in parallel), and a pass becomes a candidate when it meets the
mission's procedure: it reaches the QKD elevations (``qkd_start/end_elevation_deg`` and
``min_pass_elevation_deg``), the station is dark (Sun below ``sun_max_elevation_deg``), the
satellite is in the Earth's shadow (if ``require_satellite_shadow``), and the link lasts at
least ``min_link_duration_s``. Its QKD window follows the procedure
(:func:`~satqkd.simulate.geometry.qkd_window`).

Then the sky decides (:mod:`satqkd.campaign.weather`), and one optical terminal serves one
link at a time: a satellite serves one station, a station's telescope tracks one satellite.
When two clear candidates that share a satellite or a station overlap (windows closer than
``repoint_s``, the slew and acquisition time, SPEC §1: tracking starts ~5 min before QKD)
the higher pass is kept and the other marked ``conflict``.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from satqkd.campaign.outcome import PassOutcome
from satqkd.campaign.weather import is_clear, night_of
from satqkd.config.models import Mission, Station
from satqkd.errors import InputError
from satqkd.orbit.passes import Pass, find_passes
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.simulate.geometry import qkd_window

__all__ = [
    "CHUNK_DAYS",
    "Candidate",
    "mark_weather_and_conflicts",
    "pass_seed",
    "search_chunk",
    "search_chunks",
]

CHUNK_DAYS = 30.0
"""Length of one pass-search task."""

_MARGIN_S = 1800.0  # a pass lasts < 30 min: searching this much wider never cuts one


@dataclass(frozen=True)
class Candidate:
    """A night pass of satellite ``satellite_index`` that meets the procedure."""

    satellite_index: int
    station_key: str
    pass_: Pass
    outcome: PassOutcome


def pass_seed(seed: int, satellite_index: int, station_key: str, rise_unix_s: float) -> int:
    """Seed of one pass's simulation: a function of the campaign seed and the pass alone."""
    ss = np.random.SeedSequence([seed, satellite_index, zlib.crc32(station_key.encode()),
                                 int(rise_unix_s)])
    return int(ss.generate_state(1)[0] & 0x7FFFFFFF)


def search_chunks(start_unix_s: float, end_unix_s: float,
                  chunk_days: float = CHUNK_DAYS) -> list[tuple[float, float]]:
    """``[t0, t1)`` intervals covering the campaign, one per search task."""
    edges = [*np.arange(start_unix_s, end_unix_s, chunk_days * 86400.0).tolist(), end_unix_s]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


def search_chunk(
    mission: Mission, satellite_index: int, stations: dict[str, Station],
    t0_unix_s: float, t1_unix_s: float, seed: int,
) -> list[Candidate]:
    """Candidates of one satellite whose culmination falls in ``[t0_unix_s, t1_unix_s)``."""
    proc = mission.procedure
    orbit = SatelliteOrbit.from_config(mission.satellite)
    keys = list(stations)
    by_name = {st.name: key for key, st in stations.items()}
    min_el = max(proc.min_pass_elevation_deg, proc.qkd_start_elevation_deg,
                 proc.qkd_end_elevation_deg)
    found = find_passes(orbit, [stations[k] for k in keys], t0_unix_s - _MARGIN_S,
                        t1_unix_s + _MARGIN_S, min_el, proc.sun_max_elevation_deg)
    out = []
    for p in found:
        if not t0_unix_s <= p.culmination_unix_s < t1_unix_s:
            continue
        dark = p.is_night or (not proc.require_satellite_shadow and p.station_dark)
        if not dark or p.duration_s < proc.min_link_duration_s:
            continue
        key = by_name[p.station]
        station = stations[key]
        try:
            w0, w1 = qkd_window(orbit, station, p, proc)
        except InputError:
            continue  # grazes the QKD elevations between two samples: no usable window
        night = night_of(p.culmination_unix_s, station.timezone_hours)
        outcome = PassOutcome(
            satellite=mission.satellite.name, station=key, night=night.isoformat(),
            rise_unix_s=p.rise_unix_s, culmination_unix_s=p.culmination_unix_s,
            window_start_unix_s=w0, window_end_unix_s=w1,
            max_elevation_deg=p.max_elevation_deg, moon_separation_deg=p.moon_separation_deg,
            moon_illumination=p.moon_illumination, status="no key",
            seed=pass_seed(seed, satellite_index, key, p.rise_unix_s),
        )
        out.append(Candidate(satellite_index, key, p, outcome))
    return out


def mark_weather_and_conflicts(
    candidates: Sequence[Candidate], stations: dict[str, Station], seed: int, *,
    weather: bool = True, repoint_s: float = 300.0,
) -> tuple[list[Candidate], list[PassOutcome]]:
    """Split candidates into those to evaluate and the outcomes of those that cannot run.

    Returns ``(to_evaluate, skipped)``; skipped outcomes have status ``cloudy`` or
    ``conflict``.
    """
    skipped: list[PassOutcome] = []
    clear: list[Candidate] = []
    for c in candidates:
        station = stations[c.station_key]
        night = night_of(c.outcome.culmination_unix_s, station.timezone_hours)
        if weather and not is_clear(c.station_key, station, night, seed):
            skipped.append(c.outcome.with_result(status="cloudy"))
        else:
            clear.append(c)
    kept: list[Candidate] = []
    satellite_busy: dict[int, list[tuple[float, float]]] = {}
    station_busy: dict[str, list[tuple[float, float]]] = {}
    for c in sorted(clear, key=lambda c: (-c.outcome.max_elevation_deg, c.satellite_index)):
        w0 = c.outcome.window_start_unix_s - repoint_s
        w1 = c.outcome.window_end_unix_s + repoint_s
        by_satellite = satellite_busy.setdefault(c.satellite_index, [])
        by_station = station_busy.setdefault(c.station_key, [])
        if any(a < w1 and w0 < b for a, b in by_satellite):
            skipped.append(c.outcome.with_result(status="conflict",
                                                 note="satellite serving another station"))
            continue
        if any(a < w1 and w0 < b for a, b in by_station):
            skipped.append(c.outcome.with_result(status="conflict",
                                                 note="station tracking another satellite"))
            continue
        window = (c.outcome.window_start_unix_s, c.outcome.window_end_unix_s)
        by_satellite.append(window)
        by_station.append(window)
        kept.append(c)
    kept.sort(key=lambda c: c.outcome.window_start_unix_s)
    return kept, skipped
