"""Benchmark: ETSI GS QKD 014 key delivery, enc_keys + dec_keys pairs over mutual TLS.

Starts ``satqkd keys serve`` as a separate process on 127.0.0.1 with a throw-away PKI
and two node stores (link jinan–hefei) filled with key material, then drives it: each
*pair* is a master SAE's ``GET enc_keys`` (one 256-bit key) followed by the slave
SAE's ``POST dec_keys`` for that key, the two keys compared. Runs with 1 client and
with 50 concurrent clients in a closed loop (each starts its next pair when the last is
done: the service's capacity), and 50 clients paced at 1,000 and 1,500 pairs/s in all
(the goal's load: latency at a given rate), for a fixed time each, and reports pairs/s,
p50/p99 pair latency and the number of keys delivered twice (key IDs or key bytes seen
twice; must be 0).

The client must not be the bottleneck: each client holds two persistent TLS
connections (one per SAE, handshakes before timing) and speaks HTTP/1.1 itself over
asyncio streams (uvloop when installed); httpx costs several times the CPU per
request of the server itself. Reported with each row: CPU milliseconds per pair of
the server process and of the client process (a figure that, unlike pairs/s, hardly
depends on what else the machine runs), and the machine's load.

Also reports the same pair without HTTP, the storage bound, two ways: direct
:class:`Kme` calls (one ``synchronous=FULL`` transaction per store call: three
fsyncs per pair) and through the service's group committer with one caller (two WAL
syncs per pair, the minimum: ``enc_keys`` durable at the slave end, then
``dec_keys``); and the disk's fsync latency just before the run. On a busy disk the
1-client figure is bound by two fsyncs in sequence per pair. ``--store-dir
/dev/shm`` puts the stores on tmpfs (fsync free) to show the CPU bound.

Usage: ``python benchmarks/kms.py [--seconds 8] [--clients 1 50] [--store-dir DIR]``.
Loopback only; the clients share the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import platform
import random
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

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
    """Client context of SAE ``sae``: trusts the loopback CA, presents the SAE's certificate."""
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    ctx.load_cert_chain(str(pki.clients[sae].cert), str(pki.clients[sae].key))
    return ctx


class Connection:
    """One persistent HTTP/1.1 connection over TLS (responses must carry Content-Length)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, ctx: ssl.SSLContext) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
        return cls(reader, writer)

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send one request, return (status, decoded JSON body)."""
        head = f"{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        if body is None:
            self.writer.write((head + "\r\n").encode())
        else:
            data = json.dumps(body).encode()
            head += f"content-type: application/json\r\ncontent-length: {len(data)}\r\n\r\n"
            self.writer.write(head.encode() + data)
        header = await self.reader.readuntil(b"\r\n\r\n")
        match = re.search(rb"(?i)\r\ncontent-length: *(\d+)", header)
        if match is None:
            raise RuntimeError(f"response without content-length: {header!r}")
        payload = await self.reader.readexactly(int(match.group(1)))
        return int(header[9:12]), json.loads(payload)

    def close(self) -> None:
        self.writer.transport.abort()


