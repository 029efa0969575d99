"""Campaigns: many nights, stations and satellites, on top of the single-pass physics.

A campaign finds every night pass of one or more satellites over a set of stations that
meets the mission's procedure, draws the weather, lets each satellite serve one station at a
time, and evaluates every remaining pass in one of two fidelities: ``photon`` (the full
photon-level simulation and the live protocol of ``satqkd pass``) or ``fast`` (expected counts
through the same channel model and the same finite-key analysis). Passes run in parallel on
Dask. The result holds the per-pass table (like the published Jinan-1 campaign table), totals
per station, key per station-night and key-relay latencies between stations.
"""

from satqkd.campaign.constellation import (
    constellation,
    missions_from_tles,
    parse_tles,
    shifted_orbit,
)
from satqkd.campaign.execution import DaskExecutor, Executor, SerialExecutor, dask_executor
from satqkd.campaign.expected_counts import ExpectedCounts, expected_counts
from satqkd.campaign.fast_pass import FastPass, ec_leak_bits, fast_pass, fast_pass_outcome
from satqkd.campaign.outcome import PASS_COLUMNS, PassOutcome
from satqkd.campaign.photon_pass import photon_pass_outcome
from satqkd.campaign.results import CampaignResult
from satqkd.campaign.runner import CampaignSpec, run_campaign
from satqkd.campaign.validation import FidelityComparison, compare_fidelities

__all__ = [
    "PASS_COLUMNS",
    "CampaignResult",
    "CampaignSpec",
    "DaskExecutor",
    "Executor",
    "ExpectedCounts",
    "FastPass",
    "FidelityComparison",
    "PassOutcome",
    "SerialExecutor",
    "compare_fidelities",
    "constellation",
    "dask_executor",
    "ec_leak_bits",
    "expected_counts",
    "fast_pass",
    "fast_pass_outcome",
    "missions_from_tles",
    "parse_tles",
    "photon_pass_outcome",
    "run_campaign",
    "shifted_orbit",
]
