"""``satqkd campaign``: tables, JSON, files, progress only on a terminal, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from satqkd.campaign import PASS_COLUMNS
from satqkd.cli.testing import invoke

BASE = ("--start", "2022-09-20T00:00Z", "--days", "3", "--workers", "0")



def run_cli(*args: str, terminal: bool = False) -> subprocess.CompletedProcess[str]:
    """``satqkd campaign`` in-process (:func:`satqkd.cli.testing.invoke`)."""
    return invoke("campaign", *args, terminal=terminal)


def test_json_report() -> None:
    proc = run_cli(*BASE, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["mode"] == "fast" and data["days"] == 3
    assert data["stations"] == ["jinan", "hefei", "wuhan", "nanshan"]
    assert [list(r) for r in data["passes"][:1]] == [list(PASS_COLUMNS)]
    keyed = [r for r in data["passes"] if r["status"] == "key"]
    assert keyed and all(r["final_key_bits"] > 0 and r["packets"] > 0 for r in keyed)
    assert data["final_key_bits"] == sum(r["final_key_bits"] for r in data["passes"])
    assert {t["station"] for t in data["station_totals"]} == set(data["stations"])
    assert len(data["relay_latencies"]) == 12
    assert len(data["station_days"]) % 4 == 0


def test_progress_bar_on_a_terminal_never_with_json() -> None:
    shown = run_cli(*BASE, terminal=True)
    assert shown.returncode == 0, shown.stderr
    assert "evaluate" in shown.stderr and "search" in shown.stderr
    assert "totals per station" in shown.stdout
    quiet = run_cli(*BASE, "--json", terminal=True)
    assert quiet.returncode == 0
    assert quiet.stderr == ""
    json.loads(quiet.stdout)  # nothing but the JSON


def test_table_lists_the_passes() -> None:
    proc = run_cli(*BASE, "--stations", "nanshan,wuhan", "--no-weather")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any("nanshan" in ln and "key" in ln for ln in lines)
    assert not any("jinan" in ln for ln in lines)
    assert "key-relay latency" in proc.stdout


def test_dask_cluster_and_files(tmp_path: Path) -> None:
    """The real console path: a fresh interpreter, a one-worker LocalCluster, --out."""
    proc = subprocess.run(
        [sys.executable, "-m", "satqkd.cli.main", "campaign", "--start", "2022-09-20T00:00Z",
         "--days", "2", "--workers", "1", "--stations", "nanshan,jinan", "--out",
         str(tmp_path), "--pass-figures", "1", "--json"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["workers"] == 1
    for name in ("passes", "stations", "station_days", "relay_latencies"):
        assert (tmp_path / f"{name}.parquet").is_file() and (tmp_path / f"{name}.csv").is_file()
    table = pq.read_table(tmp_path / "passes.parquet")
    assert table.num_rows == len(data["passes"])
    assert (tmp_path / "report.html").stat().st_size > 10_000
    assert len(list((tmp_path / "passes").glob("*.png"))) == 1
    assert data["files"]["report.html"] == str(tmp_path / "report.html")


@pytest.mark.parametrize("args, field", [
    (("--stations", "jinan,atlantis"), "--stations"),
    (("--days", "0"), "--days"),
    (("--days", "-2"), "--days"),
    (("--start", "25 Sept 2022"), "--start"),
    (("--mode", "slow"), "--mode"),
    (("--workers", "-1"), "--workers"),
    (("--workers", "2", "--scheduler", "tcp://127.0.0.1:1"), "--scheduler"),
    (("--planes", "0"), "--planes"),
    (("--tle", "/nonexistent/sats.tle"), "--tle"),
    (("--max-duration", "0"), "--max-duration"),
])
def test_bad_input_is_one_line_naming_the_field(args: tuple[str, ...], field: str) -> None:
    base = {"--start": "2022-09-20T00:00Z", "--days": "1", "--workers": "0"}
    for k, v in zip(args[::2], args[1::2], strict=True):
        base[k] = v
    if "--scheduler" in base and base["--workers"] == "0":
        base["--workers"] = "2"
    argv = [x for kv in base.items() for x in kv]
    proc = run_cli(*argv)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("satqkd: error:"), proc.stderr
    assert field in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_unknown_station_names_the_choices() -> None:
    proc = run_cli(*BASE, "--stations", "atlantis")
    assert proc.returncode == 2
    assert "atlantis" in proc.stderr and "nanshan" in proc.stderr


def test_constellations_from_planes_and_from_tles(tmp_path: Path) -> None:
    proc = run_cli(*BASE, "--planes", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["satellites"] == ["Jinan-1 P1S1", "Jinan-1 P2S1"]
    assert {r["satellite"] for r in data["passes"]} == set(data["satellites"])
    tle = tmp_path / "sats.tle"
    tle.write_text("MICIUS\n"
                   "1 41731U 16051A   16353.90152003  .00000364  00000-0  17957-4 0  9993\n"
                   "2 41731  97.3699 267.4500 0013200 178.5836 246.0824 15.23915303 19063\n",
                   encoding="utf-8")
    proc = run_cli("--tle", str(tle), "--start", "2016-12-19T00:00Z", "--days", "2",
                   "--workers", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["satellites"] == ["MICIUS"] and data["passes"]
