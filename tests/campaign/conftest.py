"""Shared fixtures of the campaign tests: the Jinan-1 mission and one small fast campaign.

The fast campaign (10 nights from 20 September 2022, all four stations, seed 1) runs in this
process in well under a second and is shared by the tests that only read its results.
"""

from __future__ import annotations

import datetime as dt

import pytest

from satqkd.campaign import CampaignResult, CampaignSpec, run_campaign
from satqkd.config import Mission, load_mission

START = dt.datetime(2022, 9, 20, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def jinan1() -> Mission:
    return load_mission("jinan1")


@pytest.fixture(scope="session")
def fast_spec(jinan1: Mission) -> CampaignSpec:
    return CampaignSpec(missions=(jinan1,), start=START, days=10.0, mode="fast", seed=1)


@pytest.fixture(scope="session")
def fast_result(fast_spec: CampaignSpec) -> CampaignResult:
    return run_campaign(fast_spec)


