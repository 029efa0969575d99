"""Privacy-amplification and polynomial-hash throughput, on one core.

Toeplitz hashing (``satqkd.distill.amplification.toeplitz_hash``: tiled Karatsuba over SIMD
carry-less multiplies) against the plain float64 FFT Toeplitz product (``scipy.fft`` real FFT,
``toeplitz_hash_fft``, one worker) on the same key and seed, for input blocks of 100 kbit to
1 Mbit and outputs of ``--fractions`` of the input (the protocol's final keys are ~20–40 % of a
block). Throughput is input bits per second of wall time of one call, best of ``--repeat``
(key and seed as the protocol holds them: 0/1 uint8 arrays, packing included); ``--clock cpu``
times this thread's CPU time instead, steadier on a shared machine. The outputs of the two
methods are compared bit for bit.

Then the polynomial hash over GF(2^127 − 1) as the protocol uses it: the verification tag of
a 100-kbit corrected packet (``verification_tag``), the hash of a 1-MB buffer (``poly_hash``)
and Wegman–Carter tag + verify of 1-kB and 100-kB messages.

Run: ``python benchmarks/amplification.py`` (about half a minute); ``--quick`` for three
sizes.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

import numba
import numpy as np

from satqkd.distill import clmul
from satqkd.distill.amplification import toeplitz_hash, toeplitz_hash_fft, toeplitz_seed
from satqkd.distill.authentication import WegmanCarter, shared_pools
from satqkd.distill.polyhash import field_key, poly_hash
from satqkd.distill.verification import verification_tag

CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.thread_time}


def best_time_s(fn: Callable[[], object], repeat: int, clock: Callable[[], float]) -> float:
    """Shortest time of ``repeat`` calls (after one warm-up call), on ``clock``."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = clock()
        fn()
        best = min(best, clock() - t0)
    return best


def toeplitz_rows(sizes: list[int], fractions: list[float], repeat: int, fft: bool,
                  clock: Callable[[], float]) -> list[dict]:
    """One row per (input, output) size: fast and FFT times, throughput, agreement."""
    rng = np.random.default_rng(2022)
    rows = []
    for n in sizes:
        x = rng.integers(0, 2, n, dtype=np.uint8)
        for fraction in fractions:
            m = round(fraction * n)
            s = toeplitz_seed(n, m, rng)
            fast_s = best_time_s(lambda x=x, s=s, m=m: toeplitz_hash(x, s, m), repeat,
                                 clock)
            row = {"n": n, "m": m, "fast_s": fast_s, "fft_s": float("nan"), "same": None}
            if fft:
                row["fft_s"] = best_time_s(lambda x=x, s=s, m=m: toeplitz_hash_fft(x, s, m),
                                           max(1, repeat // 2), clock)
                row["same"] = bool(np.array_equal(toeplitz_hash(x, s, m),
                                                  toeplitz_hash_fft(x, s, m)))
            rows.append(row)
            print(_format_row(row), flush=True)
    return rows


def _format_row(row: dict) -> str:
    """A markdown table row: sizes, fast time and throughput, FFT time and throughput."""
    n, m = row["n"], row["m"]
    cells = [f"{n:,}", f"{m:,}", f"{row['fast_s'] * 1e3:.2f}", f"{n / row['fast_s'] / 1e6:.0f}"]
    if np.isnan(row["fft_s"]):
        cells += ["–"] * 4
    else:
        cells += [f"{row['fft_s'] * 1e3:.1f}", f"{n / row['fft_s'] / 1e6:.1f}",
                  f"{row['fft_s'] / row['fast_s']:.0f}×", "yes" if row["same"] else "NO"]
    return "| " + " | ".join(cells) + " |"


def hash_rows(repeat: int, clock: Callable[[], float]) -> None:
    """Polynomial-hash throughput in the protocol's uses."""
    rng = np.random.default_rng(7)
    packet = rng.integers(0, 2, 100_000, dtype=np.uint8)
    seed = rng.bytes(16)
    buffer = rng.bytes(1_000_000)
    key = field_key(rng.bytes(16))
    sender, receiver = (WegmanCarter(pool) for pool in shared_pools(1, 1 << 20))
    small, large = rng.bytes(1000), rng.bytes(100_000)

    def tag_and_verify(message: bytes, index: int) -> bool:
        return receiver.verify(message, sender.tag(message, index), index)

    cases = [
        ("verification tag, 100-kbit packet (0/1 array)", 100_000,
         lambda: verification_tag(packet, seed)),
        ("poly_hash, 1-MB buffer", 8_000_000, lambda: poly_hash(buffer, key)),
        ("Wegman–Carter tag + verify, 1-kB message", 2 * 8_000,
         lambda: tag_and_verify(small, 0)),
        ("Wegman–Carter tag + verify, 100-kB message", 2 * 800_000,
         lambda: tag_and_verify(large, 1)),
    ]
    print("\n| polynomial hash (GF(2^127 − 1)) | µs per call | Mbit/s hashed |")
    print("|---|---:|---:|")
    for label, bits, fn in cases:
        t = best_time_s(fn, 10 * repeat, clock)
        print(f"| {label} | {t * 1e6:.1f} | {bits / t / 1e6:,.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(k * 100_000) for k in range(1, 11)),
                        help="comma list of input block sizes in bits")
    parser.add_argument("--fractions", default="0.2,0.3,0.4",
                        help="comma list of output length / input length")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per size (best)")
    parser.add_argument("--no-fft", action="store_true", help="skip the scipy FFT comparison")
    parser.add_argument("--quick", action="store_true", help="100 kbit, 500 kbit, 1 Mbit only")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this thread's CPU time (steadier on a busy machine)")
    args = parser.parse_args()
    clock = CLOCKS[args.clock]
    sizes = ([100_000, 500_000, 1_000_000] if args.quick
             else [int(s) for s in args.sizes.split(",")])
    fractions = [float(f) for f in args.fractions.split(",")]

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
          f"(one used); carry-less multiply: {clmul.CLMUL_MODE}; numba {numba.__version__}; "
          f"{args.clock} time, best of {args.repeat}\n")
    print("| input bits | output bits | fast ms | fast Mbit/s | FFT ms | FFT Mbit/s | "
          "speed-up | same bits |")
    print("|---:|---:|---:|---:|---:|---:|---:|:---:|")
    rows = toeplitz_rows(sizes, fractions, args.repeat, not args.no_fft, clock)
    if any(r["same"] is False for r in rows):
        raise SystemExit("the fast and the FFT Toeplitz products differ")
    hash_rows(args.repeat, clock)


if __name__ == "__main__":
    main()
