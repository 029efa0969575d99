"""Simulate one pass end to end: pick the pass, its QKD window, and run the engine.

:func:`select_pass` turns the user's choice (a start time, a maximum elevation, or nothing:
the mission's reference pass) into a concrete pass and QKD window; :func:`simulate_pass`
runs the photon-level engine over it and returns a :class:`PassSimulation`, which also
holds the per-second timeline that ``satqkd simulate --json`` prints.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from satqkd.config.models import Mission, Station
from satqkd.errors import InputError
from satqkd.orbit.passes import Pass, find_passes
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.orbit.synthetic_pass import pass_with_max_elevation
from satqkd.orbit.timescale import iso_utc, parse_iso, to_unix_s
from satqkd.simulate.engine import ProgressFn, SimulationResult, simulate_window
from satqkd.simulate.geometry import PassGeometry, pass_geometry, qkd_window

_SEARCH_DAYS = 7.0


@dataclass(frozen=True)
class SelectedPass:
    """A pass chosen for simulation, with the orbit that produces it and its QKD window."""

    orbit: SatelliteOrbit
    pass_: Pass
    window_start_unix_s: float
    window_end_unix_s: float
    label: str


def select_pass(
    mission: Mission,
    station: Station,
    *,
    start: dt.datetime | None = None,
    max_elevation_deg: float | None = None,
    duration_s: float | None = None,
) -> SelectedPass:
    """The pass to simulate.

    * ``max_elevation_deg``: a synthetic pass of that maximum elevation (the mission's orbit
      turned in node, see :mod:`satqkd.orbit.synthetic_pass`), the first night pass after
      ``start`` (default: the mission's reference date, or now).
    * ``start`` only: the first night pass after it that reaches the QKD elevations.
    * neither: the mission's reference pass (Jinan-1: Jinan, 25 Sep 2022, 34.1°, 300 s) when
      ``station`` is the reference station, else the next night pass from now.
    """
    orbit = SatelliteOrbit.from_config(mission.satellite)
    proc = mission.procedure
    ref = mission.reference_pass
    is_ref_station = str(ref.get("station", "")).lower() in (
        station.name.lower(), *[k for k, v in mission.stations.items() if v == station]
    )
    label = "night pass"
    if start is None and max_elevation_deg is None and ref and is_ref_station:
        start = parse_iso(str(ref["date"]))
        max_elevation_deg = float(ref["max_elevation_deg"])
        duration_s = duration_s or float(ref.get("duration_s", proc.max_qkd_duration_s))
        label = f"reference pass ({ref['date']}, {max_elevation_deg:g}°)"
    if start is None:
        start = dt.datetime.now(dt.UTC)
    t0 = to_unix_s(start)
    min_el = max(proc.qkd_start_elevation_deg, proc.qkd_end_elevation_deg)
    if max_elevation_deg is not None:
        orbit, chosen = pass_with_max_elevation(
            orbit, station, t0, max_elevation_deg, min_elevation_deg=min_el
        )
        if "reference" not in label:
            label = f"synthetic pass ({max_elevation_deg:g}°)"
    else:
        found = [
            p for p in find_passes(orbit, [station], t0, t0 + _SEARCH_DAYS * 86400.0, min_el,
                                   proc.sun_max_elevation_deg)
            if (p.is_night or (not proc.require_satellite_shadow and p.station_dark))
            and p.duration_s >= proc.min_link_duration_s
        ]
        if not found:
            raise InputError(
                f"no night pass reaching {min_el:g}° within {_SEARCH_DAYS:g} days",
                source="--start", value=iso_utc(t0),
            )
        chosen = found[0]
    w0, w1 = qkd_window(orbit, station, chosen, proc, duration_s)
    return SelectedPass(orbit, chosen, w0, w1, label)


@dataclass(frozen=True)
class PassSimulation:
    """A simulated pass: what was simulated, the records, and the per-second timeline."""

    mission: str
    station: str
    selected: SelectedPass
    geometry: PassGeometry
    result: SimulationResult

    def timeline(self, step_s: float = 1.0) -> list[dict[str, float]]:
        """Per ``step_s``: time, range, elevation, link loss, measured count rate, background."""
        ch = self.result.channel.timeline(step_s)
        t = ch["t_s"]
        det_t = self.result.ground.detection_time_s
        edges = np.append(t, t[-1] + step_s)
        counts = np.histogram(det_t, bins=edges)[0] / step_s
        rng_km = np.interp(t, self.geometry.t_s, self.geometry.range_km)
        el = np.interp(t, self.geometry.t_s, self.geometry.elevation_deg)
        return [
            {"t_s": float(t[i]), "range_km": round(float(rng_km[i]), 3),
             "elevation_deg": round(float(el[i]), 3),
             "loss_db": round(float(ch["loss_db"][i]), 3),
             "count_rate_cps": float(counts[i]),
             "background_cps": round(float(ch["background_cps"][i]), 2)}
            for i in range(len(t))
        ]

    def summary(self) -> dict[str, Any]:
        """The JSON summary of ``satqkd simulate --json``."""
        res = self.result
        truth = res.truth
        sifted = truth.basis_match
        return {
            "mission": self.mission,
            "station": self.station,
            "pass": self.selected.label,
            "start": iso_utc(self.geometry.start_unix_s),
            "max_elevation_deg": round(self.geometry.max_elevation_deg, 3),
            "duration_s": round(self.geometry.duration_s, 3),
            "pulses_sent": res.satellite.pulses_sent,
            "detections": len(res.ground),
            "raw_clicks": res.ground.raw_clicks,
            "double_clicks": int(res.ground.double_click.sum()),
            "cross_basis_clicks": int(res.ground.cross_basis.sum()),
            "mis_indexed_detections": int(truth.mis_indexed.sum()),
            "true_qber": float(truth.bit_error[sifted].mean()) if sifted.any() else None,
            "timeline": self.timeline(),
            "wall_time_s": round(res.wall_time_s, 3),
        }


def simulate_pass(
    mission: Mission,
    station: Station,
    *,
    start: dt.datetime | None = None,
    max_elevation_deg: float | None = None,
    duration_s: float | None = None,
    seed: int = 1,
    progress: ProgressFn | None = None,
) -> PassSimulation:
    """Select a pass (see :func:`select_pass`) and simulate it photon by photon."""
    selected = select_pass(mission, station, start=start, max_elevation_deg=max_elevation_deg,
                           duration_s=duration_s)
    geometry = pass_geometry(selected.orbit, station, selected.window_start_unix_s,
                             selected.window_end_unix_s)
    result = simulate_window(mission, station, geometry, seed=seed, progress=progress)
    return PassSimulation(mission.name, station.name, selected, geometry, result)