def start_server(paths: list[Path], pki: LoopbackPki, sae_map: Path, log: Path) -> tuple:
    """``satqkd keys serve`` over the stores on a free port; (process, log file, port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [sys.executable, "-m", "satqkd.cli.main", "keys", "serve", "--port", str(port)]
    args += ["--cert", str(pki.server.cert), "--key", str(pki.server.key)]
    args += ["--ca", str(pki.ca_cert), "--sae-map", str(sae_map)]
    for p in paths:
        args += ["--db", str(p)]
    out = log.open("w")
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    ctx = ssl_context(pki, "alice")
    deadline = time.monotonic() + 30

    async def probe() -> int:
        conn = await Connection.open(port, ctx)
        status, _ = await conn.request("GET", "/api/v1/keys/bob/status")
        conn.close()
        return status

    while True:
        try:
            if asyncio.run(probe()) == 200:
                return proc, out, port
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"server did not start: {log.read_text()}")
        time.sleep(0.1)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(
    port: int, pki: LoopbackPki, n_clients: int, seconds: float, rate_hz: float | None = None
) -> dict:
    """``n_clients`` workers doing pairs until ``seconds`` elapse; latencies and what was seen.

    Closed loop (``rate_hz`` None): each worker starts its next pair as soon as the last
    one is done, so the figures are the service's capacity and latency under saturation.
    Paced (``rate_hz`` pairs/s in all): each worker starts its pairs on a fixed schedule
    and a pair's latency runs from its *scheduled* start, so time spent behind schedule
    counts (no coordinated omission).
    """
    latencies: list[float] = []
    seen_ids: list[str] = []
    seen_keys: list[bytes] = []
    errors: Counter[int] = Counter()
    mismatches = 0
    ctx_a, ctx_b = ssl_context(pki, "alice"), ssl_context(pki, "bob")
    start = asyncio.Event()
    deadline = [float("inf")]
    rnd = random.Random(n_clients)

    async def worker() -> None:
        nonlocal mismatches
        alice = await Connection.open(port, ctx_a)  # TLS handshakes before timing
        bob = await Connection.open(port, ctx_b)
        await alice.request("GET", "/api/v1/keys/bob/status")
        await bob.request("GET", "/api/v1/keys/alice/status")
        await start.wait()
        period_s = n_clients / rate_hz if rate_hz else 0.0
        scheduled = time.perf_counter() + period_s * rnd.random()
        while time.perf_counter() < deadline[0]:
            if rate_hz:
                await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
                t0, scheduled = scheduled, scheduled + period_s
            else:
                t0 = time.perf_counter()
            code, enc = await alice.request("GET", "/api/v1/keys/bob/enc_keys")
            if code != 200:
                errors[code] += 1
                continue
            (key,) = enc["keys"]
            ids = {"key_IDs": [{"key_ID": key["key_ID"]}]}
            code, dec = await bob.request("POST", "/api/v1/keys/alice/dec_keys", ids)
            if code != 200:
                errors[code] += 1
                continue
            latencies.append(time.perf_counter() - t0)
            (back,) = dec["keys"]
            mismatches += back != key
            seen_ids.append(key["key_ID"])
            seen_keys.append(base64.b64decode(key["key"]))
        alice.close()
        bob.close()

    tasks = [asyncio.create_task(worker()) for _ in range(n_clients)]
    await asyncio.sleep(0.5 + 0.03 * n_clients)  # let every worker connect
    # A full garbage collection over this process's start-up heap (numpy, cryptography,
    # satqkd) stalls the client ~50 ms; frozen, the stalls measured are the server's.
    gc.collect()
    gc.freeze()
    t0, cpu0 = time.perf_counter(), time.process_time()
    deadline[0] = t0 + seconds
    start.set()
    await asyncio.gather(*tasks)
    elapsed, client_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    twice = sum(c - 1 for c in Counter(seen_ids).values() if c > 1)
    twice += sum(c - 1 for c in Counter(seen_keys).values() if c > 1)
    lat_ms = np.array(latencies or [np.nan]) * 1e3
    return {
        "pairs": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": float(np.percentile(lat_ms, 50)),
        "p99": float(np.percentile(lat_ms, 99)),
        "twice": twice,
        "mismatch": mismatches,
        "errors": dict(errors),
        "client_cpu_ms": client_cpu / max(1, len(latencies)) * 1e3,
    }


def run_client(coro: Coroutine[Any, Any, dict]) -> dict:
    """Run the client's coroutine on uvloop when installed, else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def library_pairs(root: Path, seconds: float) -> dict:
    """The same pair without HTTP or TLS: direct KME calls on the stores."""
    stores = [KeyStore(root / "jinan.db"), KeyStore(root / "hefei.db")]
    kme = Kme(stores, SaeMap({"alice": "jinan", "bob": "hefei"}))
    lat, ids = [], []
    cpu0 = time.process_time()
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        t0 = time.perf_counter()
        (key,) = kme.enc_keys("alice", "bob", KeyRequest()).keys
        (back,) = kme.dec_keys("bob", "alice", [key.key_id]).keys
        lat.append(time.perf_counter() - t0)
        assert back.key == key.key
        ids.append(key.key_id)
    cpu = time.process_time() - cpu0
    for store in stores:
        store.close()
    return _in_process_result(lat, ids, cpu)


def committed_pairs(root: Path, seconds: float) -> dict:
    """The pair without HTTP through the service's group committer, one caller at a time."""
    stores = [KeyStore(root / "jinan.db"), KeyStore(root / "hefei.db")]
    kme = Kme(stores, SaeMap({"alice": "jinan", "bob": "hefei"}))
    committer = kme.group_committer()
    lat: list[float] = []
    ids: list[str] = []

    async def pairs() -> None:
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            (key,) = await committer.call(kme.enc_key_material, "alice", "bob", KeyRequest())
            back = await committer.call(kme.dec_key_material, "bob", "alice", [key[0]])
            lat.append(time.perf_counter() - t0)
            assert back == [key]
            ids.append(key[0])

    cpu0 = time.process_time()
    run_client(pairs())  # type: ignore[arg-type]
    cpu = time.process_time() - cpu0
    committer.close()
    for store in stores:
        store.close()
    return _in_process_result(lat, ids, cpu)


