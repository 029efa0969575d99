"""The live protocol with blind and guided reconciliation (reveal requests over the link)."""

from __future__ import annotations

import numpy as np
import pytest

from satqkd.config import Mission, Station
from satqkd.distill.ldpc.blind import BlindFamily
from satqkd.distill.ldpc.guided import GuidedFamily
from satqkd.protocol.ground import report_leak_bits
from satqkd.protocol.run import LinkFaults, PassRun, run_pass
from satqkd.simulate.pass_simulation import PassSimulation

SEED = 5


@pytest.fixture(scope="module", params=["blind", "guided"])
def blind_mission(request: pytest.FixtureRequest, mission: Mission) -> Mission:
    protocol = mission.protocol.model_copy(update={"reconciliation": request.param})
    return mission.model_copy(update={"protocol": protocol})


def _run(mission: Mission, station: Station, sim: PassSimulation,
         faults: LinkFaults | None = None) -> PassRun:
    return run_pass(mission, station, simulation=sim, seed=SEED, faults=faults)


@pytest.fixture(scope="module")
def blind_run(blind_mission: Mission, station: Station, short_pass: PassSimulation) -> PassRun:
    return _run(blind_mission, station, short_pass)


def _syndrome_leak(mission: Mission, qber: float, sample_bits: int, rounds: int) -> int:
    """m − p plus the bits ``rounds`` reveal steps disclose, for the mission's scheme."""
    proto = mission.protocol
    if proto.reconciliation == "guided":
        guided = GuidedFamily.default().select(qber, frame_bits=proto.packet_bits,
                                               sample_bits=sample_bits)
        return guided.leak_bits(sum(guided.step_size(k) for k in range(1, rounds + 1)))
    blind = BlindFamily.default().select(qber, frame_bits=proto.packet_bits,
                                         sample_bits=sample_bits)
    return blind.leak_bits(blind.revealed_after(rounds))


def test_blind_pass_keys_match_and_every_leaked_bit_is_charged(
    blind_run: PassRun, blind_mission: Mission
) -> None:
    out = blind_run.outcome
    packets = sorted(out.ground.state.packets, key=lambda p: p.packet_id)
    assert packets and all(p.decoded for p in packets)
    assert out.ground_keys and sorted(out.ground_keys) == sorted(out.satellite_keys)
    for b in out.ground_keys:
        assert np.array_equal(out.ground_keys[b].bits, out.satellite_keys[b].bits)
    proto = blind_mission.protocol
    for p, est in zip(packets, out.satellite.state.estimates, strict=True):
        leak = _syndrome_leak(blind_mission, est.qber, est.sample_bits, p.reveal_rounds)
        assert p.leak_bits == (leak + proto.verification_tag_bits
                               + report_leak_bits(proto.packet_bits))
    if proto.reconciliation == "guided":
        assert any(p.reveal_rounds for p in packets)  # the start leak is below most needs
    # The satellite forgets a packet's reveal state once it is resolved.
    assert not out.satellite._punctured and not out.satellite._guided


def test_blind_pass_under_link_faults_gives_the_same_keys(
    blind_run: PassRun, blind_mission: Mission, station: Station, short_pass: PassSimulation
) -> None:
    faults = LinkFaults(extra_loss=0.2, corrupt_probability=0.1, duplicate_probability=0.2,
                        reorder_s=0.02)
    run = _run(blind_mission, station, short_pass, faults)
    assert sorted(run.outcome.ground_keys) == sorted(blind_run.outcome.ground_keys)
    for b, key in run.outcome.ground_keys.items():
        assert np.array_equal(key.bits, blind_run.outcome.ground_keys[b].bits)
        assert np.array_equal(key.bits, run.outcome.satellite_keys[b].bits)
