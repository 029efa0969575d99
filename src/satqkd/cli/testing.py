"""Run ``satqkd`` in-process, as a test or a notebook would, and capture what it prints.

:func:`invoke` goes through :func:`satqkd.cli.main.main`, so input errors become exit
status 2 with one line on stderr exactly as in a shell, without the start-up cost of a
new interpreter per call.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from unittest import mock

__all__ = ["invoke"]


class _Terminal(io.StringIO):
    """A captured stream that says it is a terminal (progress bars show on terminals only)."""

    def isatty(self) -> bool:
        return True


def invoke(command: str, *args: str, terminal: bool = False) -> subprocess.CompletedProcess[str]:
    """``satqkd COMMAND ARGS...`` in this process; exit status, stdout and stderr captured.

    With ``terminal=True`` both captured streams claim to be a terminal.
    """
    from satqkd.cli.main import main

    out = _Terminal() if terminal else io.StringIO()
    err = _Terminal() if terminal else io.StringIO()
    code = 0
    with (
        mock.patch.object(sys, "argv", ["satqkd", command, *args]),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code or 0)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())
