"""The ETSI GS QKD 014 API in-process (httpx ASGI transport), identity from a client certificate.

No TLS here: the test client puts the PEM of a real certificate of the calling SAE
into the request's ASGI TLS extension, as the mutual-TLS server does after the
handshake, so the application's own certificate-to-SAE code runs.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from satqkd.errors import InputError
from satqkd.keys.etsi014 import Kme, KmeLimits, SaeMap, create_app
from satqkd.keys.pki import make_loopback_pki

STATUS_FIELDS = {
    "source_KME_ID",
    "target_KME_ID",
    "master_SAE_ID",
    "slave_SAE_ID",
    "key_size",
    "stored_key_count",
    "max_key_count",
    "max_key_per_request",
    "max_key_size",
    "min_key_size",
    "max_SAE_ID_count",
}
SAES = ("alice", "bob", "eve", "carol", "mallory")


@pytest.fixture(scope="module")
def client_pems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    pki = make_loopback_pki(tmp_path_factory.mktemp("pki"), SAES)
    return {sae: Path(pki.clients[sae].cert).read_text() for sae in SAES}


class Api:
    """Calls the app in-process as a given SAE (its certificate in the ASGI TLS extension)."""

    def __init__(self, kme: Kme, pems: dict[str, str]) -> None:
        self.app = create_app(kme)
        self.pems = pems

    def __call__(self, sae: str | None, method: str, url: str, **kw: Any) -> httpx.Response:
        app = self.app
        tls = None if sae is None else {"client_cert_chain": [self.pems[sae]]}

        async def with_cert(scope: Any, receive: Any, send: Any) -> None:
            if tls is not None:
                scope.setdefault("extensions", {})["tls"] = tls
            await app(scope, receive, send)

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=with_cert)
            async with httpx.AsyncClient(transport=transport, base_url="https://kme") as client:
                return await client.request(method, url, **kw)

        return asyncio.run(go())


@pytest.fixture
def api(stores, share, rng, client_pems) -> Iterator[Api]:
    jinan, hefei = stores("jinan"), stores("hefei")
    share(jinan, hefei, rng.bytes(32 * 20))  # twenty 256-bit keys
    sae_map = SaeMap({"alice": "jinan", "bob": "hefei", "eve": "hefei", "carol": "jinan"})
    api = Api(Kme([jinan, hefei], sae_map, KmeLimits(max_key_per_request=8)), client_pems)
    yield api
    api.app.state.committer.close()


def _keys(response: httpx.Response) -> dict[str, bytes]:
    assert response.status_code == 200, response.text
    return {k["key_ID"]: base64.b64decode(k["key"]) for k in response.json()["keys"]}


def test_status_has_exactly_the_spec_fields(api: Api) -> None:
    body = api("alice", "GET", "/api/v1/keys/bob/status").json()
    assert set(body) == STATUS_FIELDS
    assert body["source_KME_ID"] == "KME-jinan" and body["target_KME_ID"] == "KME-hefei"
    assert (body["master_SAE_ID"], body["slave_SAE_ID"]) == ("alice", "bob")
    assert (body["key_size"], body["stored_key_count"], body["max_SAE_ID_count"]) == (256, 20, 0)
    assert body["max_key_count"] == 20
    _keys(api("alice", "GET", "/api/v1/keys/bob/enc_keys", params={"number": 3}))
    body = api("alice", "GET", "/api/v1/keys/bob/status").json()
    assert (body["stored_key_count"], body["max_key_count"]) == (17, 20)


def test_enc_then_dec_gives_identical_keys_once(api: Api) -> None:
    enc = _keys(api("alice", "GET", "/api/v1/keys/bob/enc_keys", params={"number": 3}))
    assert len(enc) == 3 and all(len(k) == 32 for k in enc.values())
    assert all(uuid.UUID(kid).version == 7 for kid in enc)
    ids = list(enc)
    body = {"key_IDs": [{"key_ID": kid} for kid in ids[:2]]}
    assert _keys(api("bob", "POST", "/api/v1/keys/alice/dec_keys", json=body)) == {
        kid: enc[kid] for kid in ids[:2]
    }
    single = api("bob", "GET", "/api/v1/keys/alice/dec_keys", params={"key_ID": ids[2]})
    assert _keys(single) == {ids[2]: enc[ids[2]]}
    replay = api("bob", "POST", "/api/v1/keys/alice/dec_keys", json=body)
    assert replay.status_code == 400 and "only once" in replay.json()["message"]
    status = api("alice", "GET", "/api/v1/keys/bob/status").json()
    assert status["stored_key_count"] == 17


def test_post_enc_keys_with_size_and_empty_body(api: Api) -> None:
    enc = _keys(api("alice", "POST", "/api/v1/keys/bob/enc_keys", json={"number": 2, "size": 64}))
    assert [len(k) for k in enc.values()] == [8, 8]
    assert len(_keys(api("alice", "POST", "/api/v1/keys/bob/enc_keys"))) == 1


def test_only_the_named_slave_may_decrypt(api: Api) -> None:
    (kid,) = _keys(api("alice", "GET", "/api/v1/keys/bob/enc_keys"))
    body = {"key_IDs": [{"key_ID": kid}]}
    for intruder in ("alice", "eve", "carol"):
        r = api(intruder, "POST", "/api/v1/keys/alice/dec_keys", json=body)
        assert r.status_code == 401, intruder
        assert set(r.json()) <= {"message", "details"}
    assert api("mallory", "GET", "/api/v1/keys/bob/status").status_code == 401
    assert len(_keys(api("bob", "POST", "/api/v1/keys/alice/dec_keys", json=body))) == 1


def test_wrong_master_and_unknown_keys_are_bad_requests(api: Api) -> None:
    (kid,) = _keys(api("alice", "GET", "/api/v1/keys/bob/enc_keys"))
    r = api("bob", "POST", "/api/v1/keys/carol/dec_keys", json={"key_IDs": [{"key_ID": kid}]})
    assert r.status_code == 400 and "not requested by" in r.json()["message"]
    unknown = {"key_IDs": [{"key_ID": str(uuid.uuid4())}]}
    assert api("bob", "POST", "/api/v1/keys/alice/dec_keys", json=unknown).status_code == 400
    assert (
        api("bob", "POST", "/api/v1/keys/alice/dec_keys", json={"key_IDs": []}).status_code == 400
    )


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"number": 0}, "number"),
        ({"number": 9}, "number"),
        ({"size": 100}, "multiple of 8"),
        ({"size": 56}, "multiple of 8"),
        ({"size": 8200}, "multiple of 8"),
        ({"number": "many"}, "bad request"),
    ],
)
def test_limits_are_enforced_with_400(api: Api, params: dict[str, Any], fragment: str) -> None:
    r = api("alice", "GET", "/api/v1/keys/bob/enc_keys", params=params)
    assert r.status_code == 400 and fragment in r.json()["message"]
    assert isinstance(r.json().get("details", []), list)


def test_multicast_and_mandatory_extensions_are_refused(api: Api) -> None:
    for body in (
        {"additional_slave_SAE_IDs": ["eve"]},
        {"extension_mandatory": [{"vendor_x": 1}]},
        {"size": "big"},
    ):
        assert api("alice", "POST", "/api/v1/keys/bob/enc_keys", json=body).status_code == 400
    ok = {"number": 1, "extension_optional": [{"ignored": True}]}
    assert api("alice", "POST", "/api/v1/keys/bob/enc_keys", json=ok).status_code == 200


def test_exhausted_pool_gives_503_and_nothing_partial(api: Api) -> None:
    assert len(_keys(api("alice", "GET", "/api/v1/keys/bob/enc_keys", params={"number": 8}))) == 8
    assert len(_keys(api("alice", "GET", "/api/v1/keys/bob/enc_keys", params={"number": 8}))) == 8
    r = api("alice", "GET", "/api/v1/keys/bob/enc_keys", params={"number": 5})
    assert r.status_code == 503 and r.json()["message"].startswith("not enough key")
    assert api("alice", "GET", "/api/v1/keys/bob/status").json()["stored_key_count"] == 4
    assert len(_keys(api("alice", "GET", "/api/v1/keys/bob/enc_keys", params={"number": 4}))) == 4


def test_unknown_slave_same_node_and_no_identity(api: Api) -> None:
    assert api("alice", "GET", "/api/v1/keys/nobody/status").status_code == 400
    assert api("alice", "GET", "/api/v1/keys/carol/enc_keys").status_code == 400
    # Without a client certificate there is no identity, whatever the headers say.
    r = api(None, "GET", "/api/v1/keys/bob/status", headers={"X-SAE-ID": "alice"})
    assert r.status_code == 401 and "certificate" in r.json()["message"]
    assert api("alice", "GET", "/api/v1/nothing").status_code == 404


def test_sae_map_files(tmp_path) -> None:
    toml = tmp_path / "map.toml"
    toml.write_text('[sae]\n"sae-jinan-app" = "jinan"\n')
    assert SaeMap.load(toml).node_of("sae-jinan-app") == "jinan"
    js = tmp_path / "map.json"
    js.write_text('{"sae": {"bob": "hefei"}}')
    assert SaeMap.load(js).node_of("bob") == "hefei" and SaeMap.load(js).node_of("x") is None
    assert SaeMap.identity(["jinan"]).node_of("jinan") == "jinan"
    for text in ("[sae]\n", "sae = 3\n", "[sae]\nx = 1\n", "not toml ["):
        toml.write_text(text)
        with pytest.raises(InputError):
            SaeMap.load(toml)


def test_head_and_other_methods_consume_nothing(api: Api) -> None:
    for method, path in (("HEAD", "enc_keys"), ("PUT", "enc_keys"), ("DELETE", "dec_keys")):
        r = api("alice", method, f"/api/v1/keys/bob/{path}")
        assert r.status_code == 405, method
    assert api("alice", "GET", "/api/v1/keys/bob/status").json()["stored_key_count"] == 20
    r = api("bob", "GET", "/api/v1/keys/alice/dec_keys")  # no key_ID
    assert r.status_code == 400 and r.json()["details"] == [{"query.key_ID": "Field required"}]
    r = api("bob", "POST", "/api/v1/keys/alice/dec_keys", content=b"{not json")
    assert r.status_code == 400 and r.json()["message"] == "bad request format"
    huge = {"key_IDs": [{"key_ID": str(uuid.uuid4())} for _ in range(2000)]}
    r = api("bob", "POST", "/api/v1/keys/alice/dec_keys", json=huge)
    assert r.status_code == 400 and r.json()["message"] == "request body too large"


def test_key_container_json_is_the_models_json() -> None:
    import os
    import uuid

    from satqkd.keys.etsi014.models import Key, KeyContainer, key_container_json

    for keys in ([], [(str(uuid.uuid4()), os.urandom(32))], [('odd"id\\é', b"\x00" * 5)] * 2):
        model = KeyContainer(
            keys=[Key(key_id=k, key=base64.b64encode(m).decode()) for k, m in keys]
        )
        assert (
            key_container_json(keys)
            == model.model_dump_json(by_alias=True, exclude_none=True).encode()
        )
