"""Benchmark: the live two-party protocol under link faults and attacks.

Simulates one pass photon by photon (default: the 300-s Jinan-1 reference pass over
Jinan, 25 Sep 2022, 34.1°, with its 500-kbit privacy-amplification blocks), then runs the
satellite and the ground station over it once per scenario: the classical beam's own
frame loss plus 0 / 10 / 30 / 50 % extra frame loss, bit corruption of 10 % of frames,
duplication of 30 %, reordering within 30 ms, a 20-s outage of both directions mid-pass,
and an attacker who flips a bit in (every copy of) the second block's PA instruction on
the uplink or PA confirmation on the downlink; finally the same pass with the two actors
as two OS processes over UDP on loopback (10 % extra loss, ``--time-scale`` times real
time). Per scenario: blocks keyed by both sides, abandoned, mismatched (must be 0), held
by one side only (must be 0), final key bits, frames lost of frames sent, when the last
block was resolved (simulated pass time), the median and largest block latency (from a
block's last detection to both sides holding its key, pass seconds), wall time, and any
exception that escaped (must be none). Exits non-zero if any of the musts fails.

``--window S`` runs S seconds around the culmination instead, with 100-kbit blocks
(``--window 60`` takes well under a minute); ``--no-udp`` skips the two-process row.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from satqkd.config import Mission, Station, load_mission
from satqkd.protocol.attacks import MessageTamper
from satqkd.protocol.messages import Kind
from satqkd.protocol.run import LinkFaults, run_pass
from satqkd.protocol.two_process import run_pass_two_processes
from satqkd.simulate.engine import simulate_window
from satqkd.simulate.geometry import pass_geometry
from satqkd.simulate.pass_simulation import PassSimulation, select_pass, simulate_pass


def scenarios(duration_s: float) -> dict[str, Callable[[], LinkFaults]]:
    """Fresh faults per scenario (the attackers keep state)."""
    mid = duration_s / 2
    return {
        "frame loss +0 %": lambda: LinkFaults(),
        "frame loss +10 %": lambda: LinkFaults(extra_loss=0.1),
        "frame loss +30 %": lambda: LinkFaults(extra_loss=0.3),
        "frame loss +50 %": lambda: LinkFaults(extra_loss=0.5),
        "bit corruption 10 %": lambda: LinkFaults(corrupt_probability=0.1),
        "duplication 30 %": lambda: LinkFaults(duplicate_probability=0.3),
        "reordering 30 ms": lambda: LinkFaults(reorder_s=0.03),
        f"outage {min(20.0, duration_s / 3):.0f} s mid-pass": lambda: LinkFaults(
            outages=((mid - min(10.0, duration_s / 6), mid + min(10.0, duration_s / 6)),)),
        "tampered PA instruction (up)": lambda: LinkFaults(
            tamper_uplink=MessageTamper(Kind.PA_INSTRUCTION, occurrence=1)),
        "tampered PA confirmation (down)": lambda: LinkFaults(
            tamper_downlink=MessageTamper(Kind.PA_CONFIRM, occurrence=1)),
    }


def simulate(mission: Mission, station: Station, window_s: float | None,
             seed: int) -> PassSimulation:
    if window_s is None:
        return simulate_pass(mission, station, seed=seed)
    selected = select_pass(mission, station)
    mid = 0.5 * (selected.window_start_unix_s + selected.window_end_unix_s)
    geometry = pass_geometry(selected.orbit, station, mid - window_s / 2, mid + window_s / 2)
    result = simulate_window(mission, station, geometry, seed=seed)
    return PassSimulation(mission.name, station.name, selected, geometry, result)


def row_from(summary: dict[str, Any], wall_s: float, duration_s: float) -> dict[str, Any]:
    blocks = summary["blocks"]
    keyed = [b for b in blocks if b["latency_s"] is not None]
    resolved = [b["t_s"] + b["latency_s"] for b in keyed]
    return {
        "keyed": len(keyed),
        "abandoned": len(blocks) - len(keyed),
        "mismatched": summary["mismatched_blocks"],
        "one_sided": summary["one_sided_blocks"],
        "key_bits": summary["final_key_bits"],
        "frames": f"{summary['frames_lost']:,} / {summary['frames_sent']:,}",
        "last_s": f"{max(resolved) - duration_s:+.1f}" if resolved else "-",
        "latency_s": (f"{np.median([b['latency_s'] for b in keyed]):.2f} / "
                      f"{max(b['latency_s'] for b in keyed):.2f}") if keyed else "-",
        "wall_s": f"{wall_s:.1f}",
        "error": "none",
    }


def failed_row(exc: BaseException, wall_s: float) -> dict[str, Any]:
    traceback.print_exception(exc, file=sys.stderr)
    return {"keyed": "-", "abandoned": "-", "mismatched": "-", "one_sided": "-",
            "key_bits": "-", "frames": "-", "last_s": "-", "latency_s": "-",
            "wall_s": f"{wall_s:.1f}", "error": type(exc).__name__}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=float, default=None,
                        help="seconds around the culmination, 100-kbit blocks (quick run)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-scale", type=float, default=10.0,
                        help="speed of the two-process run against real time")
    parser.add_argument("--no-udp", action="store_true", help="skip the two-process row")
    args = parser.parse_args()

    mission = load_mission("jinan1")
    if args.window is not None:
        protocol = mission.protocol.model_copy(update={"pa_block_bits": 100_000})
        mission = mission.model_copy(update={"protocol": protocol})
    station = mission.station("jinan")
    t0 = time.perf_counter()
    sim = simulate(mission, station, args.window, args.seed)
    sim_s = time.perf_counter() - t0
    duration_s = sim.geometry.duration_s
    # Warm the numba kernels so that compilation is not charged to the first scenario.
    run_pass(mission, station, simulation=sim, seed=args.seed)

    rows: list[tuple[str, dict[str, Any]]] = []
    for name, make in scenarios(duration_s).items():
        t1 = time.perf_counter()
        try:
            run = run_pass(mission, station, simulation=sim, seed=args.seed, faults=make())
            rows.append((name, row_from(run.summary(), time.perf_counter() - t1, duration_s)))
        except Exception as exc:  # the benchmark reports, never hides, an escape
            rows.append((name, failed_row(exc, time.perf_counter() - t1)))
        print(f"  done: {name}", file=sys.stderr, flush=True)
    if not args.no_udp:
        name = f"two processes, UDP, +10 % loss ({args.time_scale:g}×)"
        t1 = time.perf_counter()
        try:
            two = run_pass_two_processes(mission, station, sim, seed=args.seed,
                                         faults=LinkFaults(extra_loss=0.1),
                                         time_scale=args.time_scale)
            rows.append((name, row_from(two.summary(), time.perf_counter() - t1, duration_s)))
        except Exception as exc:
            rows.append((name, failed_row(exc, time.perf_counter() - t1)))

    what = (f"reference pass, {duration_s:.0f} s, 500-kbit blocks" if args.window is None
            else f"{duration_s:.0f} s around the reference pass's culmination, 100-kbit blocks")
    print(f"protocol_faults benchmark: Jinan-1 → Jinan, {what}, seed {args.seed}")
    print(f"  simulation {sim_s:.1f} s wall, {len(sim.result.ground):,} detections")
    head = ("scenario", "keyed", "abandoned", "mismatched", "one-sided", "key bits",
            "frames lost / sent", "last block (s after pass)", "latency s (median / max)", "wall s",
            "exception")
    keys = ("keyed", "abandoned", "mismatched", "one_sided", "key_bits", "frames", "last_s",
            "latency_s", "wall_s", "error")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, r in rows:
        cells = [f"{r[k]:,}" if isinstance(r[k], int) else str(r[k]) for k in keys]
        print("| " + " | ".join([name, *cells]) + " |")
    cpu = platform.processor() or platform.machine()
    print(f"  machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}")
    ok = all(r["error"] == "none" and r["mismatched"] == 0 and r["one_sided"] == 0
             for _, r in rows)
    print("  musts (no mismatched or one-sided block, no exception): "
          + ("met" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
