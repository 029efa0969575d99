"""The satellite's per-packet QBER estimate: in-span sample plus the ground's exact counts."""

from __future__ import annotations

import math

import numpy as np

from satqkd.config import Mission
from satqkd.distill.ldpc import CodeFamily
from satqkd.protocol.ground import report_leak_bits
from satqkd.protocol.qber_tracking import ExactCount, packet_qber
from satqkd.protocol.run import PassRun
from satqkd.protocol.satellite import REPORT_LAG

PACKET_BITS = 100_000
SPAN_BITS = 11_100  # sampled sifted bits per 100-kbit packet at a 10 % sampling fraction


def test_without_exact_counts_the_sample_alone() -> None:
    est = packet_qber(SPAN_BITS, 80, 100.0, [])
    assert est.qber == (80 + 1) / (SPAN_BITS + 2)
    assert est.sample_bits == SPAN_BITS
    assert est.exact_weight == 0.0


def test_flat_qber_exact_counts_shrink_the_margin() -> None:
    """Consistent sample and exact counts: the effective sample grows far beyond the span."""
    exact = [ExactCount(t, PACKET_BITS, 750) for t in (70.0, 80.0, 90.0)]
    est = packet_qber(SPAN_BITS, 83, 110.0, exact)
    assert est.sample_bits > 5 * SPAN_BITS
    assert est.exact_weight > 0.8
    assert abs(est.qber - 0.0075) < 3e-4


def test_rising_qber_follows_the_packets_own_sample() -> None:
    """Stale, flat exact counts at 0.77 % against a sample at 1.06 % (3σ above): the rise
    the trend has not seen is counted as bias and the estimate follows the sample."""
    exact = [ExactCount(t, PACKET_BITS, 770) for t in (180.0, 190.0, 200.0)]
    est = packet_qber(SPAN_BITS, 118, 226.0, exact)
    q_s = 119 / (SPAN_BITS + 2)
    assert est.exact_weight < 0.25
    assert est.qber > 0.0077 + 0.75 * (q_s - 0.0077)
    assert est.sample_bits < 1.5 * SPAN_BITS


def test_a_sample_low_by_chance_does_not_pull_the_estimate_down() -> None:
    """2.3σ below consistent exact counts: within the downward (3σ) threshold."""
    exact = [ExactCount(t, PACKET_BITS, 480) for t in (150.0, 153.0, 156.0)]
    sigma = math.sqrt(0.0048 / SPAN_BITS)
    errors = round((0.0048 - 2.3 * sigma) * SPAN_BITS)
    est = packet_qber(SPAN_BITS, errors, 162.0, exact)
    assert est.exact_weight > 0.7
    assert est.qber > 0.0045


def test_rising_trend_is_extrapolated() -> None:
    exact = [ExactCount(t, PACKET_BITS, e) for t, e in ((200.0, 900), (215.0, 1050),
                                                         (230.0, 1200))]
    est = packet_qber(SPAN_BITS, 150, 260.0, exact)
    assert est.qber > 0.0125  # above the last exact level (1.2 %)


def _pass_end_profile(t_s: np.ndarray) -> np.ndarray:
    """Synthetic QBER: flat 0.75 % then rising exponentially to ≈ 2.5 % (no real pass)."""
    return 0.0075 + 0.0175 * np.exp((t_s - 300.0) / 30.0)


def test_end_of_pass_coverage_better_than_a_lagging_window() -> None:
    """Synthetic packets along a rising QBER: the new rule's upper bound covers the
    packet's true QBER more often than the old 20 000-bit trailing window. In the flat part
    (t ≤ 180 s) it is not tighter: sample noise above the exact counts is partly taken for
    drift (c = 1), so its mean bound there stays within 3 % of the old one."""
    rng = np.random.default_rng(11)
    family = CodeFamily.default()
    t_edges = np.concatenate([np.arange(100.0, 240.0, 10.0), np.arange(240.0, 301.0, 6.0)])
    covered_new = covered_old = 0
    leak_new_flat, leak_old_flat = [], []
    exact: list[ExactCount] = []
    samples: list[tuple[int, int]] = []
    for k in range(len(t_edges) - 1):
        t0, t1 = t_edges[k], t_edges[k + 1]
        q_true = float(_pass_end_profile(np.linspace(t0, t1, 50)).mean())
        e_span = int(rng.binomial(SPAN_BITS, q_true))
        e_key = int(rng.binomial(PACKET_BITS, q_true))
        t_mid = 0.5 * (t0 + t1)
        usable = exact[: max(0, k - REPORT_LAG + 1)]
        new = packet_qber(SPAN_BITS, e_span, t_mid, usable)
        q_up_new = family.upper_qber(new.qber, new.sample_bits, 1.5)
        # The old rule: the trailing ~20 000 sampled bits (this packet's and the previous).
        samples.append((SPAN_BITS, e_span))
        n_old = sum(n for n, _ in samples[-2:])
        e_old = sum(e for _, e in samples[-2:])
        q_up_old = family.upper_qber((e_old + 1) / (n_old + 2), 20_000, 1.5)
        covered_new += q_up_new >= q_true
        covered_old += q_up_old >= q_true
        if t1 <= 180.0:
            leak_new_flat.append(q_up_new)
            leak_old_flat.append(q_up_old)
        exact.append(ExactCount(t_mid, PACKET_BITS, e_key))
    assert covered_new > covered_old
    assert covered_new >= len(t_edges) - 3
    assert np.mean(leak_new_flat) < 1.03 * np.mean(leak_old_flat)


def test_ground_reports_each_packet_and_charges_it(clean_run: PassRun, mission: Mission) -> None:
    """Every decoded packet's leak includes the disclosed error count, ⌈log₂(F + 1)⌉."""
    packets = clean_run.outcome.ground.state.packets
    sat = clean_run.outcome.satellite
    assert sat._reports_through == len(packets) - 1
    family = CodeFamily.default()
    tag = mission.protocol.verification_tag_bits
    for p, est in zip(packets, sat.state.estimates, strict=True):
        code = family.select(est.qber, frame_bits=mission.protocol.packet_bits,
                             sample_bits=est.sample_bits)
        extra = report_leak_bits(mission.protocol.packet_bits) if p.decoded else 0
        assert p.leak_bits == code.leak_bits + tag + extra
    assert report_leak_bits(100_000) == 17
