"""Who is calling: the SAE ID from the verified TLS client certificate, never from headers.

The SAE ID is the common name (CN) of the subject of the client certificate that the
TLS layer verified against the KME's CA. The certificate reaches the application
through the ASGI TLS extension, ``scope["extensions"]["tls"]["client_cert_chain"]``
(a list of PEM strings, leaf first). Uvicorn does not fill that extension itself;
:mod:`satqkd.keys.etsi014.server` runs it with a protocol class that does. Any
request without it, e.g. one that reached the app over plain HTTP, is refused (401).
"""

from __future__ import annotations

from functools import lru_cache

from cryptography import x509
from cryptography.x509.oid import NameOID
from starlette.requests import Request

from satqkd.keys.etsi014.kme import EtsiError


@lru_cache(maxsize=1024)
def sae_id_from_pem(pem: str) -> str:
    """The subject common name of a PEM certificate (raises ``ValueError`` if it has none)."""
    cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        raise ValueError("the certificate subject needs exactly one common name")
    value = names[0].value
    return value if isinstance(value, str) else value.decode("utf-8")


def caller_sae_id(request: Request) -> str:
    """The calling SAE's ID, from the TLS client certificate only (401 without one)."""
    tls = request.scope.get("extensions", {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    if not chain:
        raise EtsiError(401, "a verified TLS client certificate is required")
    try:
        return sae_id_from_pem(chain[0])
    except ValueError as exc:
        raise EtsiError(401, "the client certificate names no SAE", reason=str(exc)) from exc
