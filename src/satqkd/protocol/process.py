"""One actor per process: ``python -m satqkd.protocol.process {satellite,ground} SETUP ...``.

The process reads only its own party's file (:mod:`satqkd.protocol.parties`: the
satellite's seed, or the ground's detections), imports only its own actor, talks to the
peer process over UDP (:class:`~satqkd.protocol.transport.UdpTransport`) through the
simulated optical channel of its transmit direction, and writes what it ended with to a
JSON result file: its final-key blocks (bits as hex), per-block states, endpoint and link
counters, and the ``satqkd`` modules it had loaded (so a test can check that neither
actor's code was present in the other's process).

Clock: pass time 0 is ``--start-at`` (Unix time) or, with ``--wait-stdin``, the Unix time
the process reads from its standard input after printing ``READY`` (how
:mod:`satqkd.protocol.two_process` starts both at once); otherwise it starts when the
process starts. ``--time-scale`` runs the pass faster than real time (the repetition
interval scales with it, so the wall-clock traffic stays the same).

Example (two terminals, same machine)::

    python -m satqkd.protocol.process ground ground.npz --bind 127.0.0.1:47001 \\
        --peer 127.0.0.1:47000 --out ground.json
    python -m satqkd.protocol.process satellite sat.npz --bind 127.0.0.1:47000 \\
        --peer 127.0.0.1:47001 --out sat.json
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from satqkd.protocol.driver import run_actor
from satqkd.protocol.transport import PassClock, UdpTransport

RETRANSMIT_WALL_S = 0.2
"""Repetition interval between processes (wall s): longer than the in-memory default, as a
real peer may be busy decoding for a while before it can acknowledge."""
LINGER_RETRANSMITS = 5
"""After Close, the satellite answers repetitions for this many intervals, and the ground
waits as long again for Close to be acknowledged (its keys are already stored)."""


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m satqkd.protocol.process",
                                description="Run one QKD actor over UDP.")
    p.add_argument("role", choices=("satellite", "ground"))
    p.add_argument("setup", type=Path, help="the party's setup file (.npz)")
    p.add_argument("--bind", type=_address, default=("127.0.0.1", 0),
                   help="HOST:PORT to receive on")
    p.add_argument("--fd", type=int, default=None, help="an already bound UDP socket's fd")
    p.add_argument("--peer", type=_address, required=True, help="the peer's HOST:PORT")
    p.add_argument("--out", type=Path, required=True, help="result file (JSON)")
    p.add_argument("--time-scale", type=float, default=1.0)
    p.add_argument("--retransmit-wall-s", type=float, default=RETRANSMIT_WALL_S,
                   help="repetition interval of unacknowledged messages, wall-clock s")
    p.add_argument("--start-at", type=float, default=None, help="Unix time of pass time 0")
    p.add_argument("--wait-stdin", action="store_true",
                   help="print READY, read the start time from standard input")
    p.add_argument("--deadline-s", type=float, default=None,
                   help="stop at this pass time (default: end of detections + 120 s)")
    p.add_argument("--link-seed", type=int, default=0, help="seed of the channel's faults")
    p.add_argument("--no-warm-up", action="store_true",
                   help="skip loading the numba kernels and a code before the pass")
    p.add_argument("--no-channel", action="store_true",
                   help="send frames straight to the socket (no simulated optical channel)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one party; returns 0 when it finished, 1 when it hit the deadline."""
    args = _parser().parse_args(argv)
    if args.role == "satellite":
        from satqkd.protocol.parties import SatelliteSetup

        setup, profile = SatelliteSetup.load(args.setup)
        horizon = float(profile.t_s[-1]) if profile is not None else 0.0
    else:
        from satqkd.protocol.parties import GroundSetup

        setup, profile = GroundSetup.load(args.setup)  # type: ignore[assignment]
        times = setup.record.detection_time_s  # type: ignore[attr-defined]
        horizon = float(times[-1]) if len(times) else 0.0
    # The repetition interval is set in wall-clock terms: scale it to pass time.
    setup.retransmit_s = args.retransmit_wall_s * args.time_scale
    actor = setup.build()
    if not args.no_warm_up:
        warm_up(actor, setup.protocol)
    if args.fd is not None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, fileno=args.fd)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(args.bind)
    start = args.start_at
    if args.wait_stdin:
        print("READY", flush=True)
        start = float(sys.stdin.readline())
    clock = PassClock(start, args.time_scale)
    timeline = _record_deliveries(actor, clock)
    channel = None if args.no_channel or profile is None else profile.direction()
    transport = UdpTransport(sock, args.peer, clock, channel, seed=args.link_seed)
    deadline = args.deadline_s if args.deadline_s is not None else horizon + 120.0
    linger = LINGER_RETRANSMITS * setup.retransmit_s
    try:
        result = run_actor(actor, transport, clock, deadline_s=deadline,
                           linger_s=linger if args.role == "satellite" else 0.0,
                           drain_s=linger)
    finally:
        transport.close()
    report = _report(args.role, actor, result, transport, channel)
    report["timeline"] = timeline
    args.out.write_text(json.dumps(report), encoding="utf-8")
    return 0 if result.finished else 1


