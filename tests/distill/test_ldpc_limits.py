"""The one-way reconciliation floor (:mod:`satqkd.distill.ldpc.limits`)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from satqkd.distill.ldpc import CodeFamily
from satqkd.distill.ldpc.limits import (
    min_efficiency,
    min_leak_bits,
    normal_approximation_leak_bits,
)
from satqkd.errors import InputError


@pytest.mark.parametrize(("n", "qber", "fer"), [(10, 0.1, 0.05), (12, 0.2, 0.3), (9, 0.05, 0.01)])
def test_min_leak_is_the_fewest_patterns_reaching_the_target_by_enumeration(
    n: int, qber: float, fer: float
) -> None:
    """Brute force: sort all 2^n error patterns by probability and count how many it takes
    to reach 1 − FER (the last one counted in part)."""
    probs = sorted(
        (qber ** sum(e) * (1 - qber) ** (n - sum(e)) for e in itertools.product((0, 1), repeat=n)),
        reverse=True,
    )
    cumulative = np.cumsum(probs)
    whole = int(np.searchsorted(cumulative, 1.0 - fer))  # patterns counted whole
    before = cumulative[whole - 1] if whole else 0.0
    count = whole + (1.0 - fer - before) / probs[whole]
    assert math.isclose(2.0 ** min_leak_bits(qber, n, fer), count, rel_tol=1e-9)


def test_normal_approximation_agrees_at_100_kbit() -> None:
    for qber in (0.005, 0.01, 0.03, 0.05):
        exact = min_leak_bits(qber, 100_000, 0.01)
        assert abs(exact - normal_approximation_leak_bits(qber, 100_000, 0.01)) < 0.002 * exact


def test_floor_falls_with_frame_length_and_rises_with_reliability() -> None:
    f = [min_efficiency(0.02, n, 0.01) for n in (10_000, 100_000, 1_000_000)]
    assert f[0] > f[1] > f[2] > 1.0
    assert min_efficiency(0.02, 100_000, 1e-3) > min_efficiency(0.02, 100_000, 1e-2)
    # At 100 kbit and FER 1 % the floor is the frame's own spread: ≈ 1.06 at QBER 1 %.
    assert 1.05 < min_efficiency(0.01, 100_000, 0.01) < 1.07


def test_shipped_codes_lie_above_the_floor() -> None:
    """A test that can fail: a code claiming less leak than the converse allows would be
    a bookkeeping error (its FER at that leak must then exceed the target)."""
    family = CodeFamily.default()
    for qber in (0.005, 0.01, 0.02, 0.03, 0.04, 0.05):
        code = family.select(qber, 100_000, sample_bits=None)
        assert code.efficiency(qber) > min_efficiency(qber, 100_000, 0.01)


def test_bad_inputs_name_the_field() -> None:
    for args, field in (((0.6, 100, 0.01), "qber"), ((0.01, 0, 0.01), "frame_bits"),
                        ((0.01, 100, 1.5), "fer")):
        with pytest.raises(InputError) as info:
            min_leak_bits(*args)
        assert info.value.field == field
