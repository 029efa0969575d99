"""A throw-away public-key infrastructure for the KME: one CA, a server, SAE clients.

For tests, benchmarks and demonstrations on loopback only. Keys are ECDSA P-256,
certificates valid for one day. The server certificate names ``localhost`` and
``127.0.0.1``; each client certificate's subject CN is the SAE ID it proves.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class CertPair:
    """Paths of a PEM certificate and its PEM private key."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class LoopbackPki:
    """Paths of the CA certificate, the server pair and one pair per SAE ID."""

    ca_cert: Path
    server: CertPair
    clients: dict[str, CertPair] = field(default_factory=dict)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "satqkd test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> CertPair:
    cert_path, key_path = path.with_suffix(".crt"), path.with_suffix(".key")
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return CertPair(cert_path, key_path)


def _issue(
    subject: str,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def make_loopback_pki(
    directory: str | Path, sae_ids: Iterable[str], ca_name: str = "satqkd test CA"
) -> LoopbackPki:
    """Write a CA, a loopback server pair and a client pair per SAE ID into ``directory``."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _issue(
        ca_name,
        _name(ca_name),
        ca_key,
        ca_key,
        [
            (x509.BasicConstraints(ca=True, path_length=0), True),
            (
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                True,
            ),
        ],
    )
    ca = _write(out / "ca", ca_cert, ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    server_cert = _issue(
        "localhost",
        ca_cert.subject,
        ca_key,
        server_key,
        [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (san, False),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
        ],
    )
    server = _write(out / "server", server_cert, server_key)
    clients = {}
    for sae_id in sae_ids:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue(
            sae_id,
            ca_cert.subject,
            ca_key,
            key,
            [
                (x509.BasicConstraints(ca=False, path_length=None), True),
                (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False),
            ],
        )
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in sae_id)
        clients[sae_id] = _write(out / f"client-{safe}", cert, key)
    return LoopbackPki(ca.cert, server, clients)
