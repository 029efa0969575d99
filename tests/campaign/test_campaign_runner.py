"""Running campaigns: fast and photon fidelity, seeds, weather, constellations, Dask."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from satqkd.campaign import (
    CampaignResult,
    CampaignSpec,
    constellation,
    dask_executor,
    run_campaign,
)
from satqkd.campaign import runner as runner_module
from satqkd.config import Mission
from satqkd.errors import InputError


def _rows(result: CampaignResult) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "wall_time_s"} for r in result.rows()]


def test_fast_campaign_table(fast_result: CampaignResult, jinan1: Mission) -> None:
    statuses = {o.status for o in fast_result.outcomes}
    assert {"key", "cloudy"} <= statuses and "failed" not in statuses
    assert set(fast_result.stations) == set(jinan1.stations)
    keyed = [o for o in fast_result.outcomes if o.status == "key"]
    assert len(keyed) >= 5
    for o in keyed:
        assert o.mode == "fast" and o.packets >= 1 and o.final_key_bits > 0
        assert o.qber_min <= o.qber_mean <= o.qber_max < 0.05
        assert o.sifted_bits >= o.packets * jinan1.protocol.packet_bits
        assert len(o.timeline) == pytest.approx(o.window_s, abs=1.0)
    for o in fast_result.outcomes:
        if o.status in ("cloudy", "conflict"):
            assert o.final_key_bits == 0 and o.packets == 0 and not o.timeline
    times = [o.window_start_unix_s for o in fast_result.outcomes]
    assert times == sorted(times)
    # Higher passes give more key (same station, clear sky): compare the extremes.
    nanshan = sorted((o for o in keyed if o.station == "nanshan"),
                     key=lambda o: o.max_elevation_deg)
    assert nanshan[-1].final_key_bits > nanshan[0].final_key_bits


def test_same_seed_same_campaign_other_seed_other_weather(fast_spec: CampaignSpec,
                                                          fast_result: CampaignResult) -> None:
    assert _rows(run_campaign(fast_spec)) == _rows(fast_result)
    other = run_campaign(dataclasses.replace(fast_spec, seed=2))
    cloudy = {(o.station, o.night) for o in fast_result.outcomes if o.status == "cloudy"}
    cloudy2 = {(o.station, o.night) for o in other.outcomes if o.status == "cloudy"}
    assert cloudy != cloudy2


def test_without_weather_every_night_pass_is_tried(fast_spec: CampaignSpec,
                                                   fast_result: CampaignResult) -> None:
    clear = run_campaign(dataclasses.replace(fast_spec, weather=False))
    assert not [o for o in clear.outcomes if o.status == "cloudy"]
    assert len(clear.evaluated) > len(fast_result.evaluated)
    assert clear.total_key_bits > fast_result.total_key_bits
    # A pass evaluated in both runs gives the same result (the weather removes passes, and
    # with them some conflicts, but changes no pass).
    mine = {(o.station, o.window_start_unix_s): o.final_key_bits for o in clear.evaluated}
    both = [o for o in fast_result.evaluated if (o.station, o.window_start_unix_s) in mine]
    assert len(both) >= len(fast_result.evaluated) - 2
    for o in both:
        assert mine[o.station, o.window_start_unix_s] == o.final_key_bits


def test_dask_gives_the_serial_result(fast_spec: CampaignSpec,
                                      fast_result: CampaignResult) -> None:
    seen: list[tuple[str, int, int]] = []
    with dask_executor(workers=2, processes=False) as executor:
        result = run_campaign(fast_spec, executor, lambda *a: seen.append(a))
    assert result.workers == 2
    assert _rows(result) == _rows(fast_result)
    assert ("search", 0, 1) in seen and seen[-1][0] == "evaluate"
    assert seen[-1][1] == seen[-1][2]  # progress reaches the total


def test_constellation_campaign(jinan1: Mission, fast_spec: CampaignSpec,
                                fast_result: CampaignResult) -> None:
    sats = constellation(jinan1, planes=2)
    result = run_campaign(dataclasses.replace(fast_spec, missions=tuple(sats), days=4.0,
                                              weather=False))
    assert result.satellites == tuple(m.satellite.name for m in sats)
    by_sat = {name: [o for o in result.evaluated if o.satellite == name]
              for name in result.satellites}
    assert all(by_sat.values())
    # Two satellites: more key per station-night than one satellite alone on average.
    nights = result.station_days()
    assert len(nights) == 4 * len({n["night"] for n in nights})
    single = run_campaign(dataclasses.replace(fast_spec, days=4.0, weather=False))
    assert result.total_key_bits > single.total_key_bits


def test_a_failing_pass_is_recorded_not_fatal(fast_spec: CampaignSpec,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    real = runner_module.fast_pass_outcome
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("detector on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(runner_module, "fast_pass_outcome", flaky)
    result = run_campaign(dataclasses.replace(fast_spec, days=3.0, weather=False))
    failed = [o for o in result.outcomes if o.status == "failed"]
    assert len(failed) == 1 and "detector on fire" in failed[0].note
    assert [o for o in result.outcomes if o.status == "key"]


def test_photon_campaign_runs_the_protocol(jinan1: Mission) -> None:
    """Photon fidelity on a short campaign (one station, one day, 10-s windows)."""
    spec = CampaignSpec(missions=(jinan1,), start=dt.datetime(2022, 9, 23, tzinfo=dt.UTC),
                        days=1.0, stations=("nanshan",), mode="photon", weather=False,
                        duration_cap_s=10.0)
    result = run_campaign(spec)
    assert result.evaluated
    for o in result.evaluated:
        assert o.mode == "photon" and o.window_s == pytest.approx(10.0)
        assert o.keys_match is True
        assert o.packets >= 1 and o.timeline and o.packet_list
    fast = run_campaign(dataclasses.replace(spec, mode="fast"))
    for p, f in zip(result.evaluated, fast.evaluated, strict=True):
        assert p.window_start_unix_s == f.window_start_unix_s
        assert p.sifted_bits == pytest.approx(f.sifted_bits, rel=0.03)


@pytest.mark.parametrize("change, field", [
    ({"days": 0.0}, "--days"), ({"days": -1.0}, "--days"), ({"mode": "slow"}, "--mode"),
    ({"missions": ()}, "missions"), ({"duration_cap_s": 0.0}, "duration_cap_s"),
])
def test_bad_specs(fast_spec: CampaignSpec, change: dict, field: str) -> None:
    with pytest.raises(InputError) as info:
        dataclasses.replace(fast_spec, **change)
    assert field in info.value.one_line()


def test_campaign_on_a_running_scheduler(fast_spec: CampaignSpec,
                                         fast_result: CampaignResult) -> None:
    """``--scheduler ADDRESS``: connect to an existing cluster (here one in this process)."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        with dask_executor(scheduler=cluster.scheduler_address) as executor:
            result = run_campaign(dataclasses.replace(fast_spec, days=3.0), executor)
        assert result.workers == 1
    three_days = [o for o in fast_result.outcomes
                  if o.window_start_unix_s < fast_result.start_unix_s + 3 * 86400.0]
    assert [o.final_key_bits for o in result.outcomes] == [o.final_key_bits
                                                            for o in three_days]
