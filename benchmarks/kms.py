"""Benchmark: ETSI GS QKD 014 key delivery, enc_keys + dec_keys pairs over mutual TLS.

Starts ``satqkd keys serve`` as a separate process on 127.0.0.1 with a throw-away PKI
and two node stores (link jinan–hefei) filled with key material, then drives it with
httpx clients: each *pair* is a master SAE's ``GET enc_keys`` (one 256-bit key)
followed by the slave SAE's ``POST dec_keys`` for that key, the keys compared. Runs
with 1 client and with 50 concurrent clients (each its own keep-alive TLS
connections), for a fixed time each, and reports pairs/s, p50/p99 pair latency and
the number of keys delivered twice (key IDs or key bytes seen twice; must be 0).
Also reports the same pair without HTTP (direct :class:`Kme` calls), the storage
bound. Every commit is fsync'ed (SQLite WAL, synchronous=FULL): 3 per pair.

Usage: ``.venv/bin/python benchmarks/kms.py [--seconds 8] [--clients 1 50]``.
Loopback only; the clients share the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import platform
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np

from satqkd.keys import KeyStore, Provenance
from satqkd.keys.etsi014 import Kme, SaeMap
from satqkd.keys.etsi014.models import KeyRequest
from satqkd.keys.pki import LoopbackPki, make_loopback_pki

LINK = "jinan:hefei"
BLOCK_BYTES = 500_000 // 8  # the reference pass's privacy-amplification block, 500 kbit


def fill_stores(root: Path, n_blocks: int) -> list[Path]:
    """Stores of nodes jinan and hefei sharing ``n_blocks`` 500-kbit blocks of link jinan–hefei."""
    rng = np.random.default_rng(1)
    paths = [root / "jinan.db", root / "hefei.db"]
    stores = [KeyStore(paths[0], "jinan"), KeyStore(paths[1], "hefei")]
    for i in range(n_blocks):
        block = rng.bytes(BLOCK_BYTES)
        for store in stores:
            store.add_block(LINK, block, 1e-10, Provenance("bench", i))
    for store in stores:
        store.close()
    return paths


def ssl_context(pki: LoopbackPki, sae: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    ctx.load_cert_chain(str(pki.clients[sae].cert), str(pki.clients[sae].key))
    return ctx


def start_server(paths: list[Path], pki: LoopbackPki, sae_map: Path, log: Path) -> tuple:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [
        sys.executable,
        "-m",
        "satqkd.cli.main",
        "keys",
        "serve",
        "--port",
        str(port),
        "--cert",
        str(pki.server.cert),
        "--key",
        str(pki.server.key),
        "--ca",
        str(pki.ca_cert),
        "--sae-map",
        str(sae_map),
    ]
    for p in paths:
        args += ["--db", str(p)]
    out = log.open("w")
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    base = f"https://127.0.0.1:{port}"
    ctx = ssl_context(pki, "alice")
    deadline = time.monotonic() + 30
    while True:
        try:
            with httpx.Client(base_url=base, verify=ctx) as c:
                c.get("/api/v1/keys/bob/status").raise_for_status()
            return proc, out, base
        except httpx.TransportError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"server did not start: {log.read_text()}") from None
            time.sleep(0.1)


async def drive(base: str, pki: LoopbackPki, n_clients: int, seconds: float) -> dict:
    """``n_clients`` workers doing pairs until ``seconds`` elapse; latencies and what was seen."""
    latencies: list[float] = []
    seen_ids: list[str] = []
    seen_keys: list[bytes] = []
    mismatches = 0
    ctx_a, ctx_b = ssl_context(pki, "alice"), ssl_context(pki, "bob")
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    async def worker() -> None:
        nonlocal mismatches
        async with (
            httpx.AsyncClient(base_url=base, verify=ctx_a, limits=limits) as alice,
            httpx.AsyncClient(base_url=base, verify=ctx_b, limits=limits) as bob,
        ):
            await alice.get("/api/v1/keys/bob/status")  # TLS handshakes before timing
            await bob.get("/api/v1/keys/alice/status")
            await start.wait()
            while time.perf_counter() < deadline[0]:
                t0 = time.perf_counter()
                enc = await alice.get("/api/v1/keys/bob/enc_keys")
                (key,) = enc.json()["keys"]
                dec = await bob.post(
                    "/api/v1/keys/alice/dec_keys", json={"key_IDs": [{"key_ID": key["key_ID"]}]}
                )
                latencies.append(time.perf_counter() - t0)
                (back,) = dec.json()["keys"]
                mismatches += back != key
                seen_ids.append(key["key_ID"])
                seen_keys.append(base64.b64decode(key["key"]))

    start = asyncio.Event()
    deadline = [float("inf")]
    tasks = [asyncio.create_task(worker()) for _ in range(n_clients)]
    await asyncio.sleep(0.5 + 0.02 * n_clients)  # let every worker connect
    t0 = time.perf_counter()
    deadline[0] = t0 + seconds
    start.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    twice = sum(c - 1 for c in Counter(seen_ids).values() if c > 1)
    twice += sum(c - 1 for c in Counter(seen_keys).values() if c > 1)
    lat_ms = np.array(latencies) * 1e3
    return {
        "pairs": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": float(np.percentile(lat_ms, 50)),
        "p99": float(np.percentile(lat_ms, 99)),
        "twice": twice,
        "mismatch": mismatches,
    }


def library_pairs(root: Path, seconds: float) -> dict:
    """The same pair without HTTP or TLS: direct KME calls on the stores."""
    stores = [KeyStore(root / "jinan.db"), KeyStore(root / "hefei.db")]
    kme = Kme(stores, SaeMap({"alice": "jinan", "bob": "hefei"}))
    lat, ids = [], []
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        t0 = time.perf_counter()
        (key,) = kme.enc_keys("alice", "bob", KeyRequest()).keys
        (back,) = kme.dec_keys("bob", "alice", [key.key_id]).keys
        lat.append(time.perf_counter() - t0)
        assert back.key == key.key
        ids.append(key.key_id)
    for store in stores:
        store.close()
    lat_ms = np.array(lat) * 1e3
    return {
        "pairs": len(lat),
        "rate": len(lat) / sum(lat),
        "p50": float(np.median(lat_ms)),
        "p99": float(np.percentile(lat_ms, 99)),
        "twice": len(ids) - len(set(ids)),
        "mismatch": 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="timed run per scenario")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--blocks", type=int, default=6, help="500-kbit blocks per store")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="satqkd-kms-") as tmp:
        root = Path(tmp)
        paths = fill_stores(root, args.blocks)
        pki = make_loopback_pki(root / "pki", ["alice", "bob"])
        sae_map = root / "sae-map.toml"
        sae_map.write_text('[sae]\nalice = "jinan"\nbob = "hefei"\n')
        rows.append(("library, no HTTP", 1, library_pairs(root, min(args.seconds, 3.0))))
        proc, out, base = start_server(paths, pki, sae_map, root / "serve.log")
        try:
            for n in args.clients:
                rows.append(
                    ("HTTPS mTLS loopback", n, asyncio.run(drive(base, pki, n, args.seconds)))
                )
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            out.close()
        with KeyStore(paths[1]) as slave:
            delivered = len(slave.list_keys(LINK, "delivered"))
        served = sum(r[2]["pairs"] for r in rows)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite WAL synchronous=FULL"
    )
    print(
        f"{'scenario':<22}{'clients':>8}{'pairs':>8}{'pairs/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'twice':>7}{'mismatch':>10}"
    )
    for name, n, r in rows:
        print(
            f"{name:<22}{n:>8}{r['pairs']:>8}{r['rate']:>10.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}"
            f"{r['twice']:>7}{r['mismatch']:>10}"
        )
    print(f"slave store: {delivered} keys delivered, {served} pairs counted by the clients")


if __name__ == "__main__":
    main()
