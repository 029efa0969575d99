"""Campaign results: totals per station, key per station-night, relay latencies, files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from satqkd.campaign import PASS_COLUMNS, CampaignResult, PassOutcome
from satqkd.config import Mission

T0 = dt.datetime(2022, 9, 20, 12, tzinfo=dt.UTC).timestamp()
H = 3600.0


def _outcome(satellite: str, station: str, start_h: float, key_bits: int,
             status: str = "key") -> PassOutcome:
    t = T0 + start_h * H
    night = dt.datetime.fromtimestamp(t + (8 - 12) * H, tz=dt.UTC).date().isoformat()
    return PassOutcome(
        satellite=satellite, station=station, night=night, rise_unix_s=t - 120,
        culmination_unix_s=t + 150, window_start_unix_s=t, window_end_unix_s=t + 300,
        max_elevation_deg=40.0, moon_separation_deg=80.0, moon_illumination=0.3,
        status=status, mode="fast", packets=key_bits // 50_000, sifted_bits=key_bits * 5.0,
        qber_mean=0.01 if status in ("key", "no key") else None, final_key_bits=key_bits,
    )


@pytest.fixture()
def result(jinan1: Mission) -> CampaignResult:
    stations = {k: jinan1.stations[k] for k in ("jinan", "nanshan", "hefei")}
    outcomes = (
        _outcome("A", "jinan", 2.0, 300_000),
        _outcome("A", "nanshan", 3.5, 500_000),      # 1.5 h after jinan: relay jinan→nanshan
        _outcome("B", "nanshan", 3.0, 200_000),      # another satellite: no relay with A's key
        _outcome("A", "hefei", 4.0, 0, "no key"),    # evaluated, no key: no relay
        _outcome("A", "hefei", 5.0, 0, "cloudy"),
        _outcome("A", "jinan", 26.0, 100_000),       # next night
        _outcome("A", "nanshan", 50.0, 400_000),     # 24 h after the 26 h jinan pass
    )
    return CampaignResult(outcomes=outcomes, stations=stations, satellites=("A", "B"),
                          start_unix_s=T0, end_unix_s=T0 + 3 * 86400.0, mode="fast", seed=1,
                          workers=1, wall_time_s=0.1)


def test_relay_latency_is_the_next_keyed_pass_of_the_same_satellite(
        result: CampaignResult) -> None:
    rows = {(r["from"], r["to"]): r for r in result.relay_latencies()}
    assert len(rows) == 6  # every ordered pair of 3 stations
    jn = rows["jinan", "nanshan"]
    # A over jinan ends at 2 h + 300 s, A over nanshan at 3.5 h + 300 s: 1.5 h; the second
    # jinan pass (26 h) relays to nanshan at 50 h: 24 h. Satellite B's pass does not count.
    assert jn["relays"] == 2
    assert jn["min_h"] == pytest.approx(1.5) and jn["max_h"] == pytest.approx(24.0)
    assert jn["median_h"] == pytest.approx(12.75)
    nj = rows["nanshan", "jinan"]
    assert nj["relays"] == 1 and nj["min_h"] == pytest.approx(22.5)  # 3.5 h → 26 h
    assert rows["jinan", "hefei"]["relays"] == 0 and rows["jinan", "hefei"]["min_h"] is None


def test_station_totals_and_station_nights(result: CampaignResult) -> None:
    totals = {t["station"]: t for t in result.station_totals()}
    assert totals["nanshan"]["final_key_bits"] == 1_100_000
    assert totals["nanshan"]["best_pass_key_bits"] == 500_000
    assert totals["hefei"]["night_passes"] == 2 and totals["hefei"]["cloudy"] == 1
    assert totals["hefei"]["evaluated"] == 1 and totals["hefei"]["passes_with_key"] == 0
    assert result.total_key_bits == 1_500_000
    days = result.station_days()
    # Every station and every local night of the campaign, zeros included.
    assert len(days) == 3 * len({d["night"] for d in days})
    assert sum(d["final_key_bits"] for d in days) == result.total_key_bits
    first_nanshan = next(d for d in days if d["station"] == "nanshan" and d["passes"])
    assert first_nanshan["final_key_bits"] == 700_000 and first_nanshan["passes"] == 2


def test_tables_written_as_parquet_and_csv(result: CampaignResult, tmp_path: Path) -> None:
    paths = result.write(tmp_path)
    passes = pq.read_table(paths["passes.parquet"])
    assert passes.column_names == list(PASS_COLUMNS)
    assert passes.num_rows == len(result.outcomes)
    assert passes.column("final_key_bits").to_pylist() == [o.final_key_bits
                                                           for o in result.outcomes]
    csv = pa_csv.read_csv(paths["passes.csv"])
    assert csv.num_rows == passes.num_rows
    assert csv.column("station").to_pylist() == passes.column("station").to_pylist()
    relays = pq.read_table(paths["relay_latencies.parquet"]).to_pylist()
    assert relays == result.relay_latencies()
    summary = json.loads(paths["summary.json"].read_text())
    assert summary["final_key_bits"] == 1_500_000
    assert summary["status_counts"] == {"key": 5, "no key": 1, "cloudy": 1}
