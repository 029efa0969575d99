"""The live protocol end to end over a short simulated pass, under link faults and attacks.

Every run must end with identical keys on both sides for every block either side holds
(never a mismatched block, never a one-sided one); faults may only cost time (every block
the ground forms still gets its key), an attack may only cost the block it hits.

The keys do not depend on timing (conftest), so every block a faulty run keys must hold
bit for bit the clean run's key.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from satqkd.photonics.timing import SPEED_OF_LIGHT_KM_S
from satqkd.protocol.attacks import MessageTamper
from satqkd.protocol.messages import Kind
from satqkd.protocol.run import LinkFaults, PassRun
from satqkd.simulate.pass_simulation import PassSimulation


def keyed(run: PassRun) -> list[int]:
    return sorted(run.outcome.ground_keys)


def formed(run: PassRun) -> list[int]:
    """Blocks the ground formed and sent a PA instruction for (any outcome)."""
    return sorted(run.outcome.ground.state.blocks)


def assert_every_block_keyed(run: PassRun) -> None:
    assert len(formed(run)) >= 2
    assert keyed(run) == formed(run)


def assert_clean_keys(run: PassRun, clean: PassRun) -> None:
    """Every block ``run`` keyed holds exactly the clean run's key for that block."""
    for b in keyed(run):
        assert np.array_equal(run.outcome.ground_keys[b].bits, clean.outcome.ground_keys[b].bits)


def assert_consistent(run: PassRun) -> None:
    out = run.outcome
    assert out.mismatched_blocks == 0
    assert out.one_sided_blocks == 0
    assert out.keys_match
    assert out.ground.done and out.satellite.closed


def test_clean_pass_gives_identical_keys(clean_run: PassRun) -> None:
    assert_consistent(clean_run)
    out = clean_run.outcome
    assert_every_block_keyed(clean_run)
    assert clean_run.summary()["final_key_bits"] == out.final_key_bits > 15_000
    for b in keyed(clean_run):
        sat, gnd = out.satellite_keys[b].bits, out.ground_keys[b].bits
        assert not np.shares_memory(sat, gnd)  # each party computed its own copy
        assert 0.45 < gnd.mean() < 0.55  # a real key, not a constant


def test_latency_recorded_per_block(clean_run: PassRun, short_pass: PassSimulation) -> None:
    """Latency: from the block's last detection to both sides holding the key; at least
    the round trips of the PA exchange (≥ 2 light times), at most a few seconds."""
    light_time_s = float(np.min(short_pass.geometry.range_km)) / SPEED_OF_LIGHT_KM_S
    blocks = [b for b in clean_run.summary()["blocks"] if b["state"] == "key"]
    assert len(blocks) == len(keyed(clean_run))
    for b in blocks:
        assert b["latency_s"] is not None
        assert 2 * light_time_s < b["latency_s"] < 10.0
        assert b["bits"] > 0


LOSS = [0.1, 0.3, 0.5]


@pytest.mark.parametrize("extra_loss", LOSS, ids=[f"loss {p:.0%}" for p in LOSS])
def test_frame_loss_costs_time_not_keys(
    extra_loss: float, run_short: Callable[..., PassRun], clean_run: PassRun
) -> None:
    run = run_short(LinkFaults(extra_loss=extra_loss))
    assert_consistent(run)
    assert_every_block_keyed(run)
    assert keyed(run) == keyed(clean_run)
    assert_clean_keys(run, clean_run)
    assert run.outcome.frames_lost() > clean_run.outcome.frames_lost()
    lost = run.outcome.frames_lost() / (run.outcome.uplink.stats.frames
                                        + run.outcome.downlink.stats.frames)
    assert lost == pytest.approx(extra_loss, abs=0.06)


FAULTS = {
    "bit corruption 20%": LinkFaults(corrupt_probability=0.2),
    "duplication 50%": LinkFaults(duplicate_probability=0.5),
    "reordering 30 ms": LinkFaults(reorder_s=0.03),
    "everything": LinkFaults(extra_loss=0.2, corrupt_probability=0.1,
                             duplicate_probability=0.2, reorder_s=0.02),
}


