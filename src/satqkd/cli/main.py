"""The ``satqkd`` command: a thin shell over the library.

Each sub-command lives in its own module under :mod:`satqkd.cli` and registers
itself on :data:`app` through ``register(app)``. Bad input raises
:class:`satqkd.errors.InputError`, which :func:`main` turns into one line on
stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from satqkd.errors import InputError

_APP_OPTIONS: dict[str, Any] = {
    "name": "satqkd",
    "help": "Satellite QKD: simulate a pass photon by photon, distill and deliver the keys.",
    "no_args_is_help": True,
    "add_completion": False,
    "pretty_exceptions_enable": False,
}
_app = typer.Typer(**_APP_OPTIONS)
_registered = False


def _root() -> None:
    """Satellite QKD: simulate a pass photon by photon, distill and deliver the keys."""


_app.callback()(_root)


def _full_app() -> typer.Typer:
    """The app with every command (imported on first use: they pull in numpy, scipy, numba)."""
    global _registered
    if not _registered:
        from satqkd.cli import commands

        for register in commands.REGISTRY:
            register(_app)
        _registered = True
    return _app


def __getattr__(name: str) -> Any:
    """``app``: the full command tree, built when first asked for (PEP 562)."""
    if name == "app":
        return _full_app()
    raise AttributeError(name)


def _app_for(argv: list[str]) -> typer.Typer:
    """The app to run ``argv`` with.

    ``satqkd keys ...`` (a long-running key server among them) needs only its own
    module: building the full tree would import the simulation stack (~1 s and
    ~100 MB more) for nothing.
    """
    if len(argv) > 1 and argv[1] == "keys":
        from satqkd.cli import keys

        small = typer.Typer(**_APP_OPTIONS)
        small.callback()(_root)
        keys.register(small)
        return small
    return _full_app()


def main() -> None:
    """Entry point of the console script: run :data:`app`, turning input errors into exit 2."""
    try:
        _app_for(sys.argv)()
    except InputError as exc:
        print(f"satqkd: error: {exc.one_line()}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
