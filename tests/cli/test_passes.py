"""``satqkd passes``: the JSON contract, every station, and the table."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

from satqkd.cli.main import main
from satqkd.config import load_mission
from satqkd.orbit.passes import find_passes
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.orbit.timescale import parse_iso, to_unix_s

START = "2022-09-25T00:00:00Z"
CONTRACT_FIELDS = {
    "start": str, "culmination": str, "end": str, "max_elevation_deg": float,
    "min_range_km": float, "duration_s": float, "station_dark": bool,
    "satellite_in_shadow": bool, "moon_separation_deg": float, "moon_illumination": float,
}


def _in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                *args: str) -> str:
    """stdout of ``satqkd passes ARGS`` run through the console-script entry point."""
    monkeypatch.setattr(sys, "argv", ["satqkd", "passes", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    assert exit_info.value.code in (0, None), captured.err
    return captured.out


def test_json_contract_as_a_process() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "satqkd.cli.main", "passes", "--mission", "jinan1",
         "--start", START, "--days", "2", "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)  # stdout is pure JSON
    assert len(items) >= 3
    assert {item["station"] for item in items} == {"Jinan"}
    for item in items:
        for key, kind in CONTRACT_FIELDS.items():
            assert isinstance(item[key], kind), (key, item[key])
        start, culmination, end = (parse_iso(item[k]) for k in ("start", "culmination", "end"))
        assert all(item[k].endswith("Z") for k in ("start", "culmination", "end"))
        assert start < culmination < end
        assert (end - start).total_seconds() == pytest.approx(item["duration_s"], abs=0.1)
        assert item["max_elevation_deg"] >= 15.0  # the mission's mask
    assert any(item["station_dark"] and item["satellite_in_shadow"] for item in items)
    assert any(not item["station_dark"] for item in items)


def test_json_equals_the_library(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    items = json.loads(_in_process(monkeypatch, capsys, "--mission", "micius", "--start", START,
                                   "--days", "1", "--min-elevation", "20", "--json"))
    m = load_mission("micius")
    t0 = to_unix_s(dt.datetime(2022, 9, 25, tzinfo=dt.UTC))
    ref = find_passes(SatelliteOrbit.from_config(m.satellite), [m.stations["xinglong"]],
                      t0, t0 + 86400.0, 20.0, m.procedure.sun_max_elevation_deg)
    assert items == [p.to_json() for p in ref]
    assert items


def test_all_stations(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    items = json.loads(_in_process(monkeypatch, capsys, "--start", START, "--days", "1",
                                   "--all-stations", "--json"))
    assert {item["station"] for item in items} == {"Jinan", "Hefei", "Wuhan", "Nanshan"}
    starts = [item["start"] for item in items]
    assert starts == sorted(starts)
    night = json.loads(_in_process(monkeypatch, capsys, "--start", START, "--days", "1",
                                   "--all-stations", "--night-only", "--json"))
    assert night
    assert all(item["station_dark"] and item["satellite_in_shadow"] for item in night)
    assert len(night) < len(items)


def test_station_option(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    items = json.loads(_in_process(monkeypatch, capsys, "--station", "NANSHAN", "--start", START,
                                   "--days", "1", "--json"))
    assert items
    assert {item["station"] for item in items} == {"Nanshan"}


def test_table(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    out = _in_process(monkeypatch, capsys, "--mission", "tiangong2", "--start", "2016-11-01",
                      "--days", "2", "--min-elevation", "10")
    assert "Tiangong-2 passes from 2016-11-01T00:00 over 2 day(s)" in out
    rows = [line for line in out.splitlines() if "Nans" in line]  # narrow terminals elide
    assert len(rows) >= 2
