"""Bad input never gives a traceback: ``satqkd passes`` prints ONE line on stderr naming the
file (or option), the field and the value, and exits 2.

Every case runs through the console-script entry point :func:`satqkd.cli.main.main`
in-process (the CLI imports in ~1.5 s, too slow to pay a dozen times); a few cases also run
as a real ``python -m satqkd.cli.main`` process to check what the user's shell sees.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from satqkd.cli.main import main
from satqkd.config import preset_path

Edit = Callable[[dict[str, Any]], None]
Runner = Callable[..., "Outcome"]


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def _run_process(*args: str) -> Outcome:
    result = subprocess.run(
        [sys.executable, "-m", "satqkd.cli.main", "passes", *args],
        capture_output=True, text=True, timeout=120,
    )
    return Outcome(result.returncode, result.stdout, result.stderr)


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Runner:
    """``satqkd passes ARGS`` through the console-script entry point, in this process."""

    def _run(*args: str) -> Outcome:
        monkeypatch.setattr(sys, "argv", ["satqkd", "passes", *args])
        with pytest.raises(SystemExit) as exit_info:
            main()
        captured = capsys.readouterr()
        return Outcome(int(exit_info.value.code or 0), captured.out, captured.err)

    return _run


def _assert_one_line_error(result: Outcome, *needles: str) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def _mission_file(tmp_path: Path, preset: str, edit: Edit) -> Path:
    data = tomllib.loads(preset_path(preset).read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / f"edited_{preset}.toml"
    path.write_bytes(tomli_w.dumps(data).encode("utf-8"))
    return path


def _bad_checksum(data: dict[str, Any]) -> None:
    line1 = data["satellite"]["orbit"]["line1"]
    data["satellite"]["orbit"]["line1"] = line1[:-1] + str((int(line1[-1]) + 1) % 10)


def _short_line2(data: dict[str, Any]) -> None:
    data["satellite"]["orbit"]["line2"] = data["satellite"]["orbit"]["line2"][:-1]


def _latitude_95(data: dict[str, Any]) -> None:
    data["stations"]["jinan"]["latitude_deg"] = 95.0


def _negative_efficiency(data: dict[str, Any]) -> None:
    data["stations"]["hefei"]["optical_efficiency"] = -0.49


def _negative_detector_efficiency(data: dict[str, Any]) -> None:
    data["stations"]["wuhan"]["detectors"]["efficiency"] = -0.6


def _probabilities_sum(data: dict[str, Any]) -> None:
    data["satellite"]["payload"]["probabilities"]["signal"] = 0.6


@pytest.mark.parametrize(
    ("preset", "edit", "field", "value", "message"),
    [
        ("micius", _bad_checksum, "satellite.orbit.line1", "9994", "checksum is '4', computed 3"),
        ("micius", _short_line2, "satellite.orbit.line2", "2 41731  97.3699",
         "69 characters, got 68"),
        ("jinan1", _latitude_95, "stations.jinan.latitude_deg", "95", "less than or equal to 90"),
        ("jinan1", _negative_efficiency, "stations.hefei.optical_efficiency", "-0.49",
         "greater than 0"),
        ("jinan1", _negative_detector_efficiency, "stations.wuhan.detectors.efficiency", "-0.6",
         "greater than 0"),
        ("jinan1", _probabilities_sum, "satellite.payload.probabilities", "1.1", "sum to 1"),
    ],
    ids=["tle-checksum", "tle-length", "latitude-95", "negative-efficiency",
         "negative-detector-efficiency", "probabilities-sum"],
)
def test_bad_mission_file(
    run: Runner, tmp_path: Path, preset: str, edit: Edit, field: str, value: str, message: str
) -> None:
    path = _mission_file(tmp_path, preset, edit)
    line = _assert_one_line_error(run("--mission", str(path)), str(path), field, value, message)
    # The field is named exactly, not as a pydantic-internal path.
    assert f"{field} " in line or f"{field}:" in line, line


def test_unknown_preset(run: Runner) -> None:
    _assert_one_line_error(run("--mission", "voyager"), "mission", "'voyager'", "jinan1")


def test_unknown_station(run: Runner) -> None:
    _assert_one_line_error(
        run("--mission", "jinan1", "--station", "beijing"), "--station", "'beijing'", "nanshan"
    )


def test_missing_file(run: Runner, tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "mission.toml"
    _assert_one_line_error(run("--mission", str(path)), str(path), "no such mission file")


def test_invalid_toml(run: Runner, tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('name = "broken"\n[satellite\n', encoding="utf-8")
    _assert_one_line_error(run("--mission", str(path)), str(path), "not valid TOML", "line 2")


def test_bad_start_time(run: Runner) -> None:
    _assert_one_line_error(run("--start", "yesterday"), "--start", "'yesterday'", "ISO 8601")


def test_bad_days_and_mask(run: Runner) -> None:
    _assert_one_line_error(run("--days", "-1"), "--days", "-1")
    _assert_one_line_error(run("--min-elevation", "95"), "--min-elevation", "95")


def test_as_a_real_process(tmp_path: Path) -> None:
    """``python -m satqkd.cli.main``: the same single line and exit 2 the shell sees."""
    path = _mission_file(tmp_path, "jinan1", _latitude_95)
    _assert_one_line_error(
        _run_process("--mission", str(path)), str(path), "stations.jinan.latitude_deg", "95"
    )
    _assert_one_line_error(_run_process("--start", "yesterday"), "--start", "'yesterday'")
