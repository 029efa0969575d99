"""Run a simulated pass with the satellite and the ground station as two OS processes.

:func:`run_pass_two_processes` writes each party's setup to its own file
(:mod:`satqkd.protocol.parties`), binds two UDP sockets on loopback, starts
``python -m satqkd.protocol.process`` once per party (each gets its own socket, file and
the peer's address, nothing else), starts both clocks at the same instant, waits for
both to finish and compares the final keys they wrote. The simulator's records stay in
this (parent) process; the children see only their own party's data.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from satqkd.config.models import Mission, Station
from satqkd.errors import SatqkdError
from satqkd.protocol.blocks import KeyBlock, KeyPairComparison
from satqkd.protocol.run import LINGER_S, LinkFaults, pass_link_profiles, pass_setups
from satqkd.simulate.pass_simulation import PassSimulation

STARTUP_TIMEOUT_S = 120.0
"""Wall-clock allowance for a child to import, load its file and say READY."""
LINGER_WALL_S = 30.0
"""Least wall-clock time the parties keep going after the pass: in scaled time the link's
120 s of linger (:data:`~satqkd.protocol.run.LINGER_S`) shrink, the processing does not."""


class TwoProcessError(SatqkdError):
    """A party process failed to start or to finish."""


@dataclass
class TwoProcessRun(KeyPairComparison):
    """Both processes' reports and final keys."""

    satellite_keys: dict[int, KeyBlock]
    ground_keys: dict[int, KeyBlock]
    satellite_report: dict[str, Any]
    ground_report: dict[str, Any]
    time_scale: float
    wall_time_s: float
    exit_codes: tuple[int, int] = (0, 0)
    notes: list[str] = field(default_factory=list)

    def blocks(self) -> list[dict[str, Any]]:
        """Per block: state, bits both hold, latency (pass s) from its last detection to
        both sides holding the key (None when not both hold it)."""
        out = []
        for b in self.ground_report["blocks"]:
            bid = int(b["block_id"])
            sat, gnd = self.satellite_keys.get(bid), self.ground_keys.get(bid)
            latency = None
            if sat is not None and gnd is not None:
                latency = max(sat.committed_s or 0.0, gnd.committed_s or 0.0) - float(
                    b["t_last_detection_s"])
            out.append({"block_id": bid, "t_s": round(float(b["t_last_detection_s"]), 3),
                        "state": b["state"],
                        "bits": int(gnd.bits.size) if latency is not None and gnd else 0,
                        "latency_s": latency, "packets": b["packets"]})
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-ready report (like ``satqkd pass --json``'s protocol part)."""
        sat_link = self.satellite_report.get("link") or {}
        gnd_link = self.ground_report.get("link") or {}
        return {
            "transport": "udp (two processes, loopback)",
            "time_scale": self.time_scale,
            "blocks": self.blocks(),
            "packets": self.ground_report["packets"],
            "final_key_bits": self.final_key_bits,
            "keys_match": self.keys_match,
            "mismatched_blocks": self.mismatched_blocks,
            "one_sided_blocks": self.one_sided_blocks,
            "frames_lost": int(sat_link.get("lost", 0)) + int(gnd_link.get("lost", 0)),
            "frames_sent": (self.satellite_report["transport"]["frames_sent"]
                            + self.ground_report["transport"]["frames_sent"]),
            "auth_key_bits_used": (self.satellite_report["auth_key_bits_used"]
                                   + self.ground_report["auth_key_bits_used"]),
            "finished": [self.satellite_report["driver"]["finished"],
                         self.ground_report["driver"]["finished"]],
            "wall_time_s": round(self.wall_time_s, 3),
            "notes": self.notes,
        }


def _keys(report: dict[str, Any]) -> dict[int, KeyBlock]:
    keys = {}
    for bid, k in report["keys"].items():
        packed = np.frombuffer(bytes.fromhex(k["bits_hex"]), dtype=np.uint8)
        bits = np.unpackbits(packed, count=int(k["n_bits"]))
        keys[int(bid)] = KeyBlock(int(bid), bits, tuple(k["packet_ids"]),
                                  {"epsilon": k.get("epsilon", {})}, k["committed_s"])
    return keys


def _udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def run_pass_two_processes(
    mission: Mission, station: Station, simulation: PassSimulation, *, seed: int = 1,
    faults: LinkFaults | None = None, time_scale: float = 1.0, channel: bool = True,
    workdir: Path | None = None, timeout_s: float | None = None,
) -> TwoProcessRun:
    """Run ``simulation``'s pass with one process per party over UDP on loopback.

    ``time_scale`` runs the pass that many times faster than real time; ``channel``
    False sends frames straight over the socket (no simulated optical channel);
    ``faults`` adds impairments to the simulated channel (tamper hooks are in-memory
    only and are ignored here). Raises :class:`TwoProcessError` if a process does not
    start or does not end within ``timeout_s`` wall seconds.
    """
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="satqkd-2p-") as tmp:
            return run_pass_two_processes(
                mission, station, simulation, seed=seed, faults=faults,
                time_scale=time_scale, channel=channel, workdir=Path(tmp), timeout_s=timeout_s)
    workdir.mkdir(parents=True, exist_ok=True)
    sat_setup, ground_setup = pass_setups(mission, simulation, seed)
    up, down = pass_link_profiles(mission, station, simulation.geometry, faults)
    sat_setup.save(workdir / "satellite.npz", down)
    ground_setup.save(workdir / "ground.npz", up)
    deadline_s = simulation.geometry.duration_s + max(LINGER_S, LINGER_WALL_S * time_scale)
    if timeout_s is None:
        timeout_s = STARTUP_TIMEOUT_S + deadline_s / time_scale + 30.0
    socks = {"satellite": _udp_socket(), "ground": _udp_socket()}
    ports = {role: s.getsockname()[1] for role, s in socks.items()}
    procs: dict[str, subprocess.Popen[str]] = {}
    wall0 = time.perf_counter()
    try:
        for i, (role, peer) in enumerate((("satellite", "ground"), ("ground", "satellite"))):
            fd = socks[role].fileno()
            cmd = [sys.executable, "-m", "satqkd.protocol.process", role,
                   str(workdir / f"{role}.npz"), "--fd", str(fd),
                   "--peer", f"127.0.0.1:{ports[peer]}", "--out", str(workdir / f"{role}.json"),
                   "--time-scale", str(time_scale), "--wait-stdin",
                   "--deadline-s", str(deadline_s), "--link-seed", str(seed * 2 + i)]
            if not channel:
                cmd.append("--no-channel")
            with open(workdir / f"{role}.stderr", "w", encoding="utf-8") as err:
                procs[role] = subprocess.Popen(
                    cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
                    pass_fds=(fd,), env=os.environ.copy())
        for s in socks.values():
            s.close()
        for role, proc in procs.items():
            line = proc.stdout.readline() if proc.stdout else ""  # blocks until READY
            if line.strip() != "READY":
                raise TwoProcessError(f"{role} process did not start: "
                                      + _stderr(workdir, role))
        epoch = time.time() + 0.05
        for proc in procs.values():
            assert proc.stdin is not None
            proc.stdin.write(f"{epoch!r}\n")
            proc.stdin.close()
        end = time.monotonic() + timeout_s
        codes = []
        for role, proc in procs.items():
            try:
                codes.append(proc.wait(timeout=max(0.1, end - time.monotonic())))
            except subprocess.TimeoutExpired:
                raise TwoProcessError(f"{role} process did not finish in {timeout_s:.0f} s: "
                                      + _stderr(workdir, role)) from None
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()
        for s in socks.values():
            s.close()
    wall = time.perf_counter() - wall0
    reports = {}
    for role in procs:
        path = workdir / f"{role}.json"
        if not path.exists():
            raise TwoProcessError(f"{role} process wrote no result: " + _stderr(workdir, role))
        reports[role] = json.loads(path.read_text(encoding="utf-8"))
    run = TwoProcessRun(_keys(reports["satellite"]), _keys(reports["ground"]),
                        reports["satellite"], reports["ground"], time_scale, wall,
                        (codes[0], codes[1]))
    if not all(r["driver"]["finished"] for r in reports.values()):
        run.notes.append("a party reached its deadline before the session closed")
    return run


def _stderr(workdir: Path, role: str) -> str:
    path = workdir / f"{role}.stderr"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return text[-2000:] or "(no output)"
