"""``satqkd passes``: list the passes of a mission's satellite over its stations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from satqkd.cli.common import mission_option, print_json, station_option, time_option
from satqkd.errors import InputError
from satqkd.orbit.passes import Pass, find_passes
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.orbit.timescale import iso_utc, to_unix_s


def _table(passes: list[Pass], title: str, tz_hours: float) -> Table:
    table = Table(title=title)
    for col in ("station", "start (UTC)", f"local (UTC{tz_hours:+g})", "max el °",
                "min range km", "duration s", "dark", "shadow", "Moon sep °", "Moon illum."):
        table.add_column(col, justify="right" if col not in ("station",) else "left")
    for p in passes:
        local = iso_utc(p.rise_unix_s + tz_hours * 3600.0)[11:19]
        table.add_row(
            p.station, iso_utc(p.rise_unix_s)[:19], local, f"{p.max_elevation_deg:.1f}",
            f"{p.min_range_km:.0f}", f"{p.duration_s:.0f}", "yes" if p.station_dark else "no",
            "yes" if p.satellite_in_shadow else "no", f"{p.moon_separation_deg:.0f}",
            f"{p.moon_illumination:.2f}",
        )
    return table


def register(app: typer.Typer) -> None:
    """Add the ``passes`` command to ``app``."""

    @app.command()
    def passes(
        mission: Annotated[str, typer.Option(help="Preset name (jinan1, micius, tiangong2) or TOML file")] = "jinan1",
        station: Annotated[str | None, typer.Option(help="Station name (default: the first)")] = None,
        start: Annotated[str | None, typer.Option(help="ISO 8601 start (default: now, UTC)")] = None,
        days: Annotated[float, typer.Option(help="Length of the search, days")] = 1.0,
        min_elevation: Annotated[float | None, typer.Option(help="Mask elevation, deg (default: the mission's)")] = None,
        all_stations: Annotated[bool, typer.Option("--all-stations", help="Every station of the mission")] = False,
        night_only: Annotated[bool, typer.Option("--night-only", help="Only dark-station, satellite-in-shadow passes")] = False,
        json_out: Annotated[bool, typer.Option("--json", help="Print a JSON list")] = False,
    ) -> None:
        """List rise, culmination and set of every pass, with darkness, shadow and the Moon."""
        m = mission_option(mission)
        if days <= 0 or days > 3660:
            raise InputError("must be between 0 and 3660 days", source="--days", value=days)
        if min_elevation is not None and not 0.0 <= min_elevation < 90.0:
            raise InputError("must be in [0, 90)", source="--min-elevation", value=min_elevation)
        stations = (list(m.stations.values()) if all_stations
                    else [station_option(m, station) if station else next(iter(m.stations.values()))])
        when = time_option(start) or dt.datetime.now(dt.UTC)
        t0 = to_unix_s(when)
        orbit = SatelliteOrbit.from_config(m.satellite)
        found = find_passes(
            orbit, stations, t0, t0 + days * 86400.0,
            m.procedure.min_pass_elevation_deg if min_elevation is None else min_elevation,
            m.procedure.sun_max_elevation_deg,
        )
        if night_only:
            found = [p for p in found if p.is_night]
        if json_out:
            print_json([p.to_json() for p in found])
            return
        title = f"{m.satellite.name} passes from {iso_utc(t0)[:16]} over {days:g} day(s)"
        Console().print(_table(found, title, stations[0].timezone_hours))
