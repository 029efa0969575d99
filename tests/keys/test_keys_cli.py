"""``satqkd keys list|stats|serve`` from the command line."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import satqkd.keys
import satqkd.keys.etsi014
from satqkd.cli.main import app
from satqkd.keys.pki import make_loopback_pki

runner = CliRunner(env={"COLUMNS": "200"})  # rich tables at full width


@pytest.fixture
def filled(stores, share, rng) -> Path:
    sat, gs = stores("jinan1-sat"), stores("jinan")
    share(sat, gs, rng.bytes(1000), pass_id="2022-09-25-jinan")
    sat.carve_keys("jinan1-sat:jinan", 32, 2, state="delivered", master_sae="m", slave_sae="s")
    return sat.path


def test_list_and_stats_as_json(filled: Path) -> None:
    listing = runner.invoke(app, ["keys", "list", "--db", str(filled), "--json"])
    assert listing.exit_code == 0, listing.output
    data = json.loads(listing.stdout)
    assert data["node"] == "jinan1-sat" and len(data["keys"]) == 2
    assert data["blocks"][0]["available_bytes"] == 1000 - 64
    assert "material" not in listing.stdout  # never the key bytes
    stats = json.loads(runner.invoke(app, ["keys", "stats", "--db", str(filled), "--json"]).stdout)
    (link,) = stats["links"]
    assert link["keys_by_state"]["delivered"] == 2 and link["available_bits"] == 8 * 936


def test_rich_tables_and_bad_input(filled: Path, tmp_path: Path) -> None:
    out = runner.invoke(app, ["keys", "stats", "--db", str(filled)])
    assert out.exit_code == 0 and "jinan:jinan1-sat" in out.stdout
    out = runner.invoke(app, ["keys", "list", "--db", str(filled), "--state", "delivered"])
    assert out.exit_code == 0 and "2022-09-25-jinan" in out.stdout
    assert runner.invoke(app, ["keys", "list", "--db", str(filled), "--state", "gone"]).exit_code
    assert runner.invoke(app, ["keys", "stats", "--db", str(tmp_path / "missing.db")]).exit_code
    assert not (tmp_path / "missing.db").exists()


def test_public_api_lists_are_sorted() -> None:
    for module in (satqkd.keys, satqkd.keys.etsi014):
        assert module.__all__ == sorted(module.__all__)
        assert all(hasattr(module, name) for name in module.__all__)


def test_serve_command_answers_over_mutual_tls(filled: Path, tmp_path: Path) -> None:
    pki = make_loopback_pki(tmp_path / "pki", ["jinan1-sat", "jinan"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [
        sys.executable,
        "-m",
        "satqkd.cli.main",
        "keys",
        "serve",
        "--db",
        str(filled),
        "--db",
        str(tmp_path / "jinan.db"),
        "--port",
        str(port),
        "--cert",
        str(pki.server.cert),
        "--key",
        str(pki.server.key),
        "--ca",
        str(pki.ca_cert),
    ]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        pair = pki.clients["jinan"]
        ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
        ctx.load_cert_chain(str(pair.cert), str(pair.key))
        client = httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=ctx, timeout=5)
        deadline = time.monotonic() + 20
        while True:
            try:
                status = client.get("/api/v1/keys/jinan1-sat/status")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert status.status_code == 200
        assert status.json()["stored_key_count"] == 936 // 32
        client.close()
    finally:
        proc.terminate()
        code = proc.wait(timeout=20)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert "KME for nodes jinan1-sat, jinan" in text
    # SIGTERM: graceful shutdown, the stores closed, exit status 0.
    assert code == 0 and "group commit: 1 operations in 1 batches" in text
