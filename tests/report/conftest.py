"""Shared fixtures of the report tests: a small fast campaign with its missions."""

from __future__ import annotations

import datetime as dt

import pytest

from satqkd.campaign import CampaignResult, CampaignSpec, run_campaign
from satqkd.config import Mission, load_mission


@pytest.fixture(scope="session")
def report_mission() -> Mission:
    return load_mission("jinan1")


@pytest.fixture(scope="session")
def report_campaign(report_mission: Mission) -> CampaignResult:
    """Five nights from 20 September 2022 over the four Jinan-1 stations (fast, seed 1)."""
    spec = CampaignSpec(missions=(report_mission,), start=dt.datetime(2022, 9, 20, tzinfo=dt.UTC),
                        days=5.0, mode="fast", seed=1)
    return run_campaign(spec)