def warm_up(actor: Any, protocol: Any) -> None:
    """Run each post-processing kernel once on throw-away data before the pass.

    A fresh process loads numba's compiled kernels and the LDPC codes from disk on first
    use (≈ 0.5–1 s); on board and at the station the software is loaded before the pass,
    so this is done before the clock starts, not charged to the first block.
    """
    from satqkd.distill.amplification import toeplitz_hash
    from satqkd.distill.ldpc import CodeFamily
    from satqkd.distill.verification import verification_tag

    rng = np.random.default_rng(0)
    n = protocol.packet_bits
    bits = rng.integers(0, 2, n, dtype=np.uint8)
    code = CodeFamily.default().select(0.01, frame_bits=n)
    noisy = bits ^ (rng.random(n) < 0.01).astype(np.uint8)
    code.decode(code.syndrome(bits, rng), noisy, 0.01)
    verification_tag(bits, rng.bytes(16), protocol.verification_tag_bits)
    toeplitz_hash(bits, rng.integers(0, 2, 2 * n - 1, dtype=np.uint8), n)
    if hasattr(actor, "randomness"):
        actor.randomness.lookup(np.arange(16, dtype=np.uint64))


def _record_deliveries(actor: Any, clock: PassClock) -> list[tuple[float, str, str, int]]:
    """Log (pass time, "in"/"out", message kind, seq) of every message the actor's endpoint
    delivers or queues (for diagnosis: where a scaled-time run spends its time)."""
    from satqkd.protocol.messages import Kind

    log: list[tuple[float, str, str, int]] = []
    endpoint = actor.endpoint
    incoming, send = endpoint.incoming, endpoint.send

    def logged_in(frame: bytes) -> list[Any]:
        out = incoming(frame)
        log.extend((round(clock.now_s(), 4), "in", Kind(r.kind).name, r.seq) for r in out)
        return out

    def logged_send(message: Any) -> int:
        seq = send(message)
        log.append((round(clock.now_s(), 4), "out", Kind(message.KIND).name, seq))
        return seq

    endpoint.incoming, endpoint.send = logged_in, logged_send
    return log


def _report(role: str, actor: Any, result: Any, transport: UdpTransport,
            channel: Any) -> dict[str, Any]:
    keys = {str(b): {"bits_hex": np.packbits(k.bits).tobytes().hex(), "n_bits": int(k.bits.size),
                     "committed_s": k.committed_s, "packet_ids": list(k.packet_ids),
                     "epsilon": k.report.get("epsilon", {})}
            for b, k in actor.keys.items()}
    out: dict[str, Any] = {
        "role": role,
        "driver": asdict(result),
        "keys": keys,
        "endpoint": asdict(actor.endpoint.stats),
        "transport": asdict(transport.stats),
        "link": asdict(channel.stats) if channel is not None else None,
        "auth_key_bits_used": int(actor.endpoint.auth.outgoing.key_bits_used()),
        "modules": sorted(m for m in sys.modules if m.startswith("satqkd")),
        "wall_clock_end_unix_s": time.time(),
    }
    if role == "ground":
        out["blocks"] = [{"block_id": b.block_id, "state": b.state, "final_bits": b.final_bits,
                          "t_last_detection_s": b.t_last_detection_s,
                          "packets": list(b.packet_ids)}
                         for b in actor.state.blocks.values()]
        out["packets"] = [asdict(p) for p in actor.state.packets]
    else:
        out["blocks_abandoned"] = list(actor.state.blocks_abandoned)
        out["sifted_bits"] = int(actor.state.sifted_bits)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