@pytest.mark.parametrize("faults", FAULTS.values(), ids=FAULTS.keys())
def test_link_faults_never_change_keys(
    faults: LinkFaults, run_short: Callable[..., PassRun], clean_run: PassRun
) -> None:
    run = run_short(faults)
    assert_consistent(run)
    assert_every_block_keyed(run)
    assert_clean_keys(run, clean_run)
    links = (run.outcome.uplink.stats, run.outcome.downlink.stats)
    if faults.corrupt_probability:
        assert sum(s.corrupted for s in links) > 0
        corrupt_seen = (run.outcome.ground.endpoint.stats.frames_corrupt
                        + run.outcome.satellite.endpoint.stats.frames_corrupt)
        assert corrupt_seen > 0
    if faults.duplicate_probability:
        assert sum(s.duplicated for s in links) > 0


def test_duplicates_are_idempotent(run_short: Callable[..., PassRun],
                                   clean_run: PassRun) -> None:
    """Every frame arrives twice: each batch is still sifted once, each packet decoded once."""
    run = run_short(LinkFaults(duplicate_probability=1.0))
    assert_consistent(run)
    sat, ground = run.outcome.satellite, run.outcome.ground
    assert sat.state.batches == ground.state.batches_sent
    assert sat.state.sifted_bits == clean_run.outcome.satellite.state.sifted_bits
    assert len(ground.state.packets) == sat.state.packets
    assert_clean_keys(run, clean_run)
    assert sat.endpoint.stats.duplicates > 0 and ground.endpoint.stats.duplicates > 0


def test_outage_mid_pass_resumes(run_short: Callable[..., PassRun],
                                 clean_run: PassRun) -> None:
    """Both directions dark for 8 s mid-pass: the batches and messages queued during the
    outage go through when it ends; every block still gets its key, later."""
    outage = (6.0, 14.0)
    run = run_short(LinkFaults(outages=(outage,)))
    assert_consistent(run)
    assert_every_block_keyed(run)
    assert_clean_keys(run, clean_run)
    blocks = {b["block_id"]: b for b in run.summary()["blocks"]}
    hit = [b for b in blocks.values() if b["t_s"] < outage[1]]
    assert hit, "a block must end during the outage for this test to mean anything"
    for b in hit:
        # the key cannot be agreed before the link is back
        assert b["t_s"] + b["latency_s"] >= outage[1]
    assert run.outcome.frames_lost() > clean_run.outcome.frames_lost()


@pytest.mark.parametrize(
    ("direction", "kind", "victim"),
    [("uplink", Kind.PA_INSTRUCTION, "satellite"), ("downlink", Kind.PA_CONFIRM, "ground")],
    ids=["uplink PA instruction", "downlink PA confirmation"],
)
def test_tampered_message_abandons_only_its_block(
    direction: str, kind: Kind, victim: str, run_short: Callable[..., PassRun],
    clean_run: PassRun,
) -> None:
    """An attacker flips a bit in the second block's PA message, in every copy: that block
    is abandoned by both sides; the others are unaffected; no key differs."""
    attacker = MessageTamper(kind, occurrence=1)
    faults = (LinkFaults(tamper_uplink=attacker) if direction == "uplink"
              else LinkFaults(tamper_downlink=attacker))
    run = run_short(faults)
    assert_consistent(run)
    out = run.outcome
    assert attacker.tampered_frames >= 1
    actor = out.satellite if victim == "satellite" else out.ground
    assert actor.endpoint.stats.auth_failures >= 1
    lost = set(formed(run)) - set(keyed(run))
    assert len(lost) == 1
    (block,) = lost
    assert block == formed(run)[1]  # the second PA exchange: the one attacked
    assert out.ground.state.blocks[block].state == "abandoned: authentication failed"
    assert block in out.satellite.state.blocks_abandoned
    assert_clean_keys(run, clean_run)


@pytest.mark.parametrize(
    ("direction", "kind"),
    [("uplink", Kind.DETECTIONS), ("downlink", Kind.SYNDROME)],
    ids=["uplink detections", "downlink syndrome"],
)
def test_single_tampered_copy_is_healed_by_repetition(
    direction: str, kind: Kind, run_short: Callable[..., PassRun], clean_run: PassRun
) -> None:
    """One altered copy of a data message is rejected; the next genuine repetition gets
    through, and no block is lost."""
    attacker = MessageTamper(kind, occurrence=2, every_copy=False)
    faults = (LinkFaults(tamper_uplink=attacker) if direction == "uplink"
              else LinkFaults(tamper_downlink=attacker))
    run = run_short(faults)
    assert_consistent(run)
    assert attacker.tampered_frames == 1
    receiver = run.outcome.satellite if direction == "uplink" else run.outcome.ground
    assert receiver.endpoint.stats.auth_failures == 1
    assert_every_block_keyed(run)
    assert_clean_keys(run, clean_run)
