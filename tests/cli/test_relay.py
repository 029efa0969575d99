"""``satqkd relay`` and ``satqkd send`` on keys from real simulated passes (SPEC §9)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from satqkd.cli.testing import invoke
from satqkd.keys import KeyStore


@pytest.fixture(scope="module")
def relayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """Jinan pass, then the next Nanshan pass (20-s QKD windows), relay Jinan's key."""
    store = tmp_path_factory.mktemp("relay") / "stores"
    proc = invoke("relay", "--start", "2022-09-25T00:00:00Z", "--duration", "20",
                  "--store", str(store), "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), store


def test_relay_report(relayed: tuple[dict, Path]) -> None:
    report, store = relayed
    a, b = report["pass_a"], report["pass_b"]
    assert a["station"] == "Jinan" and b["station"] == "Nanshan"
    assert a["keys_match"] and b["keys_match"]
    # Consecutive orbits: about one orbital period (≈ 95 min) apart.
    assert 1.2 < report["latency_between_passes_h"] < 2.0
    # Everything the smaller of the two links allows, in whole bytes.
    limit = min(a["final_key_bits"], b["final_key_bits"])
    assert limit - 8 < report["relayed_bits"] <= limit
    with KeyStore(store / "jinan.db", "jinan") as ja, \
            KeyStore(store / "nanshan.db", "nanshan") as nb:
        link = report["relayed_link"]
        assert ja.available_bytes(link) == nb.available_bytes(link) == report["relayed_bits"] // 8


def test_send_through_relayed_key(relayed: tuple[dict, Path], tmp_path: Path) -> None:
    report, store = relayed
    image = tmp_path / "image.bin"
    image.write_bytes(os.urandom(4096))
    for flag in ("--otp", "--aes"):
        out = tmp_path / f"received{flag}.bin"
        proc = invoke("send", str(image), flag, "--store", str(store), "--output", str(out),
                      "--json")
        assert proc.returncode == 0, proc.stderr
        sent = json.loads(proc.stdout)
        assert sent["identical"] and out.read_bytes() == image.read_bytes()
        assert sent["route"] == "relayed"
    # A file larger than every pool is refused with one line, nothing written.
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(report["relayed_bits"] // 8 + 1))
    proc = invoke("send", str(big), "--otp", "--store", str(store), "--output",
                  str(tmp_path / "nope"))
    assert proc.returncode == 2 and "not enough key" in proc.stderr
    assert not (tmp_path / "nope").exists()
