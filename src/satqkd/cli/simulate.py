"""``satqkd simulate``: photon-level simulation of one pass, records to a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from satqkd.cli.common import mission_option, print_json, station_option, time_option
from satqkd.cli.progress import pass_progress
from satqkd.errors import InputError
from satqkd.simulate.pass_simulation import simulate_pass
from satqkd.simulate.records import save_records


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to ``app``."""

    @app.command()
    def simulate(
        mission: Annotated[str, typer.Option(help="Preset name or TOML file")] = "jinan1",
        station: Annotated[str | None, typer.Option(help="Station (default: the first)")] = None,
        start: Annotated[str | None, typer.Option(help="ISO 8601: first night pass after it")] = None,
        max_elevation: Annotated[float | None, typer.Option(help="Synthetic pass of this max elevation, deg")] = None,
        duration: Annotated[float | None, typer.Option(help="Cap on the QKD window, s")] = None,
        seed: Annotated[int, typer.Option(help="Seed of every random choice")] = 1,
        out: Annotated[Path | None, typer.Option(help="Write both parties' records (.npz)")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="Print a JSON summary")] = False,
        plot: Annotated[Path | None, typer.Option(help="Plot range and count rate (PNG)")] = None,
    ) -> None:
        """Simulate a pass pulse by pulse: link, source, detectors, timing, index recovery.

        With no options: the mission's reference pass (Jinan-1: Jinan, 25 Sep 2022, 34.1°).
        """
        m = mission_option(mission)
        st = station_option(m, station) if station else next(iter(m.stations.values()))
        if duration is not None and duration <= 0:
            raise InputError("must be positive", source="--duration", value=duration)
        with pass_progress(f"{m.satellite.name} → {st.name}") as progress:
            sim = simulate_pass(m, st, start=time_option(start), max_elevation_deg=max_elevation,
                                duration_s=duration, seed=seed, progress=progress)
        res = sim.result
        if out is not None:
            save_records(out, res.satellite, res.ground, res.truth)
        if plot is not None:
            from satqkd.report.pass_plots import plot_range_and_count_rate

            plot_range_and_count_rate(sim.timeline(), plot,
                                      f"{m.satellite.name} → {st.name}, {sim.selected.label}")
        summary = sim.summary()
        if json_out:
            print_json(summary)
            return
        table = Table(title=f"{m.satellite.name} → {st.name}: {sim.selected.label}")
        table.add_column("quantity")
        table.add_column("value", justify="right")
        for key in ("start", "max_elevation_deg", "duration_s", "pulses_sent", "detections",
                    "double_clicks", "cross_basis_clicks", "mis_indexed_detections",
                    "true_qber", "wall_time_s"):
            value = summary[key]
            table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
        Console().print(table)
