"""Serving the KME over mutual TLS with uvicorn, the client certificate passed to the app.

* TLS 1.2 or newer; the server presents its certificate and *requires* a client
  certificate signed by the configured CA (``ssl.CERT_REQUIRED``): a client without
  one fails the handshake and never reaches the application.
* Uvicorn (up to at least 0.54) puts nothing about TLS into the ASGI scope.
  :class:`TlsScopeHttpToolsProtocol` and :class:`TlsScopeH11Protocol` subclass
  uvicorn's two HTTP/1.1 protocols: when a connection is made they read the verified
  peer certificate from the transport's SSL object and wrap the connection's ASGI app
  so that every request on that connection carries ``scope["extensions"]["tls"]`` in
  the shape of the ASGI TLS extension (``client_cert_chain`` = [leaf PEM],
  ``tls_version``, ``cipher_suite``). This relies on uvicorn's protocols keeping the
  app in ``self.app``; the test suite checks it end to end against a real socket.
* Speed: the C HTTP parser (``httptools``) and event loop (``uvloop``) are used when
  installed (``uvicorn[standard]``), else uvicorn's pure-Python h11 and asyncio.
  Connections are kept alive, so a client pays the TLS handshake once, not per request.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

try:  # the C parser of uvicorn[standard]
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - without httptools
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

Scope = MutableMapping[str, Any]
Asgi = Callable[[Scope, Any, Any], Awaitable[None]]

_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def server_ssl_context(cert: str | Path, key: str | Path, ca: str | Path) -> ssl.SSLContext:
    """Server-side context: our certificate, TLS >= 1.2, client certificate required from ``ca``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    ctx.load_verify_locations(str(ca))
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def tls_extension(transport: asyncio.BaseTransport) -> dict[str, Any] | None:
    """The ASGI TLS extension entry for a connection, or None on a plain-TCP transport."""
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    cipher = ssl_object.cipher()
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,
        "cipher_name": cipher[0] if cipher else None,
    }


def _with_tls_scope(app: Asgi, tls: dict[str, Any]) -> Asgi:
    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            extensions = scope.setdefault("extensions", {})
            extensions.setdefault("tls", tls)
        await app(scope, receive, send)

    return wrapped


class CoalescingTransport:
    """A transport proxy sending all the writes of one event-loop iteration as one.

    Uvicorn writes a response's head and its body separately; over TLS each write is
    a record of its own and a ``send`` system call, which on loopback cost more CPU
    than the rest of a small request. Joined, a response is one record, one call.
    """

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._pending: list[bytes] = []
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for data in chunks:
            self.write(data)

    def flush(self) -> None:
        """Hand the pending writes to the transport now."""
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _TlsScope:
    """Mixin of a uvicorn HTTP protocol: the peer certificate in each request's ASGI scope.

    It also joins the writes of a response (:class:`CoalescingTransport`).
    """

    app: Asgi
    cycle: Any
    transport: Any

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[misc]
        self.transport = CoalescingTransport(transport)
        tls = tls_extension(transport)
        if tls is not None:
            self.app = _with_tls_scope(self.app, tls)

    def shutdown(self) -> None:
        """Server shutdown: drop idle connections at once.

        A TLS close waits for the peer's close_notify, which an idle keep-alive client
        never sends, so uvicorn's graceful close could hang the shutdown; a connection
        with a request in flight still finishes its response first.
        """
        if self.cycle is None or self.cycle.response_complete:
            self.transport.abort()
        else:
            super().shutdown()  # type: ignore[misc]


class TlsScopeH11Protocol(_TlsScope, H11Protocol):
    """Uvicorn's h11 protocol, adding the peer certificate to each request's ASGI scope."""


if HttpToolsProtocol is not None:

    class TlsScopeHttpToolsProtocol(_TlsScope, HttpToolsProtocol):
        """Uvicorn's httptools protocol, adding the peer certificate to each request's scope."""

    DEFAULT_PROTOCOL: type = TlsScopeHttpToolsProtocol
else:  # pragma: no cover - without httptools
    DEFAULT_PROTOCOL = TlsScopeH11Protocol


class KmeServer(uvicorn.Server):
    """Uvicorn's server, returning normally after a graceful SIGTERM/SIGINT shutdown.

    Uvicorn re-raises the signal once it has shut down, which kills the process
    before the caller's clean-up (closing the key stores) can run.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def build_server(
    app: Asgi,
    *,
    host: str,
    port: int,
    cert: str | Path,
    key: str | Path,
    ca: str | Path,
    log_level: str = "warning",
    http: type | None = None,
) -> uvicorn.Server:
    """A uvicorn server for ``app`` over mutual TLS (not started).

    ``http`` is the protocol class, :data:`DEFAULT_PROTOCOL` (httptools when
    installed) by default; the event loop is uvloop when installed.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=http or DEFAULT_PROTOCOL,
        loop="auto",
        ws="none",
        lifespan="auto",
        proxy_headers=False,
        server_header=False,
        log_level=log_level,
        access_log=False,
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
        ssl_ca_certs=str(ca),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
    )
    config.load()
    # Replace uvicorn's context with ours (minimum TLS 1.2, client certificate required).
    config.ssl = server_ssl_context(cert, key, ca)
    return KmeServer(config)


class BackgroundServer:
    """A mutual-TLS server running in a thread on a loopback port chosen by the OS.

    For tests and benchmarks: ``with BackgroundServer(app, cert=..., key=..., ca=...) as s:``
    then talk to ``s.base_url``.
    """

    def __init__(
        self,
        app: Asgi,
        *,
        cert: str | Path,
        key: str | Path,
        ca: str | Path,
        host: str = "127.0.0.1",
        http: type | None = None,
    ) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self.host, self.port = self._sock.getsockname()[:2]
        self.server = build_server(
            app, host=host, port=self.port, cert=cert, key=key, ca=ca, http=http
        )
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:PORT``."""
        return f"https://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the thread and wait until the server accepts connections."""
        self._thread.start()
        deadline = threading.Event()
        for _ in range(int(timeout_s / 0.01)):
            if self.server.started:
                return
            deadline.wait(0.01)
        raise RuntimeError("the KME server did not start")

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread."""
        self.server.should_exit = True
        self._thread.join(timeout=30)
        self._sock.close()

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
