"""The key workflow from the command line: ``pass --store`` fills both stores, ``send`` a file.

``satqkd relay`` runs two full passes (over a minute) and is not run here; its key
logic is tested in ``test_key_relay.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from satqkd.cli.main import app
from satqkd.keys import KeyStore, Provenance

runner = CliRunner(env={"COLUMNS": "200"})
SHORT = ["--max-elevation", "70", "--duration", "20", "--seed", "3"]
"""20 s of a 70° synthetic pass: one privacy-amplification block."""


def test_pass_store_fills_both_ends_with_the_same_key(tmp_path: Path) -> None:
    stores = tmp_path / "keys"
    result = runner.invoke(app, ["pass", *SHORT, "--store", str(stores), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    stored = report["stored_blocks"]
    assert stored and all(b["same_id"] and b["bits"] > 0 for b in stored)
    assert sum(b["bits"] for b in stored) == report["final_key_bits"]
    link = "jinan:jinan1-sat"
    for db in ("jinan1-sat.db", "jinan.db"):
        stats = runner.invoke(app, ["keys", "stats", "--db", str(stores / db), "--json"])
        assert stats.exit_code == 0, stats.output
        (entry,) = json.loads(stats.stdout)["links"]
        assert entry["link"] == link and entry["n_blocks"] == len(stored)
        assert entry["available_bits"] == 8 * sum(b["bits"] // 8 for b in stored)
        listing = runner.invoke(app, ["keys", "list", "--db", str(stores / db), "--json"])
        blocks = json.loads(listing.stdout)["blocks"]
        assert [b["block_id"] for b in blocks] == [b["id"] for b in stored]
    # Each end added its own copy of the final key: carving the same positions at both
    # ends gives the same bytes.
    with KeyStore(stores / "jinan1-sat.db") as sat, KeyStore(stores / "jinan.db") as gs:
        n = sat.available_bytes(link)
        key = sat.carve(link, n)
        assert gs.carve_at(link, key.segments, key_id=key.key_id).material == key.material


def _stations(root: Path, key_bytes: int) -> None:
    """Stores of the satellite, Jinan and Nanshan after two passes (random shared keys)."""
    root.mkdir()
    with (
        KeyStore(root / "jinan1-sat.db", "jinan1-sat") as sat,
        KeyStore(root / "jinan.db", "jinan") as a,
        KeyStore(root / "nanshan.db", "nanshan") as b,
    ):
        for station, link in ((a, "jinan1-sat:jinan"), (b, "jinan1-sat:nanshan")):
            material = os.urandom(key_bytes)
            prov = Provenance(f"pass-{station.node}")
            sat.add_block(link, material, 1e-10, prov)
            station.add_block(link, material, 1e-10, prov)


def test_send_otp_and_aes_are_byte_identical_and_consume_key(tmp_path: Path) -> None:
    stores = tmp_path / "keys"
    _stations(stores, 8192)
    image = tmp_path / "image.bin"
    payload = os.urandom(3000)
    image.write_bytes(payload)
    for cipher, used_bytes in ((["--otp"], 3000), (["--aes", "--aes-bits", "128"], 16)):
        out = tmp_path / f"received-{cipher[0][2:]}.bin"
        args = ["send", str(image), "--store", str(stores), "--output", str(out), "--json"]
        result = runner.invoke(app, [*args, *cipher])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["identical"] and out.read_bytes() == payload
        assert report["key_bits_consumed"] == {
            "jinan:jinan1-sat": 8 * used_bytes,
            "jinan1-sat:nanshan": 8 * used_bytes,
        }
    with KeyStore(stores / "jinan.db") as a, KeyStore(stores / "nanshan.db") as b:
        assert a.available_bytes("jinan:jinan1-sat") == 8192 - 3000 - 16
        assert b.available_bytes("jinan1-sat:nanshan") == 8192 - 3000 - 16


def test_send_refuses_a_file_longer_than_the_key(tmp_path: Path) -> None:
    stores = tmp_path / "keys"
    _stations(stores, 1024)
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(2000))
    out = tmp_path / "never.bin"
    result = runner.invoke(app, ["send", str(big), "--store", str(stores), "--output", str(out)])
    assert result.exit_code != 0 and not out.exists()
    assert "not enough key" in str(result.exception)
    with KeyStore(stores / "jinan.db") as a:
        assert a.available_bytes("jinan:jinan1-sat") == 1024  # nothing consumed
    missing = runner.invoke(app, ["send", str(big), "--store", str(tmp_path / "none")])
    assert missing.exit_code != 0 and "satqkd pass --store" in str(missing.exception)
