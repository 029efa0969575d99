"""Errors raised by the key store and the services built on it.

The ETSI GS QKD 014 service maps them onto HTTP status codes: :class:`KeyStateError`
(unknown key, replay) → 400, :class:`KeyAccessError` (wrong SAE) → 401,
:class:`InsufficientKeyError` (pool exhausted) → 503.
"""

from __future__ import annotations

from satqkd.errors import InputError, SatqkdError


class KeyStoreError(SatqkdError):
    """Base class of key-store failures that are not plain user-input errors."""


class InsufficientKeyError(InputError):
    """The key pool of a link holds less material than a request needs.

    Nothing has been consumed when this is raised: the check and the carve run in
    the same transaction. It derives from :class:`~satqkd.errors.InputError` so the
    command line reports it as one line (exit status 2).
    """

    def __init__(self, link: str, needed_bytes: int, available_bytes: int) -> None:
        self.link = link
        self.needed_bytes = needed_bytes
        self.available_bytes = available_bytes
        super().__init__(
            f"not enough key: needs {needed_bytes * 8} bits, "
            f"the pool holds {available_bytes * 8} bits",
            field="link",
            value=link,
        )


class KeyDesyncError(KeyStoreError):
    """The two ends of a link disagree on which key material is still unused."""


class KeyStateError(KeyStoreError):
    """A key is unknown, or is not in a state that allows the operation (e.g. a replay)."""


class KeyAccessError(KeyStoreError):
    """The caller is not the party a key was reserved for."""
