"""The fast fidelity's physics: event probabilities against the real squashing code, the
LDPC leak shortcut against the real code selection, and the counts' bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

from satqkd.campaign.expected_counts import (
    _event_probabilities,
    expected_counts,
    signal_gate_acceptance,
)
from satqkd.campaign.fast_pass import ec_leak_bits, fast_pass
from satqkd.config import Mission
from satqkd.distill.ldpc import CodeFamily
from satqkd.photonics.clicks import assign_events
from satqkd.simulate.channel import ChannelModel
from satqkd.simulate.geometry import pass_geometry
from satqkd.simulate.pass_simulation import select_pass

BASIS = np.array([0, 0, 1, 1])
BIT = np.array([0, 1, 0, 1])


def test_event_probabilities_match_the_squashing_rules() -> None:
    """Independent detector clicks through :func:`assign_events` (the ground's code) give the
    analytic event, sifted and error probabilities within 5 standard deviations."""
    rng = np.random.default_rng(11)
    fire = rng.uniform(0.02, 0.4, size=(4, 4))  # large: many double and cross clicks
    event_p, sifted_p, error_p = _event_probabilities(fire, BASIS, BIT)
    n = 200_000
    for s in range(4):
        clicks = rng.random((n, 4)) < fire[s]
        pulse, detector = np.nonzero(clicks)
        events = assign_events(pulse.astype(np.uint64), detector.astype(np.uint8),
                               np.zeros(pulse.size), np.random.default_rng(s))
        sifted = events.basis == BASIS[s]
        errors = sifted & (events.bit != BIT[s])
        for measured, p in ((len(events), event_p[s]), (sifted.sum(), sifted_p[s]),
                            (errors.sum(), error_p[s])):
            sigma = np.sqrt(n * p * (1 - p))
            assert abs(measured - n * p) < 5 * sigma, (s, measured, n * p)


@pytest.mark.parametrize("qber", [0.008, 0.015, 0.03])
def test_leak_shortcut_equals_the_selected_code(qber: float) -> None:
    family = CodeFamily.default()
    assert ec_leak_bits(family, qber, 100_000) == family.select(qber, 100_000).leak_bits


@pytest.fixture(scope="module")
def reference_channel(jinan1: Mission) -> ChannelModel:
    """The channel of the Jinan-1 reference pass (34.1°, 300 s over Jinan)."""
    station = jinan1.station("jinan")
    sel = select_pass(jinan1, station)
    geometry = pass_geometry(sel.orbit, station, sel.window_start_unix_s,
                             sel.window_end_unix_s, step_s=1.0)
    return ChannelModel.build(jinan1, station, geometry, seed=1)


def test_gate_acceptance_is_the_published_80_percent(jinan1: Mission) -> None:
    assert signal_gate_acceptance(jinan1, jinan1.station("jinan")) == pytest.approx(0.80,
                                                                                    abs=0.01)


def test_counts_bookkeeping_on_the_reference_pass(jinan1: Mission,
                                                  reference_channel: ChannelModel) -> None:
    channel = reference_channel
    counts = expected_counts(jinan1, jinan1.station("jinan"), channel)
    assert counts.edges_s[0] == 0.0 and counts.edges_s[-1] == pytest.approx(300.0)
    assert counts.sifted.shape == (300, 3, 2)
    assert np.all(counts.errors <= counts.sifted) and np.all(counts.errors >= 0)
    # Sifted events are about half the events (passive basis choice) and follow the
    # transmittance: most counts at culmination, in the middle of the window.
    ratio = counts.total_sifted / counts.detections.sum()
    assert 0.45 < ratio < 0.55
    per_s = counts.sifted.sum(axis=(1, 2))
    assert 100 < np.argmax(per_s) < 200
    # The intensity classes follow their probabilities × mean photon numbers (0.5 × 0.8
    # against 0.25 × 0.1): the signal class dominates by ~16×.
    by_class = counts.sifted.sum(axis=(0, 2))
    assert 12 < by_class[0] / by_class[1] < 20
    # The "vacuum" class (ω = 0.001) is mostly background: few counts, QBER near 50 %.
    assert by_class[2] < 0.1 * by_class[1]
    vacuum_qber = counts.errors[:, 2].sum() / counts.sifted[:, 2].sum()
    assert 0.3 < vacuum_qber < 0.5
    # Reference pass: QBER about 1 % (SPEC §10) and 20 packets of 100 kbit.
    assert 0.007 < counts.qber < 0.013
    result = fast_pass(jinan1, jinan1.station("jinan"), channel)
    assert len(result.packets) == 20
    assert [len(b["packets"]) for b in result.blocks] == [5, 5, 5, 5]
    assert result.final_key_bits == sum(b["bits"] for b in result.blocks) > 0


@pytest.mark.parametrize("scheme", ["blind", "guided"])
def test_blind_reconciliation_leak_follows_each_packet(jinan1: Mission,
                                                       reference_channel: ChannelModel,
                                                       scheme: str) -> None:
    """With ``reconciliation = "blind"`` (``"guided"``) a packet's leak is the measured mean
    blind (guided) efficiency at its own QBER (plus the tag), and the pass yields more key
    than one-way."""
    from satqkd.distill.ldpc import binary_entropy
    from satqkd.distill.ldpc.blind import BLIND_MEAN_EFFICIENCY
    from satqkd.distill.ldpc.guided import GUIDED_MEAN_EFFICIENCY

    station = jinan1.station("jinan")
    blind = jinan1.model_copy(update={"protocol": jinan1.protocol.model_copy(
        update={"reconciliation": scheme})})
    one_way = fast_pass(jinan1, station, reference_channel)
    result = fast_pass(blind, station, reference_channel)
    tag = jinan1.protocol.verification_tag_bits
    table = GUIDED_MEAN_EFFICIENCY if scheme == "guided" else BLIND_MEAN_EFFICIENCY
    q_table, f_table = np.array(table).T
    for packet in result.packets:
        f = np.interp(packet["qber"], q_table, f_table)
        expected = f * 100_000 * binary_entropy(packet["qber"]) + tag
        assert packet["leak_bits"] == pytest.approx(expected, abs=2.0)
    assert sum(p["leak_bits"] for p in result.packets) < sum(
        p["leak_bits"] for p in one_way.packets)
    assert one_way.final_key_bits < result.final_key_bits < 1.4 * one_way.final_key_bits
