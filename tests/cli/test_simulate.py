"""``satqkd simulate``: JSON summary, records file, plot, and one-line errors with exit 2."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from satqkd.cli.testing import invoke
from satqkd.simulate.records import load_records

TIMELINE_KEYS = {"t_s", "range_km", "elevation_deg", "loss_db", "count_rate_cps",
                 "background_cps"}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``satqkd simulate`` in-process (:func:`satqkd.cli.testing.invoke`)."""
    return invoke("simulate", *args)


@pytest.fixture(scope="module")
def ten_seconds(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, Path]:
    """One 10-s run of the reference pass with --json, --out and --plot."""
    folder = tmp_path_factory.mktemp("simulate")
    records, plot = folder / "pass.npz", folder / "pass.png"
    proc = run_cli("--json", "--duration", "10", "--seed", "7", "--out", str(records),
                   "--plot", str(plot))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), records, plot


def test_json_summary(ten_seconds: tuple[dict, Path, Path]) -> None:
    summary, _, _ = ten_seconds
    assert summary["duration_s"] == pytest.approx(10.0)
    assert summary["pulses_sent"] == round(10.0 * 625e6)
    assert summary["max_elevation_deg"] == pytest.approx(34.1, abs=0.05)
    assert summary["detections"] > 1e5  # ~26 kcps around the culmination
    assert summary["wall_time_s"] > 0
    assert 0.003 < summary["true_qber"] < 0.03
    timeline = summary["timeline"]
    assert isinstance(timeline, list) and len(timeline) >= 10
    for row in timeline:
        assert set(row) >= TIMELINE_KEYS
    t_s = [row["t_s"] for row in timeline]
    assert t_s[0] == 0.0 and all(b - a <= 1.0 for a, b in itertools.pairwise(t_s))
    assert sum(row["count_rate_cps"] for row in timeline) == summary["detections"]
    for row in timeline:
        assert 30 < row["loss_db"] < 40 and row["background_cps"] > 0
        assert 800 < row["range_km"] < 900 and 33 < row["elevation_deg"] < 34.2


def test_out_file_is_readable(ten_seconds: tuple[dict, Path, Path]) -> None:
    summary, records, _ = ten_seconds
    satellite, ground, truth = load_records(records)
    assert satellite.pulses_sent == summary["pulses_sent"]
    assert satellite.seed == 7
    assert len(ground) == summary["detections"]
    assert int(truth.mis_indexed.sum()) == summary["mis_indexed_detections"]


def test_plot_is_a_png(ten_seconds: tuple[dict, Path, Path]) -> None:
    _, _, plot = ten_seconds
    data = plot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000


def test_table_output() -> None:
    proc = run_cli("--duration", "2", "--mission", "jinan1", "--station", "jinan")
    assert proc.returncode == 0, proc.stderr
    assert "pulses_sent" in proc.stdout and "1,250,000,000" in proc.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--station", "atlantis"), "--station"),
        (("--duration", "-5"), "--duration"),
        (("--duration", "0"), "--duration"),
        (("--max-elevation", "12"), "--max-elevation"),
        (("--start", "yesterday"), "--start"),
        (("--mission", "nosuchmission"), "mission"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], needle: str) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("satqkd: error:") and needle in lines[0]
    assert proc.stdout == ""


def test_console_script_error_path() -> None:
    """The real entry point in a fresh interpreter: no traceback, exit 2."""
    proc = subprocess.run(
        [sys.executable, "-m", "satqkd.cli.main", "simulate", "--station", "atlantis"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr
