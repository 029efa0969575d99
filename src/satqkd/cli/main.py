"""The ``satqkd`` command: a thin shell over the library.

Each sub-command lives in its own module under :mod:`satqkd.cli` and registers
itself on :data:`app` through ``register(app)``. Bad input raises
:class:`satqkd.errors.InputError`, which :func:`main` turns into one line on
stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from satqkd.errors import InputError

app = typer.Typer(
    name="satqkd",
    help="Satellite QKD: simulate a pass photon by photon, distill and deliver the keys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Satellite QKD: simulate a pass photon by photon, distill and deliver the keys."""


def _register_commands() -> None:
    # Imported here so that `satqkd --help` lists every command; each module adds its own.
    from satqkd.cli import commands

    for register in commands.REGISTRY:
        register(app)


_register_commands()


def main() -> None:
    """Entry point of the console script: run :data:`app`, turning input errors into exit 2."""
    try:
        app()
    except InputError as exc:
        print(f"satqkd: error: {exc.one_line()}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
