"""Registry of the sub-command modules: each entry adds its commands to the Typer app."""

from __future__ import annotations

from collections.abc import Callable

import typer

REGISTRY: list[Callable[[typer.Typer], None]] = []

# Every command module exposes ``register(app)``; list them here in help order.

from satqkd.cli import pass_ as _pass  # noqa: E402
from satqkd.cli import passes as _passes  # noqa: E402

REGISTRY.append(_pass.register)
REGISTRY.append(_passes.register)

from satqkd.cli import keyrate as _keyrate  # noqa: E402

REGISTRY.append(_keyrate.register)

from satqkd.cli import keys as _keys  # noqa: E402

REGISTRY.append(_keys.register)

from satqkd.cli import simulate as _simulate  # noqa: E402

REGISTRY.append(_simulate.register)

from satqkd.cli import relay as _relay  # noqa: E402

REGISTRY.append(_relay.register)

from satqkd.cli import campaign as _campaign  # noqa: E402

REGISTRY.append(_campaign.register)
