"""The same actors in real (scaled) time over swappable transports: in-memory queues in two
threads, and UDP on loopback between two OS processes. Both must end with identical keys."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from satqkd.config import Mission, Station
from satqkd.protocol.driver import DriverResult, run_actor
from satqkd.protocol.run import LinkFaults, PassRun, pass_link_profiles, pass_setups
from satqkd.protocol.transport import PassClock, UdpTransport, memory_link
from satqkd.protocol.two_process import run_pass_two_processes
from satqkd.simulate.pass_simulation import PassSimulation

TIME_SCALE = 10.0
"""The 30-s pass runs in 3 s of wall time (plus processing). At 20× one CI run under
``-n 2`` saw the ground finish only at pass time 58 s and its ``Close`` never reach the
satellite; wall-clock processing delays cost half as much pass time at 10×."""
RETRANSMIT_WALL_S = 0.2


def test_udp_transport_carries_frames_and_drops_strangers() -> None:
    clock = PassClock()
    a = UdpTransport.bind("127.0.0.1", 0, ("127.0.0.1", 9), clock)
    b = UdpTransport.bind("127.0.0.1", 0, a.address, clock)
    a.peer = b.address
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        frames = [bytes([i]) * (100 + i) for i in range(50)]
        for f in frames:
            a.send(f)
        stranger.sendto(b"not from the peer", b.address)
        got: list[bytes] = []
        for _ in range(100):
            got += b.receive(0.05)
            if len(got) == len(frames):
                break
        assert sorted(got) == sorted(frames)
        b.receive(0.05)
        assert b.stats.datagrams_foreign == 1
    finally:
        a.close()
        b.close()
        stranger.close()


def test_udp_transport_applies_the_channel_delay() -> None:
    """A frame the channel delays by 0.5 pass-s (0.05 s at 10×) is held until then."""
    from satqkd.protocol.link import LinkDirection

    clock = PassClock(time_scale=10.0)
    channel = LinkDirection(lambda t: 0.5, lambda t: 0.0)
    b = UdpTransport.bind("127.0.0.1", 0, ("127.0.0.1", 9), clock)
    a = UdpTransport.bind("127.0.0.1", 0, b.address, clock, channel)
    b.peer = a.address
    try:
        t_sent = clock.now_s()
        a.send(b"x" * 100)
        assert b.receive(0.01) == []
        got: list[bytes] = []
        while not got and clock.now_s() < t_sent + 5.0:
            a.receive(0.005)  # the sender's loop releases held frames when due
            got = b.receive(0.005)
        assert got == [b"x" * 100]
        assert clock.now_s() - t_sent >= 0.5
    finally:
        a.close()
        b.close()


def test_memory_transport_in_two_threads(
    mission: Mission, station: Station, short_pass: PassSimulation, clean_run: PassRun
) -> None:
    sat_setup, ground_setup = pass_setups(mission, short_pass, seed=5,
                                          retransmit_s=RETRANSMIT_WALL_S * TIME_SCALE)
    satellite, ground = sat_setup.build(), ground_setup.build()
    up, down = pass_link_profiles(mission, station, short_pass.geometry,
                                  LinkFaults(extra_loss=0.2))
    clock = PassClock(time_scale=TIME_SCALE)
    sat_end, ground_end = memory_link(clock, up.direction(), down.direction(), seed=1)
    deadline = short_pass.geometry.duration_s + 120.0
    results: dict[str, DriverResult] = {}

    def run_satellite() -> None:
        results["satellite"] = run_actor(satellite, sat_end, clock, deadline_s=deadline,
                                         linger_s=5 * sat_setup.retransmit_s)

    thread = threading.Thread(target=run_satellite)
    thread.start()
    results["ground"] = run_actor(ground, ground_end, clock, deadline_s=deadline,
                                  drain_s=5 * ground_setup.retransmit_s)
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert results["ground"].finished and results["satellite"].finished
    assert set(satellite.keys) == set(ground.keys) == set(ground.state.blocks)
    assert len(ground.keys) >= 2
    for b, key in ground.keys.items():
        assert np.array_equal(key.bits, satellite.keys[b].bits)
        # real time, threads and loss change nothing: the simulated-time run's key
        assert np.array_equal(key.bits, clean_run.outcome.ground_keys[b].bits)
    assert sat_end.channel is not None and sat_end.channel.stats.lost > 0


@pytest.fixture(scope="module")
def udp_run(mission: Mission, station: Station, short_pass: PassSimulation,
            tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    workdir = tmp_path_factory.mktemp("two-process")
    run = run_pass_two_processes(mission, station, short_pass, seed=5, time_scale=TIME_SCALE,
                                 faults=LinkFaults(extra_loss=0.1), workdir=workdir,
                                 timeout_s=180.0)
    return run, workdir


def test_two_processes_over_udp_end_with_identical_keys(udp_run: tuple, clean_run: PassRun,
                                                        short_pass: PassSimulation) -> None:
    run, _ = udp_run
    assert run.exit_codes == (0, 0), run.notes
    assert run.keys_match and run.mismatched_blocks == 0 and run.one_sided_blocks == 0
    assert sorted(run.ground_keys) == [b["block_id"] for b in run.ground_report["blocks"]]
    assert len(run.ground_keys) >= 2 and run.final_key_bits > 15_000
    for b, key in run.ground_keys.items():  # the same keys as the in-memory session
        assert np.array_equal(key.bits, clean_run.outcome.ground_keys[b].bits)
    summary = run.summary()
    assert summary["frames_lost"] > 0  # the simulated channel (10 % extra loss) was there
    blocks = [b for b in summary["blocks"] if b["state"] == "key"]
    assert len(blocks) == len(run.ground_keys)
    for b in blocks:  # latency recorded per block, in pass seconds
        assert 0.0 < b["latency_s"] < 60.0


def test_each_process_holds_only_its_own_actor(udp_run: tuple) -> None:
    run, workdir = udp_run
    sat_modules = set(run.satellite_report["modules"])
    ground_modules = set(run.ground_report["modules"])
    assert "satqkd.protocol.satellite" in sat_modules
    assert "satqkd.protocol.ground" not in sat_modules
    assert "satqkd.protocol.ground" in ground_modules
    assert "satqkd.protocol.satellite" not in ground_modules
    for modules in (sat_modules, ground_modules):
        assert "satqkd.simulate.engine" not in modules
    # each party's file carries only its own data
    with np.load(workdir / "satellite.npz") as sat_file:
        assert not any(k.startswith("record/") for k in sat_file.files)
        assert "source_seed" in json.loads(str(sat_file["config"]))
    with np.load(workdir / "ground.npz") as ground_file:
        assert "source_seed" not in json.loads(str(ground_file["config"]))
        assert "record/pulse_index" in ground_file.files
