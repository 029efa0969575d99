"""Benchmark: one year of Jinan-1 passes over its four ground stations.

Loads the Jinan-1 preset (synthetic 500-km Sun-synchronous orbit, stations Jinan, Hefei,
Wuhan, Nanshan), then times :func:`satqkd.orbit.passes.find_passes` over 365 days from the
reference pass day (2022-09-25) with the mission's 15° mask and -12° Sun limit: the
coarse SGP4 sweep, the fine search of every window, the rise/set/culmination refinement and
the darkness / shadow / Moon labels. Best of ``--repeat`` runs (default 3).

Usage: ``.venv/bin/python benchmarks/passes.py [--days 365] [--repeat 3] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import platform
import pstats
import time

from satqkd.config import load_mission
from satqkd.orbit.passes import Pass, find_passes
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.orbit.timescale import to_unix_s

START = dt.datetime(2022, 9, 25, tzinfo=dt.UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one run, top 15")
    args = parser.parse_args()

    mission = load_mission("jinan1")
    orbit = SatelliteOrbit.from_config(mission.satellite)
    stations = list(mission.stations.values())
    t0 = to_unix_s(START)
    t1 = t0 + args.days * 86400.0

    def run() -> list[Pass]:
        return find_passes(orbit, stations, t0, t1, mission.procedure.min_pass_elevation_deg,
                           mission.procedure.sun_max_elevation_deg)

    times_s = []
    for _ in range(args.repeat):
        tic = time.perf_counter()
        passes = run()
        times_s.append(time.perf_counter() - tic)

    night = [p for p in passes if p.is_night]
    rows = [
        ("satellite / stations", f"{mission.satellite.name} / {', '.join(mission.stations)}"),
        ("span", f"{args.days:g} days from {START:%Y-%m-%d}, mask "
                 f"{mission.procedure.min_pass_elevation_deg:g}°"),
        ("passes found", f"{len(passes)}"),
        ("night passes (dark + shadow)", f"{len(night)}"),
        ("wall time, best of " + str(args.repeat), f"{min(times_s):.2f} s"),
        ("wall time, all runs", ", ".join(f"{t:.2f}" for t in times_s) + " s"),
        ("machine", f"{platform.processor() or platform.machine()}, "
                    f"{os.cpu_count()} cores, Python {platform.python_version()}"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(run)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
