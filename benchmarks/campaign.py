"""Benchmark: a one-year Jinan-1 campaign over its four stations (fast fidelity), on Dask.

Runs :func:`satqkd.campaign.run_campaign` for ``--days`` (365) from 2022-09-25 over Jinan,
Hefei, Wuhan and Nanshan in the fast fidelity (expected counts + the real finite-key
analysis), first in this process, then on a Dask LocalCluster of 1 and 2 worker processes
(``--workers 1 2``), and prints the wall time of each (with and without the cluster's
start), the time of the pass search and of the evaluation, and the campaign's totals. The
results of every run must be identical (the campaign does not depend on the executor).

``--validate`` also runs both fidelities on whole passes (the reference pass and synthetic
passes of several elevations over Jinan and Nanshan) and prints the fast/photon ratios of
sifted bits, mean QBER and final key: the agreement quoted in the README.

Usage: ``python benchmarks/campaign.py [--days 365] [--workers 1 2] [--validate]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from typing import Any

import numpy as np

from satqkd.campaign import CampaignResult, CampaignSpec, compare_fidelities, run_campaign
from satqkd.campaign.execution import Executor, SerialExecutor, dask_executor
from satqkd.config import Mission, load_mission

START = dt.datetime(2022, 9, 25, tzinfo=dt.UTC)
VALIDATION = (("jinan", None), ("jinan", 20.0), ("jinan", 50.0), ("jinan", 75.0),
              ("nanshan", 30.0), ("nanshan", 60.0))


def _timed_run(spec: CampaignSpec, executor: Executor) -> tuple[CampaignResult, dict[str, float]]:
    """Run the campaign; returns the result and the seconds spent in each stage."""
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        marks.setdefault(stage, time.perf_counter())

    tic = time.perf_counter()
    result = run_campaign(spec, executor, progress)
    toc = time.perf_counter()
    return result, {"search": marks["evaluate"] - marks["search"],
                    "evaluate": toc - marks["evaluate"], "total": toc - tic}


def _rows(result: CampaignResult) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "wall_time_s"} for r in result.rows()]


def _print(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def campaign_benchmark(mission: Mission, days: float, workers: list[int]) -> None:
    spec = CampaignSpec(missions=(mission,), start=START, days=days, mode="fast", seed=1)
    reference, stages = _timed_run(spec, SerialExecutor())
    summary = reference.summary()
    rows = [
        ("campaign", f"{mission.satellite.name} × {', '.join(mission.stations)}, {days:g} days "
                     f"from {START:%Y-%m-%d}, fast fidelity, seed 1"),
        ("night passes / evaluated / with key",
         f"{len(reference.outcomes)} / {len(reference.evaluated)} / "
         f"{sum(o.final_key_bits > 0 for o in reference.outcomes)}"),
        ("status counts", ", ".join(f"{k} {v}"
                                    for k, v in sorted(summary["status_counts"].items()))),
        ("final key, all stations", f"{reference.total_key_bits / 1e6:.1f} Mbit"),
        ("per station (Mbit)", ", ".join(f"{t['station']} {t['final_key_bits'] / 1e6:.1f}"
                                          for t in summary["station_totals"])),
        ("in this process", f"{stages['total']:.1f} s (search {stages['search']:.1f} s, "
                            f"evaluate {stages['evaluate']:.1f} s; "
                            f"{1e3 * stages['evaluate'] / max(len(reference.evaluated), 1):.1f}"
                            " ms per evaluated pass)"),
    ]
    for n in workers:
        tic = time.perf_counter()
        with dask_executor(workers=n) as executor:
            started = time.perf_counter() - tic
            result, st = _timed_run(spec, executor)
        same = _rows(result) == _rows(reference)
        rows.append((f"Dask LocalCluster, {n} worker(s)",
                     f"{st['total']:.1f} s (search {st['search']:.1f} s, evaluate "
                     f"{st['evaluate']:.1f} s) + {started:.1f} s cluster start; "
                     f"result {'identical' if same else 'DIFFERENT'}"))
    rows.append(("machine", f"{platform.processor() or platform.machine()}, {os.cpu_count()} "
                            f"cores, Python {platform.python_version()}"))
    _print(rows)


def validation(mission: Mission) -> None:
    print("\nfast / photon fidelity on whole passes (same window and seed):")
    header = ("pass", "station", "max el °", "window s", "sifted f/p", "QBER f/p",
              "undecoded", "key fast", "key photon", "key f/p", "photon s")
    print("  ".join(f"{h:>10}" for h in header))
    ratios: dict[str, list[float]] = {"sifted": [], "qber": [], "key": []}
    for k, (station, elevation) in enumerate(VALIDATION):
        (c,) = compare_fidelities(mission, mission.station(station), [elevation],
                                  start=dt.datetime(2022, 9, 25, 12, tzinfo=dt.UTC), seed=1 + k)
        for name, value in (("sifted", c.sifted_ratio), ("qber", c.qber_ratio),
                            ("key", c.key_ratio)):
            if value is not None:
                ratios[name].append(value)
        cells = ("reference" if elevation is None else "synthetic", station,
                 f"{c.fast.max_elevation_deg:.1f}", f"{c.fast.window_s:.0f}",
                 f"{c.sifted_ratio:.3f}", f"{c.qber_ratio:.3f}",
                 f"{c.undecoded_packets}/{c.photon.packets}", f"{c.fast.final_key_bits:,}",
                 f"{c.photon.final_key_bits:,}",
                 "—" if c.key_ratio is None else f"{c.key_ratio:.3f}",
                 f"{c.photon.wall_time_s:.1f}")
        print("  ".join(f"{x:>10}" for x in cells))
    for name, values in ratios.items():
        arr = np.array(values)
        print(f"{name:>6} fast/photon: mean {arr.mean():.3f}, range {arr.min():.3f}–"
              f"{arr.max():.3f}, max |1 − ratio| {np.abs(1 - arr).max():.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2],
                        help="Dask LocalCluster sizes to time (none: skip Dask)")
    parser.add_argument("--validate", action="store_true",
                        help="also compare the fast and photon fidelities on whole passes")
    args = parser.parse_args()
    mission = load_mission("jinan1")
    campaign_benchmark(mission, args.days, args.workers)
    if args.validate:
        validation(mission)


if __name__ == "__main__":
    main()
