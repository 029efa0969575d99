"""A pass of chosen maximum elevation over a chosen station, for studies and comparisons.

Published passes often come without the TLE of their day (Jinan-1's reference pass of
25 September 2022 peaked at 34.1° over Jinan). This module keeps the mission's orbit (same
altitude, inclination, time of day) and turns its node in right ascension until the first
pass after a given time culminates at the requested elevation, so the pass has the real
orbit's speed, range profile and local time.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq
from sgp4.api import WGS72, Satrec
from sgp4.exporter import export_tle

from satqkd.config.models import Station
from satqkd.errors import InputError
from satqkd.orbit.passes import Pass, find_passes
from satqkd.orbit.propagate import SatelliteOrbit

_SEARCH_S = 2 * 86400.0


def _with_node_shift(orbit: SatelliteOrbit, shift_deg: float) -> SatelliteOrbit:
    src = orbit.satrec
    sat = Satrec()
    sat.sgp4init(
        WGS72, "i", src.satnum, src.jdsatepoch + src.jdsatepochF - 2433281.5,
        src.bstar, src.ndot, src.nddot, src.ecco, src.argpo, src.inclo, src.mo,
        src.no_kozai, (src.nodeo + math.radians(shift_deg)) % (2 * math.pi),
    )
    line1, line2 = export_tle(sat)
    return SatelliteOrbit.from_tle(line1, line2, orbit.name)


def pass_with_max_elevation(
    orbit: SatelliteOrbit,
    station: Station,
    after_unix_s: float,
    max_elevation_deg: float,
    min_elevation_deg: float = 10.0,
    night_only: bool = True,
) -> tuple[SatelliteOrbit, Pass]:
    """The orbit, turned in node, whose first (night) pass after ``after_unix_s`` over
    ``station`` culminates at ``max_elevation_deg``; and that pass."""
    if not min_elevation_deg < max_elevation_deg < 89.9:
        raise InputError(
            f"must be between the mask elevation ({min_elevation_deg:g}°) and 89.9°",
            source="--max-elevation", value=max_elevation_deg,
        )
    passes = find_passes(
        orbit, [station], after_unix_s, after_unix_s + _SEARCH_S, min_elevation_deg
    )
    candidates = [p for p in passes if p.is_night or not night_only]
    if not candidates:
        raise InputError("no night pass within two days of the start time", source="--start")
    first = candidates[0]
    t0 = first.culmination_unix_s - 1200.0
    t1 = first.culmination_unix_s + 1200.0

    def peak(shift_deg: float) -> float:
        found = find_passes(_with_node_shift(orbit, shift_deg), [station], t0, t1, 0.0)
        return max((p.max_elevation_deg for p in found), default=-1.0)

    shifts = np.arange(-20.0, 20.5, 1.0)
    peaks = np.array([peak(s) for s in shifts])
    best = float(shifts[int(np.argmax(peaks))])
    # Stay on the side of the original pass, between the overhead shift and the far edge.
    edge = -20.0 if best > 0 else 20.0
    if peak(edge) > max_elevation_deg:
        edge = -edge
    shift = brentq(lambda s: peak(s) - max_elevation_deg, best, edge, xtol=1e-4)
    shifted = _with_node_shift(orbit, shift)
    found = find_passes(shifted, [station], t0, t1, min_elevation_deg)
    return shifted, max(found, key=lambda p: p.max_elevation_deg)
