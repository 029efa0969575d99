"""Slow processing at the ground, charged to the simulated clock, against the link's end.

The campaign helper saw a photon pass take 771 s of wall time with the keys not matching
while code was being edited (the first decodes then compile numba kernels, slowly, under
load). The session charges each actor's measured processing time to the simulated clock.
It used to send a slow computation's result at now + processing while the same actor went
on sending at earlier times. The link's queue then held the earlier frames behind the late
ones, repetitions piled up (millions of frames), and the pass ended at the link's end with
one-sided blocks. Here the ground's decoding costs 60 s of simulated time per packet (no
real waiting). Now the actor is busy meanwhile: the blocks that do not fit before the
link's end stay unresolved on both sides, none is one-sided, and the run stays short.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from satqkd.protocol import ground as ground_module
from satqkd.protocol.run import PassRun


def test_processing_past_the_link_end_leaves_no_one_sided_block(
    run_short: Callable[..., PassRun], clean_run: PassRun, monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = ground_module.GroundStation._decode

    def slow_decode(self: ground_module.GroundStation, group: list) -> None:
        original(self, group)
        self.processing_s += 60.0 * len(group)

    monkeypatch.setattr(ground_module.GroundStation, "_decode", slow_decode)
    run = run_short()
    out = run.outcome
    assert out.keys_match
    assert out.one_sided_blocks == 0 and out.mismatched_blocks == 0
    assert "the link closed before every block was resolved" in out.notes
    assert 0 < len(out.ground_keys) < len(clean_run.outcome.ground_keys)
    for block_id, block in out.ground_keys.items():
        assert (block.bits == clean_run.outcome.ground_keys[block_id].bits).all()
    clean_frames = clean_run.summary()["frames_sent"]
    assert run.summary()["frames_sent"] < 20 * clean_frames


def test_clean_run_charges_no_start_up(clean_run: PassRun) -> None:
    """Kernels are loaded before the session (``run_pass`` warms up): the first block's
    latency is that of a warm actor, well under the 60 s charged above."""
    latencies = [b["latency_s"] for b in clean_run.summary()["blocks"]]
    assert all(lat is not None and lat < 5.0 for lat in latencies)
