"""Crash safety: a process killed with SIGKILL mid-delivery loses no key and delivers none twice.

A child process loops over two kinds of delivery on one store: carving fresh keys
from the pool straight to ``delivered``, and handing out keys reserved in advance.
It logs each delivery (after the commit) with one unbuffered ``write``. The parent
kills it with SIGKILL at random moments, several times, then checks the invariants.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from satqkd.keys import KeyStore, Provenance

LINK = "ground:sat"
RESERVE_LINK = "other:sat"
CHILD = r"""
import json, os, sys
from satqkd.keys import KeyStore
store = KeyStore(sys.argv[1])
log = os.open(sys.argv[2], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
for i in range(10**6):
    held = store.list_keys(state="reserved", limit=1)
    if held and (i % 2 or store.available_bytes("ground:sat") < 24):
        (key,) = store.take_keys([held[0].key_id], caller_sae="sae-b")
        line = {"kind": "take", "key_id": held[0].key_id, "key": key.hex()}
    else:
        carved = store.carve("ground:sat", 24, state="delivered")
        line = {"kind": "carve", "key_id": carved.key_id, "key": carved.material.hex(),
                "segments": [s.to_json() for s in carved.segments]}
    os.write(log, (json.dumps(line) + "\n").encode())
    held = store.list_keys(state="reserved", limit=1)
    if not held and store.available_bytes("ground:sat") < 24:
        break
"""


def _run_and_kill(db: Path, log: Path, delay_s: float) -> int:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(log)], env=env)
    start_lines = log.read_text().count("\n") if log.exists() else 0
    deadline = time.monotonic() + 20
    # Wait until the child is delivering, then let it run a random while and kill it.
    while time.monotonic() < deadline and child.poll() is None:
        if log.exists() and log.read_text().count("\n") > start_lines:
            break
        time.sleep(0.005)
    time.sleep(delay_s)
    if child.poll() is None:
        os.kill(child.pid, signal.SIGKILL)
    return child.wait(timeout=20)


def test_sigkill_during_deliveries_loses_nothing_and_never_repeats(tmp_path: Path) -> None:
    rnd = random.Random(7)
    db, log = tmp_path / "sat.db", tmp_path / "deliveries.jsonl"
    pool = rnd.randbytes(24 * 6000)
    reserved_material = rnd.randbytes(16 * 4000)
    with KeyStore(db, "sat") as store:
        block_id = store.add_block(LINK, pool, 1e-10, Provenance("pass-2"))
        store.add_block(RESERVE_LINK, reserved_material, 1e-10, Provenance("pass-1"))
        reserved = store.carve_keys(RESERVE_LINK, 16, 4000, state="reserved", slave_sae="sae-b")
    expected_reserved = {k.key_id: k.material for k in reserved}

    codes = [_run_and_kill(db, log, rnd.uniform(0.0, 0.3)) for _ in range(4)]
    assert codes == [-signal.SIGKILL] * 4, "a run ended before it was killed: enlarge the pool"

    lines = [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
    ids = [x["key_id"] for x in lines]
    assert len(ids) == len(set(ids)), "a key was delivered twice"
    assert lines, "the child never delivered anything"

    with KeyStore(db) as store:
        conn = store._conn()
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = {r.key_id: r for r in store.list_keys()}
        # Every logged delivery is recorded delivered, with the right bytes.
        for x in lines:
            assert rows[x["key_id"]].state == "delivered"
            assert store.held_key_bytes(x["key_id"]) is None
            if x["kind"] == "take":
                assert bytes.fromhex(x["key"]) == expected_reserved[x["key_id"]]
            else:
                ((bid, start, stop),) = x["segments"]
                assert bid == block_id and bytes.fromhex(x["key"]) == pool[start:stop]
        # Reserved keys not yet handed out are intact.
        for kid, material in expected_reserved.items():
            if rows[kid].state == "reserved":
                assert store.held_key_bytes(kid) == material
            else:
                assert rows[kid].state == "delivered"
        # The consumed part of the pool is exactly the union of delivered keys: no gap
        # (lost material), no overlap (double use); the rest of the pool is intact.
        (block,) = [b for b in store.blocks() if b.block_id == block_id]
        spans = sorted(
            (s.start_byte, s.stop_byte)
            for r in rows.values()
            for s in r.segments
            if s.block_id == block_id
        )
        assert spans == [(i, i + 24) for i in range(0, block.consumed_bytes, 24)]
        rest = store.carve(LINK, block.available_bytes) if block.available_bytes else None
        if rest is not None:
            assert rest.material == pool[block.consumed_bytes :]
    print(f"{len(lines)} deliveries logged over 4 killed runs; frontier {block.consumed_bytes}")
