"""Trusted-node key relay and file transfer through the satellite (SPEC §9)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from satqkd.errors import InputError
from satqkd.keys import (
    InsufficientKeyError,
    KeyDesyncError,
    KeyStoreError,
    aes_decrypt,
    aes_encrypt,
    canonical_link,
    otp_decrypt,
    otp_encrypt,
    relay_key,
    send_file,
)
from satqkd.keys.encryption import AesCiphertext, otp_forward

SAT, A, B = "jinan1-sat", "jinan", "nanshan"
LINK_A, LINK_B, LINK_AB = f"{SAT}:{A}", f"{SAT}:{B}", f"{A}:{B}"
CA, CB = canonical_link(LINK_A), canonical_link(LINK_B)  # "jinan:jinan1-sat", ...


@pytest.fixture
def nodes(stores, share, rng):
    """Satellite and two stations after two passes: MJ with A (pass 1), MN with B (pass 2)."""
    sat, a, b = stores(SAT), stores(A), stores(B)
    mj, mn = rng.bytes(4096), rng.bytes(4096)
    share(sat, a, mj, pass_id="pass-1-jinan", epsilon=1e-10)
    share(sat, b, mn, pass_id="pass-2-nanshan", epsilon=2e-10)
    return sat, a, b, mj, mn


def test_relay_gives_both_stations_mj(nodes) -> None:
    sat, a, b, mj, mn = nodes
    result = relay_key(sat, a, b, LINK_A, LINK_B, n_bits=1024)
    assert result.link_ab == "jinan:nanshan" and result.epsilon == pytest.approx(3e-10)
    assert result.message.masked == bytes(x ^ y for x, y in zip(mj[:128], mn[:128], strict=True))
    # Both stations hold the same block on link A–B, equal to MJ, with relay provenance.
    for store in (a, b):
        (block,) = store.blocks(LINK_AB)
        assert block.block_id == result.block_id and block.provenance.source == "relay"
        assert block.provenance.extra["from_passes"] == ["pass-1-jinan", "pass-2-nanshan"]
    key = a.carve(LINK_AB, 128)
    assert key.material == mj[:128]
    assert b.carve_at(LINK_AB, key.segments, key_id=key.key_id).material == mj[:128]
    # Consumption: MJ and MN at the satellite, MJ at A (moved), MN at B.
    assert sat.available_bytes(LINK_A) == sat.available_bytes(LINK_B) == 4096 - 128
    assert a.available_bytes(LINK_A) == b.available_bytes(LINK_B) == 4096 - 128
    assert result.consumed_bits == {SAT: {CA: 1024, CB: 1024}, A: {CA: 1024}, B: {CB: 1024}}
    assert {r.purpose for r in sat.list_keys()} == {"relay"}


def test_relay_refuses_without_consuming(nodes) -> None:
    sat, a, b, *_ = nodes
    with pytest.raises(InsufficientKeyError):
        relay_key(sat, a, b, LINK_A, LINK_B, n_bits=8 * 5000)
    with pytest.raises(InputError, match="multiple of 8"):
        relay_key(sat, a, b, LINK_A, LINK_B, n_bits=12)
    with pytest.raises(InputError, match="differ"):
        relay_key(sat, a, b, LINK_A, LINK_A, n_bits=8)
    assert sat.available_bytes(LINK_A) == sat.available_bytes(LINK_B) == 4096
    assert sat.list_keys() == a.list_keys() == b.list_keys() == []


@pytest.mark.parametrize("cipher", ["otp", "aes-128-gcm", "aes-256-gcm"])
def test_send_file_is_byte_identical(nodes, tmp_path: Path, cipher: str) -> None:
    sat, a, b, *_ = nodes
    src, dst = tmp_path / "image.bin", tmp_path / "received.bin"
    payload = os.urandom(3000 if cipher == "otp" else 200_000)
    src.write_bytes(payload)
    result = send_file(
        src, dst, sat_store=sat, store_a=a, store_b=b, link_a=LINK_A, link_b=LINK_B, cipher=cipher
    )
    assert dst.read_bytes() == payload and result.identical
    used = 8 * 3000 if cipher == "otp" else int(cipher.split("-")[1])
    assert result.key_bits_consumed == {CA: used, CB: used}
    assert sat.available_bytes(LINK_A) == a.available_bytes(LINK_A) == 4096 - used // 8
    assert sat.available_bytes(LINK_B) == b.available_bytes(LINK_B) == 4096 - used // 8


@pytest.mark.parametrize("cipher", ["otp", "aes-256-gcm"])
def test_send_file_uses_relayed_key_end_to_end(nodes, tmp_path: Path, cipher: str) -> None:
    sat, a, b, *_ = nodes
    relayed = relay_key(sat, a, b, LINK_A, LINK_B, n_bits=8 * 3000)
    src, dst = tmp_path / "image.bin", tmp_path / "received.bin"
    payload = os.urandom(2000)
    src.write_bytes(payload)
    result = send_file(
        src, dst, sat_store=sat, store_a=a, store_b=b, link_a=LINK_A, link_b=LINK_B, cipher=cipher
    )
    assert dst.read_bytes() == payload and result.route == "relayed"
    used = 8 * 2000 if cipher == "otp" else 256
    assert result.key_bits_consumed == {relayed.link_ab: used}
    # Nothing more on the satellite's links; the A–B pool shrank at both ends alike.
    assert sat.available_bytes(LINK_A) == a.available_bytes(LINK_A) == 4096 - 3000
    assert sat.available_bytes(LINK_B) == b.available_bytes(LINK_B) == 4096 - 3000
    left = 3000 - used // 8
    assert a.available_bytes(relayed.link_ab) == b.available_bytes(relayed.link_ab) == left
    # A file larger than the relayed pool falls back to hop-by-hop and leaves it alone.
    src.write_bytes(os.urandom(1000))
    again = send_file(
        src, dst, sat_store=sat, store_a=a, store_b=b, link_a=LINK_A, link_b=LINK_B, cipher="otp"
    )
    expect_route = "hop-by-hop" if left < 1000 else "relayed"
    assert again.route == expect_route and dst.read_bytes() == src.read_bytes()


def test_send_file_refuses_when_key_is_short(nodes, tmp_path: Path) -> None:
    sat, a, b, *_ = nodes
    src = tmp_path / "big.bin"
    src.write_bytes(bytes(5000))
    with pytest.raises(InsufficientKeyError, match="needs 40000 bits"):
        send_file(
            src, tmp_path / "out", sat_store=sat, store_a=a, store_b=b, link_a=LINK_A, link_b=LINK_B
        )
    assert not (tmp_path / "out").exists()
    assert all(s.available_bytes(LINK_A) == 4096 for s in (sat, a))


def test_otp_pad_is_never_reused(nodes) -> None:
    sat, a, *_ = nodes
    c1 = otp_encrypt(a, LINK_A, b"attack at dawn!!")
    c2 = otp_encrypt(a, LINK_A, b"attack at dawn!!")
    assert c1.ciphertext != c2.ciphertext
    assert {s.start_byte for s in c1.segments}.isdisjoint({s.start_byte for s in c2.segments})
    assert otp_decrypt(sat, c1) == b"attack at dawn!!"
    with pytest.raises(KeyDesyncError, match="already consumed"):
        otp_decrypt(sat, c1)  # the pad is gone at the receiver too
    assert otp_decrypt(sat, c2) == b"attack at dawn!!"


def test_otp_forward_is_decrypt_then_fresh_pad(nodes) -> None:
    sat, a, b, *_ = nodes
    up = otp_encrypt(a, LINK_A, b"image tile 0042")
    down = otp_forward(sat, up, LINK_B)
    assert down.link == CB and otp_decrypt(b, down) == b"image tile 0042"


def test_aes_gcm_authenticates(nodes) -> None:
    sat, a, *_ = nodes
    sealed = aes_encrypt(a, LINK_A, b"one megabyte, in spirit", key_bits=128)
    tampered = AesCiphertext(**{**sealed.__dict__, "ciphertext": b"\x00" + sealed.ciphertext[1:]})
    with pytest.raises(KeyStoreError, match="authentication failed"):
        aes_decrypt(sat, tampered)
    with pytest.raises(InputError):
        aes_encrypt(a, LINK_A, b"x", key_bits=192)


CONSUMER = r"""
import sys
from satqkd.keys import KeyStore, otp_encrypt
store = KeyStore(sys.argv[1])
out = []
for _ in range(40):
    c = otp_encrypt(store, "jinan1-sat:jinan", bytes(16))
    out.append(",".join(f"{s.block_id}/{s.start_byte}/{s.stop_byte}" for s in c.segments))
print("\n".join(out))
"""


def test_concurrent_processes_never_share_a_pad(nodes) -> None:
    """Three processes one-time-pad encrypt on one store at once: every pad is distinct."""
    _, a, *_ = nodes
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONSUMER, str(a.path)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    lines = [line for p in procs for line in p.communicate(timeout=60)[0].split()]
    assert all(p.returncode == 0 for p in procs)
    starts = sorted(int(x.split("/")[1]) for x in lines)
    assert starts == list(range(0, 16 * 120, 16))
    assert a.available_bytes(LINK_A) == 4096 - 16 * 120
