"""The KME over real mutual TLS on loopback, with httpx and two independent PyPI clients.

The clients are ``etsi-qkd-014-client`` 0.9.0 (LIP6) and ``qkdsec`` 0.3.0 (its
``qkdsec.client`` module); both speak ETSI GS QKD 014 V1.1.1 over ``requests``.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from etsi_qkd_014_client import QKD014Client
from qkdsec.client import ETSI014Client, KMEHTTPError

from satqkd.keys import KeyStore, Provenance
from satqkd.keys.etsi014 import BackgroundServer, Kme, SaeMap, create_app
from satqkd.keys.etsi014.server import CoalescingTransport, TlsScopeH11Protocol
from satqkd.keys.pki import LoopbackPki, make_loopback_pki

SAES = ("alice", "bob", "eve")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LoopbackPki:
    return make_loopback_pki(tmp_path_factory.mktemp("pki"), SAES)


@pytest.fixture(scope="module")
def server(
    pki: LoopbackPki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackgroundServer]:
    root = tmp_path_factory.mktemp("stores")
    jinan, hefei = KeyStore(root / "jinan.db", "jinan"), KeyStore(root / "hefei.db", "hefei")
    material = bytes(range(256)) * 16  # 4 KiB: 128 keys of 256 bits
    for store in (jinan, hefei):
        store.add_block("jinan:hefei", material, 1e-10, Provenance("pass-1"))
    kme = Kme([jinan, hefei], SaeMap({"alice": "jinan", "bob": "hefei", "eve": "hefei"}))
    with BackgroundServer(
        create_app(kme), cert=pki.server.cert, key=pki.server.key, ca=pki.ca_cert
    ) as srv:
        yield srv
    jinan.close()
    hefei.close()


def _client_ctx(pki: LoopbackPki, sae: str | None, **kw: object) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    for name, value in kw.items():
        setattr(ctx, name, value)
    if sae is not None:
        ctx.load_cert_chain(str(pki.clients[sae].cert), str(pki.clients[sae].key))
    return ctx


def _httpx(
    pki: LoopbackPki, server: BackgroundServer, sae: str | None, **kw: object
) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, verify=_client_ctx(pki, sae, **kw), timeout=10)


def test_identity_is_the_certificate_cn_not_a_header(pki, server) -> None:
    with _httpx(pki, server, "alice") as alice, _httpx(pki, server, "bob") as bob:
        spoof = {"X-SAE-ID": "bob", "X-Forwarded-Client-Cert": "CN=bob"}
        st = alice.get("/api/v1/keys/bob/status", headers=spoof).json()
        assert (st["master_SAE_ID"], st["slave_SAE_ID"]) == ("alice", "bob")
        keys = alice.get("/api/v1/keys/bob/enc_keys", params={"number": 2}).json()["keys"]
        ids = [{"key_ID": k["key_ID"]} for k in keys]
        r = alice.post("/api/v1/keys/alice/dec_keys", json={"key_IDs": ids}, headers=spoof)
        assert r.status_code == 401
        got = bob.post("/api/v1/keys/alice/dec_keys", json={"key_IDs": ids}).json()["keys"]
        assert got == keys


def test_pure_python_h11_protocol_serves_the_same(pki, tmp_path: Path) -> None:
    """The fallback without httptools: identity from the certificate, keys once."""
    jinan, hefei = (
        KeyStore(tmp_path / "jinan.db", "jinan"),
        KeyStore(tmp_path / "hefei.db", "hefei"),
    )
    for store in (jinan, hefei):
        store.add_block("jinan:hefei", bytes(range(256)), 1e-10, Provenance("pass-1"))
    kme = Kme([jinan, hefei], SaeMap({"alice": "jinan", "bob": "hefei"}))
    app = create_app(kme)
    args = {"cert": pki.server.cert, "key": pki.server.key, "ca": pki.ca_cert}
    with BackgroundServer(app, http=TlsScopeH11Protocol, **args) as srv:
        assert isinstance(srv.server.config.http, type)
        with _httpx(pki, srv, "alice") as alice, _httpx(pki, srv, "bob") as bob:
            keys = alice.get("/api/v1/keys/bob/enc_keys", params={"number": 2}).json()["keys"]
            body = {"key_IDs": [{"key_ID": k["key_ID"]} for k in keys]}
            assert bob.post("/api/v1/keys/alice/dec_keys", json=body).json()["keys"] == keys
            assert bob.post("/api/v1/keys/alice/dec_keys", json=body).status_code == 400
            assert alice.post("/api/v1/keys/alice/dec_keys", json=body).status_code == 401
    jinan.close()
    hefei.close()


def test_tls_12_works_and_minimum_is_enforced(pki, server) -> None:
    with _httpx(pki, server, "alice", maximum_version=ssl.TLSVersion.TLSv1_2) as alice:
        assert alice.get("/api/v1/keys/bob/status").status_code == 200
    assert server.server.config.ssl.minimum_version == ssl.TLSVersion.TLSv1_2
    assert server.server.config.ssl.verify_mode == ssl.CERT_REQUIRED


def test_clients_without_a_trusted_certificate_are_refused(pki, server, tmp_path: Path) -> None:
    with _httpx(pki, server, None) as anonymous, pytest.raises(httpx.TransportError):
        anonymous.get("/api/v1/keys/bob/status")
    rogue = make_loopback_pki(tmp_path / "rogue", ["alice"], ca_name="rogue CA")
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    ctx.load_cert_chain(str(rogue.clients["alice"].cert), str(rogue.clients["alice"].key))
    with (
        httpx.Client(base_url=server.base_url, verify=ctx) as forged,
        pytest.raises(httpx.TransportError),
    ):
        forged.get("/api/v1/keys/bob/status")


def _lip6(pki: LoopbackPki, server: BackgroundServer, sae: str) -> QKD014Client:
    pair = pki.clients[sae]
    return QKD014Client(f"127.0.0.1:{server.port}", str(pair.cert), str(pair.key), str(pki.ca_cert))


def test_etsi_qkd_014_client_interoperates(pki, server) -> None:
    alice, bob, eve = (_lip6(pki, server, s) for s in SAES)
    code, status = alice.get_status("bob")
    assert code == 200 and status.master_sae_id == "alice" and status.key_size == 256
    code, simple = alice.get_key("bob")  # plain GET, server defaults
    assert code == 200 and len(simple.keys) == 1
    code, container = alice.get_key("bob", number=3, size=512)  # POST with a Key request
    assert code == 200 and len(container.keys) == 3
    assert all(len(base64.b64decode(k.key)) == 64 for k in container.keys)
    ids = [k.key_id for k in container.keys]
    code, error = eve.get_key_with_key_IDs("alice", ids)
    assert code == 401 and error.message
    code, decrypted = bob.get_key_with_key_IDs("alice", ids)
    assert code == 200 and [k.key for k in decrypted.keys] == [k.key for k in container.keys]
    code, error = bob.get_key_with_key_IDs("alice", ids)
    assert code == 400 and "only once" in error.message
    code, error = alice.get_key("bob", size=12)
    assert code == 400


def _qkdsec(pki: LoopbackPki, server: BackgroundServer, sae: str) -> ETSI014Client:
    pair = pki.clients[sae]
    return ETSI014Client(
        server.base_url, client_cert=(str(pair.cert), str(pair.key)), verify=str(pki.ca_cert)
    )


def test_qkdsec_client_interoperates(pki, server) -> None:
    with _qkdsec(pki, server, "alice") as alice, _qkdsec(pki, server, "bob") as bob:
        status = alice.status("bob")
        assert (status.source_kme_id, status.target_kme_id) == ("KME-jinan", "KME-hefei")
        got = alice.get_enc_keys("bob", number=2, size=256)  # GET with query parameters
        got += alice.get_enc_keys("bob", number=1, size=128, method="POST")
        assert [k.size_bits for k in got] == [256, 256, 128]
        # qkdsec calls the path parameter of dec_keys "slave_sae_id"; ETSI 014 puts the
        # *master* SAE ID there, which is what we pass.
        back = bob.get_dec_keys("alice", key_ids=[k.key_id for k in got])
        assert [k.key for k in back] == [k.key for k in got]
        with pytest.raises(KMEHTTPError) as replay:
            bob.get_dec_keys("alice", key_ids=[got[0].key_id])
        assert replay.value.status_code == 400
        with pytest.raises(KMEHTTPError) as too_many:
            alice.get_enc_keys("bob", number=10_000)
        assert too_many.value.status_code == 400
        with pytest.raises(KMEHTTPError) as exhausted:
            alice.get_enc_keys("bob", number=128, size=8192)
        assert exhausted.value.status_code == 503


def test_coalescing_transport_sends_a_response_in_one_write() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.writes: list[bytes] = []
            self.closed = False

        def write(self, data: bytes) -> None:
            self.writes.append(data)

        def is_closing(self) -> bool:
            return self.closed

        def close(self) -> None:
            self.closed = True

    async def main() -> None:
        raw = Recorder()
        transport = CoalescingTransport(raw)  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        transport.write(b"{}")
        assert raw.writes == []  # held until the end of this loop iteration
        await asyncio.sleep(0)
        assert raw.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
        transport.writelines([b"a", b"b"])
        transport.close()  # flushes first
        assert raw.writes[-1] == b"ab" and raw.closed

    asyncio.run(main())
