"""Benchmark: photon-level simulation of the 300-s Jinan-1 reference pass.

Runs ``simulate_pass`` on the Jinan-1 reference pass (Jinan, 25 Sep 2022, 34.1°, 300 s of
QKD at 625 MHz: 1.9e11 pulses) in a fresh Python process, twice: the first run includes
loading the numba caches (and compiling, if the cache is cold); the second is warm. It
prints the wall time of each, the speed against real time (goal ≥ 30× on the reference
machine), the process's peak resident memory (``ru_maxrss``; goal < 1.5 GB), and what the
pass produced: detections, sifted bits, 100-kbit packets after the 10 % QBER sample (SPEC
§10: 20 packets), the true QBER and the detections whose pulse index was recovered wrongly.

``--duration S`` simulates S seconds around the culmination instead (quick look);
``--profile`` runs the warm pass under cProfile and prints the top functions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from typing import Any

REFERENCE_S = 300.0
GOAL_SPEEDUP = 30.0
GOAL_PEAK_MB = 1500.0


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports kB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def child(duration_s: float | None, runs: int, seed: int, profile: bool) -> None:
    """Simulate the pass ``runs`` times in this process; print one JSON line of figures."""
    t0 = time.perf_counter()
    import numpy as np

    from satqkd.config import load_mission
    from satqkd.simulate.pass_simulation import simulate_pass

    mission = load_mission("jinan1")
    station = mission.station("jinan")
    out: dict[str, Any] = {"import_s": time.perf_counter() - t0, "runs": []}
    sim = None
    for i in range(runs):
        sim = None  # free the previous run's records before measuring the next one
        t1 = time.perf_counter()
        if profile and i == runs - 1:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            sim = profiler.runcall(simulate_pass, mission, station, duration_s=duration_s,
                                   seed=seed)
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("tottime").print_stats(15)
        else:
            sim = simulate_pass(mission, station, duration_s=duration_s, seed=seed)
        wall_s = time.perf_counter() - t1
        out["runs"].append({"wall_s": wall_s, "engine_s": sim.result.wall_time_s,
                            "peak_rss_mb": peak_rss_mb()})
    assert sim is not None
    res = sim.result
    truth = res.truth
    protocol = mission.protocol
    sifted = truth.basis_match
    signal_sifted = sifted & (truth.intensity_class == 0)
    key_bits = int(sifted.sum() * (1.0 - protocol.sampling_fraction))
    out |= {
        "duration_s": sim.geometry.duration_s,
        "max_elevation_deg": sim.geometry.max_elevation_deg,
        "pulses_sent": res.satellite.pulses_sent,
        "raw_clicks": res.ground.raw_clicks,
        "detections": len(res.ground),
        "sifted": int(sifted.sum()),
        "key_bits_after_sampling": key_bits,
        "packets": key_bits // protocol.packet_bits,
        "qber_sifted": float(truth.bit_error[sifted].mean()),
        "qber_signal": float(truth.bit_error[signal_sifted].mean()),
        "mis_indexed": int(truth.mis_indexed.sum()),
        "mis_indexed_signal": int(np.sum(truth.mis_indexed & truth.signal_click)),
    }
    print(json.dumps(out))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {sys.platform}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds around the culmination (default: the 300-s reference)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="cProfile the last run")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.duration, args.runs, args.seed, args.profile)
        return
    cmd = [sys.executable, __file__, "--child", "--seed", str(args.seed), "--runs",
           str(args.runs)]
    if args.duration is not None:
        cmd += ["--duration", str(args.duration)]
    if args.profile:
        cmd.append("--profile")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    r = json.loads(proc.stdout.strip().splitlines()[-1])

    duration_s = r["duration_s"]
    rows: list[tuple[str, str]] = [
        ("pass", f"Jinan-1 → Jinan reference, {duration_s:.0f} s, max el "
                 f"{r['max_elevation_deg']:.2f}°, seed {args.seed}"),
        ("import satqkd (fresh process)", f"{r['import_s']:.2f} s"),
    ]
    for i, run in enumerate(r["runs"]):
        label = "first run (numba cache load)" if i == 0 else f"run {i + 1} (warm)"
        rows.append((f"{label}: wall time",
                     f"{run['wall_s']:.2f} s  ({duration_s / run['wall_s']:.1f}× real time)"))
        rows.append((f"{label}: peak RSS", f"{run['peak_rss_mb']:.0f} MB"))
    rows += [
        ("pulses sent", f"{r['pulses_sent']:,}"),
        ("raw clicks (all, before gate)", f"{r['raw_clicks']:,}"),
        ("detections (gated events)", f"{r['detections']:,}"),
        ("sifted bits", f"{r['sifted']:,}"),
        ("key bits after 10% sample", f"{r['key_bits_after_sampling']:,}"),
        ("100-kbit packets (SPEC §10: 20)", f"{r['packets']}"),
        ("true QBER, sifted (all classes)", f"{100 * r['qber_sifted']:.3f} %"),
        ("true QBER, sifted signal class", f"{100 * r['qber_signal']:.3f} %"),
        ("mis-indexed detections (signal)",
         f"{r['mis_indexed']:,} ({r['mis_indexed_signal']:,}),"
         f" {r['mis_indexed'] / max(r['detections'], 1):.1e} of detections"),
    ]
    warm = r["runs"][-1]
    speedup = duration_s / warm["wall_s"]
    peak = max(run["peak_rss_mb"] for run in r["runs"])
    verdict = "met" if speedup >= GOAL_SPEEDUP and peak < GOAL_PEAK_MB else "MISSED"
    rows.append(("goal ≥ 30× real time, < 1.5 GB",
                 f"{verdict} ({speedup:.1f}×, {peak:.0f} MB)"))
    rows.append(("machine", machine()))
    width = max(len(k) for k, _ in rows)
    print("simulate_pass benchmark")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")


if __name__ == "__main__":
    main()
