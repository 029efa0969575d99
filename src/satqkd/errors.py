"""Exceptions that the command line turns into one clear line on stderr (exit status 2).

Every error caused by user input derives from :class:`InputError` and names the
source (file or option), the field and the offending value, so a user never sees a
traceback for a typo in a TOML file or a malformed TLE.
"""

from __future__ import annotations


class SatqkdError(Exception):
    """Base class of all satqkd errors."""


class InputError(SatqkdError):
    """Bad user input: a config file, a TLE, a command-line option.

    Parameters
    ----------
    message:
        What is wrong, in words.
    source:
        The file path or option the value came from (``"--station"``, ``"my.toml"``).
    field:
        Dotted path of the field inside the source (``"stations.jinan.latitude_deg"``).
    value:
        The offending value, shown with ``repr``.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        field: str | None = None,
        value: object = None,
    ) -> None:
        self.message = message
        self.source = source
        self.field = field
        self.value = value
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The error as one line: ``source: field = value: message``."""
        where = ": ".join(str(p) for p in (self.source, self.field) if p)
        if self.value is not None:
            where = f"{where} = {self.value!r}" if where else repr(self.value)
        return f"{where}: {self.message}" if where else self.message
