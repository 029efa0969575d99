"""``satqkd pass``: JSON report in both transports on a short synthetic pass; bad options."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from satqkd.cli.testing import invoke
from satqkd.keys import KeyStore

SHORT = ("--max-elevation", "70", "--duration", "20", "--seed", "3")
"""20 s of a 70° synthetic pass: about 7 packets, one 500-kbit block."""


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``satqkd pass`` in-process (:func:`satqkd.cli.testing.invoke`)."""
    return invoke("pass", *args)


@pytest.mark.parametrize("transport", ["memory", "udp"])
def test_pass_json_in_both_transports(transport: str, tmp_path: Path) -> None:
    store, plot = tmp_path / "keys", tmp_path / "pass.png"
    result = run_cli(*SHORT, "--json", "--transport", transport, "--time-scale", "5",
                     "--store", str(store), "--plot", str(plot))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert plot.stat().st_size > 10_000
    # Both nodes' stores hold every block both parties keyed, under one id, with its ε.
    stored = report["stored_blocks"]
    assert sum(b["bits"] for b in stored) == report["final_key_bits"]
    assert all(b["same_id"] and 0 < b["epsilon"] < 1e-6 for b in stored)
    with KeyStore(store / "jinan1-sat.db", "jinan1-sat") as sat, \
            KeyStore(store / "jinan.db", "jinan") as gs:
        link = "jinan:jinan1-sat"
        assert 8 * sat.available_bytes(link) == 8 * gs.available_bytes(link) > 0
    assert report["keys_match"] is True and report["mismatched_blocks"] == 0
    assert report["final_key_bits"] > 0
    keyed = [b for b in report["blocks"] if b["latency_s"] is not None]
    assert keyed and all(b["latency_s"] > 0 and b["bits"] > 0 for b in keyed)
    if transport == "udp":
        assert report["transport"].startswith("udp") and report["time_scale"] == 5


@pytest.mark.parametrize(("args", "message"), [
    (("--transport", "tcp"), "--transport"),
    (("--transport", "udp", "--time-scale", "0"), "--time-scale"),
])
def test_bad_options_are_one_line_errors(args: tuple[str, ...], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
