"""Helpers shared by the command modules: option parsing that raises clear InputErrors."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

from satqkd.config import Mission, Station, load_mission
from satqkd.errors import InputError
from satqkd.orbit.timescale import parse_iso


def mission_option(value: str) -> Mission:
    """The mission named by ``--mission`` (preset name or TOML path)."""
    return load_mission(value)


def station_option(mission: Mission, name: str) -> Station:
    """The station named by ``--station`` in ``mission``."""
    try:
        return mission.station(name)
    except InputError as exc:
        raise InputError(exc.message, source="--station", value=name) from None


def time_option(value: str | None, option: str = "--start") -> dt.datetime | None:
    """Parse an ISO 8601 option; naive times are UTC."""
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise InputError("not an ISO 8601 time (e.g. 2022-09-25T12:00:00Z)", source=option,
                         value=value) from None


def print_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (the machine-readable output of ``--json``)."""
    json.dump(data, sys.stdout, indent=2, default=float)
    sys.stdout.write("\n")
