"""``satqkd keyrate``: JSON and table output, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from satqkd.cli.keyrate import compute_keyrate, load_keyrate_input
from satqkd.cli.testing import invoke
from satqkd.errors import InputError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "counts_jinan1.json"


def run_subprocess(*args: str) -> subprocess.CompletedProcess[str]:
    """The real console path: a fresh interpreter running ``satqkd keyrate``."""
    return subprocess.run(
        [sys.executable, "-m", "satqkd.cli.main", "keyrate", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``satqkd keyrate`` in-process (:func:`satqkd.cli.testing.invoke`)."""
    return invoke("keyrate", *args)


def write(tmp_path: Path, data: object, name: str = "counts.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def test_json_output_has_the_contract_fields() -> None:
    proc = run_subprocess("--counts", str(EXAMPLE), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for key in ("final_key_bits", "single_photon_lower", "phase_error_upper", "ec_leak_bits",
                "method", "epsilon"):  # fmt: skip
        assert key in out
    assert out["method"] == "chernoff"
    assert out["ec_leak_bits"] == example()["ec_leak_bits"]
    eps = out["epsilon"]
    assert eps["pe_bounds"] == 12 and eps["pe_per_bound"] == 1e-10
    assert eps["total"] == pytest.approx(
        eps["parameter_estimation"] + eps["error_correction"]
        + eps["privacy_amplification"] + eps["authentication"]
    )  # fmt: skip
    # the example is a ~2 Mbit Jinan-1-like pass: a few hundred kbit of final key
    assert 300_000 < out["final_key_bits"] < 600_000
    assert 0.01 < out["phase_error_upper"] < 0.03


def test_library_and_cli_agree_for_every_method() -> None:
    data = load_keyrate_input(EXAMPLE)
    for method in ("chernoff", "gaussian", "composable"):
        proc = run_cli("--counts", str(EXAMPLE), "--method", method, "--json")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["final_key_bits"] == (
            compute_keyrate(data, method).final_key_bits
        )


def test_table_output() -> None:
    proc = run_cli("--counts", str(EXAMPLE), "--method", "composable")
    assert proc.returncode == 0, proc.stderr
    assert "final key bits" in proc.stdout and "composable" in proc.stdout


def test_vacuum_given_as_one_number(tmp_path: Path) -> None:
    data = example()
    data["counts"]["vacuum"] = sum(data["counts"]["vacuum"].values())
    data["errors"]["vacuum"] = sum(data["errors"]["vacuum"].values())
    result = compute_keyrate(load_keyrate_input(write(tmp_path, data)), "chernoff")
    reference = compute_keyrate(load_keyrate_input(EXAMPLE), "chernoff")
    assert result.final_key_bits == pytest.approx(reference.final_key_bits, rel=1e-3)


def _broken(path: list[str], value: object) -> dict:
    data = example()
    node = data
    for part in path[:-1]:
        node = node[part]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["ec_leak_bits"], KeyError, "ec_leak_bits"),
        (["counts", "decoy", "X"], -5, "counts.decoy.X"),
        (["probabilities", "vacuum"], 0.3, "probabilities"),
        (["errors", "signal", "Z"], 10**9, "errors.signal.Z"),
        (["intensities", "decoy"], 0.9, "intensities"),
        (["failure_probability"], 2.0, "failure_probability"),
    ],
)
def test_bad_input_names_file_and_field(
    tmp_path: Path, path: list[str], value: object, field: str
) -> None:
    bad = write(tmp_path, _broken(path, value))
    with pytest.raises(InputError) as info:
        load_keyrate_input(bad)
    assert info.value.source == str(bad) and info.value.field == field


def test_bad_input_on_the_command_line_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = write(tmp_path, _broken(["counts", "decoy", "X"], -5))
    proc = run_subprocess("--counts", str(bad))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "counts.decoy.X" in lines[0]
    assert proc.stdout == ""


def test_unreadable_file_bad_json_and_unknown_method(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(InputError, match="cannot read"):
        load_keyrate_input(missing)
    not_json = tmp_path / "bad.json"
    not_json.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_keyrate_input(not_json)
    with pytest.raises(InputError) as info:
        compute_keyrate(load_keyrate_input(EXAMPLE), "asymptotic")
    assert info.value.source == "--method"
    proc = run_cli("--counts", str(EXAMPLE), "--method", "asymptotic")
    assert proc.returncode == 2 and "--method" in proc.stderr
    proc = run_cli("--counts", str(missing))
    assert proc.returncode == 2 and "missing.json" in proc.stderr