def _in_process_result(lat: list[float], ids: list[str], cpu_s: float) -> dict:
    """The result row of an in-process run (no HTTP: all CPU is the store's)."""
    lat_ms = np.array(lat) * 1e3
    return {
        "pairs": len(lat),
        "rate": len(lat) / sum(lat),
        "p50": float(np.median(lat_ms)),
        "p99": float(np.percentile(lat_ms, 99)),
        "twice": len(ids) - len(set(ids)),
        "mismatch": 0,
        "errors": {},
        "server_cpu_ms": cpu_s / len(lat) * 1e3,
        "client_cpu_ms": 0.0,
    }


def fsync_latency_ms(directory: Path, n: int = 50) -> float:
    """Median latency of an 8-KiB overwrite + fdatasync in ``directory`` (the WAL's pattern)."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        os.write(fd, bytes(8192 * n))
        os.fsync(fd)
        times = []
        for i in range(n):
            os.pwrite(fd, os.urandom(8192), 8192 * i)
            t0 = time.perf_counter()
            os.fdatasync(fd)
            times.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        path.unlink()
    return float(np.median(times) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="timed run per scenario")
    parser.add_argument("--clients", type=int, nargs="*", default=[1, 50], help="closed loop")
    parser.add_argument(
        "--paced",
        nargs="*",
        default=["50:1000", "50:1500"],
        help="paced runs CLIENTS:PAIRS_PER_S (all clients together)",
    )
    parser.add_argument("--blocks", type=int, default=64, help="500-kbit blocks per store")
    parser.add_argument("--store-dir", type=Path, default=None, help="where the stores live")
    args = parser.parse_args()
    rows = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="satqkd-kms-", dir=args.store_dir) as tmp:
        root = Path(tmp)
        fsync_ms = fsync_latency_ms(root)
        paths = fill_stores(root, args.blocks)
        pki = make_loopback_pki(root / "pki", ["alice", "bob"])
        sae_map = root / "sae-map.toml"
        sae_map.write_text('[sae]\nalice = "jinan"\nbob = "hefei"\n')
        rows.append(("library, no HTTP", 1, library_pairs(root, min(args.seconds, 3.0))))
        rows.append(("library, group commit", 1, committed_pairs(root, min(args.seconds, 3.0))))
        proc, out, port = start_server(paths, pki, sae_map, root / "serve.log")
        try:
            runs = [(n, None) for n in args.clients]
            runs += [(int(c), float(r)) for c, r in (x.split(":") for x in args.paced)]
            for n, rate in runs:
                cpu0 = process_cpu_s(proc.pid)
                result = run_client(drive(port, pki, n, args.seconds, rate))
                cpu = process_cpu_s(proc.pid) - cpu0
                result["server_cpu_ms"] = cpu / max(1, result["pairs"]) * 1e3
                name = f"paced {rate:.0f}/s" if rate else "closed loop"
                rows.append((f"HTTPS mTLS, {name}", n, result))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            out.close()
        log = (root / "serve.log").read_text()
        with KeyStore(paths[1]) as slave:
            delivered = len(slave.list_keys(LINK, "delivered"))
        served = sum(r[2]["pairs"] for r in rows)
    load_after = os.getloadavg()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite WAL synchronous=FULL; "
        f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; "
        f"fdatasync {fsync_ms:.2f} ms (median) in {args.store_dir or tempfile.gettempdir()}"
    )
    header = (
        f"{'scenario':<26}{'clients':>8}{'pairs':>8}{'pairs/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'twice':>7}{'mismatch':>10}{'srv cpu ms':>12}{'cli cpu ms':>12}  errors"
    )
    print(header)
    for name, n, r in rows:
        print(
            f"{name:<26}{n:>8}{r['pairs']:>8}{r['rate']:>10.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}"
            f"{r['twice']:>7}{r['mismatch']:>10}{r['server_cpu_ms']:>12.3f}"
            f"{r['client_cpu_ms']:>12.3f}  {r['errors'] or '-'}"
        )
    print(f"slave store: {delivered} keys delivered, {served} pairs counted by the clients")
    for line in log.splitlines():
        if line.startswith("group commit"):
            print(f"server {line}")


if __name__ == "__main__":
    main()
