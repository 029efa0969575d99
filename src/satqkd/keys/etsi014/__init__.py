"""ETSI GS QKD 014 V1.1.1 key delivery: the KME logic, its REST API and an mTLS server."""

from satqkd.keys.etsi014.kme import EtsiError, Kme, KmeLimits, kme_id
from satqkd.keys.etsi014.saemap import SaeMap
from satqkd.keys.etsi014.server import BackgroundServer, build_server, server_ssl_context
from satqkd.keys.etsi014.service import API_PREFIX, create_app

__all__ = [
    "API_PREFIX",
    "BackgroundServer",
    "EtsiError",
    "Kme",
    "KmeLimits",
    "SaeMap",
    "build_server",
    "create_app",
    "kme_id",
    "server_ssl_context",
]
