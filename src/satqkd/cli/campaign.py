"""``satqkd campaign``: every night pass of one or more satellites over many stations.

A thin shell over :func:`satqkd.campaign.run_campaign`: parse and check the options, build
the satellites (the mission's own, a constellation of synthetic planes, or the TLEs of a
file), run on Dask (a LocalCluster by default, or ``--scheduler``), print the tables or the
JSON, and with ``--out`` write the Parquet/CSV tables, ``summary.json``, the per-pass PNGs
and the HTML report.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from satqkd.cli.common import mission_option, print_json, time_option
from satqkd.errors import InputError

__all__ = ["build_spec", "register"]


def _stations(mission: Any, value: str | None) -> tuple[str, ...]:
    """Station keys from ``--stations a,b,c`` (all of the mission's when absent)."""
    if value is None or value.strip().lower() in ("", "all"):
        return tuple(mission.stations)
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    if not names:
        raise InputError("name at least one station", source="--stations", value=value)
    keys = []
    for name in names:
        try:
            station = mission.station(name)
        except InputError as exc:
            raise InputError(exc.message, source="--stations", value=name) from None
        key = next(k for k, v in mission.stations.items() if v is station)
        if key in keys:
            raise InputError("station named twice", source="--stations", value=name)
        keys.append(key)
    return tuple(keys)


def build_spec(
    mission: str, stations: str | None, start: str | None, days: float, mode: str, seed: int,
    *, weather: bool = True, max_duration_s: float | None = None, planes: int = 1,
    per_plane: int = 1, tle: Path | None = None,
) -> Any:
    """The :class:`~satqkd.campaign.CampaignSpec` of the command's options (InputError on
    bad input, naming the option)."""
    from satqkd.campaign import CampaignSpec, constellation
    from satqkd.campaign.constellation import missions_from_tles

    m = mission_option(mission)
    if not days > 0:
        raise InputError("must be more than 0 days", source="--days", value=days)
    if mode not in ("fast", "photon"):
        raise InputError("choose fast or photon", source="--mode", value=mode)
    when = time_option(start) or dt.datetime.now(dt.UTC).replace(microsecond=0)
    keys = _stations(m, stations)
    if tle is not None:
        if planes != 1 or per_plane != 1:
            raise InputError("give either --tle or --planes/--per-plane", source="--tle",
                             value=str(tle))
        try:
            text = tle.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", source="--tle",
                             value=str(tle)) from None
        missions = missions_from_tles(m, text, source=str(tle))
    else:
        for option, value in (("--planes", planes), ("--per-plane", per_plane)):
            if value < 1:
                raise InputError("must be at least 1", source=option, value=value)
        missions = constellation(m, planes=planes, per_plane=per_plane)
    if max_duration_s is not None and max_duration_s <= 0:
        raise InputError("must be positive", source="--max-duration", value=max_duration_s)
    return CampaignSpec(missions=tuple(missions), start=when, days=days, stations=keys,
                        mode=mode, seed=seed, weather=weather, duration_cap_s=max_duration_s)


@contextmanager
def _executor(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    from satqkd.campaign import SerialExecutor, dask_executor

    if workers is not None and scheduler is not None:
        raise InputError("give either --workers or --scheduler", source="--scheduler",
                         value=scheduler)
    if workers is not None and workers < 0:
        raise InputError("must be 0 (this process) or more", source="--workers", value=workers)
    if workers == 0:
        yield SerialExecutor()
        return
    with dask_executor(workers=workers, scheduler=scheduler) as executor:
        yield executor


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A rich progress bar on stderr (only on a terminal and never with --json)."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True)) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        yield update


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}"


def _qber(mean: float | None, low: float | None, high: float | None) -> str:
    return "—" if mean is None else f"{_pct(mean)} ({_pct(low)}–{_pct(high)})"


def _print_tables(result: Any, all_passes: bool) -> None:
    from rich import box

    console = Console(width=None if sys.stdout.isatty() else 120)
    summary = result.summary()
    several = len(result.satellites) > 1
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(summary["status_counts"].items()))
    passes = Table(title=f"{', '.join(result.satellites)}: {summary['start'][:10]} + "
                         f"{summary['days']:g} days, {result.mode} fidelity ({statuses})",
                   box=box.SIMPLE_HEAD)
    columns = ["night", "UTC", *(["satellite"] if several else []), "station", "max el °",
               "status", "packets", "QBER % mean (min–max)", "final key bits"]
    for col in columns:
        passes.add_column(col, justify="right" if col in ("max el °", "packets", "final key bits")
                          else "left")
    for o in result.outcomes:
        if not (all_passes or o.evaluated):
            continue
        passes.add_row(o.night, o.row()["start"][11:16], *([o.satellite] if several else []),
                       o.station, f"{o.max_elevation_deg:.1f}", o.status, str(o.packets),
                       _qber(o.qber_mean, o.qber_min, o.qber_max), f"{o.final_key_bits:,}")
    console.print(passes)
    totals = Table(title=f"totals per station (all: {result.total_key_bits:,} bits)",
                   box=box.SIMPLE_HEAD)
    for col in ("station", "night passes", "cloudy", "busy", "evaluated", "with key",
                "packets", "QBER mean %", "final key bits"):
        totals.add_column(col, justify="left" if col == "station" else "right")
    for t in summary["station_totals"]:
        totals.add_row(t["station"], str(t["night_passes"]), str(t["cloudy"]),
                       str(t["conflict"]), str(t["evaluated"]), str(t["passes_with_key"]),
                       str(t["packets"]), _pct(t["qber_mean"]), f"{t['final_key_bits']:,}")
    console.print(totals)
    relays = Table(title="key-relay latency (h): end of a keyed pass over A → end of the "
                         "same satellite's next keyed pass over B", box=box.SIMPLE_HEAD)
    for col in ("from", "to", "relays", "min", "median", "mean", "max"):
        relays.add_column(col, justify="left" if col in ("from", "to") else "right")
    for r in summary["relay_latencies"]:
        cells = ["—" if r[k] is None else f"{r[k]:.2f}"
                 for k in ("min_h", "median_h", "mean_h", "max_h")]
        relays.add_row(r["from"], r["to"], str(r["relays"]), *cells)
    console.print(relays)


def register(app: typer.Typer) -> None:
    """Add the ``campaign`` command to ``app``."""

    @app.command()
    def campaign(
        mission: Annotated[str, typer.Option(help="Preset name or TOML file")] = "jinan1",
        stations: Annotated[str | None, typer.Option(help="Comma-separated stations (default: all)")] = None,
        start: Annotated[str | None, typer.Option(help="ISO 8601 start (default: now, UTC)")] = None,
        days: Annotated[float, typer.Option(help="Length of the campaign, days")] = 7.0,
        mode: Annotated[str, typer.Option(help="fast (expected counts) or photon (full simulation)")] = "fast",
        workers: Annotated[int | None, typer.Option(help="Dask LocalCluster workers (default: cores; 0: this process)")] = None,
        scheduler: Annotated[str | None, typer.Option(help="Address of a running Dask scheduler")] = None,
        out: Annotated[Path | None, typer.Option(help="Directory for Parquet/CSV tables, PNGs and report.html")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="Print a JSON report")] = False,
        seed: Annotated[int, typer.Option(help="Seed of the weather and every pass")] = 1,
        weather: Annotated[bool, typer.Option(help="Draw clouds from the stations' monthly odds")] = True,
        max_duration: Annotated[float | None, typer.Option(help="Cap on every QKD window, s")] = None,
        planes: Annotated[int, typer.Option(help="Constellation: orbital planes")] = 1,
        per_plane: Annotated[int, typer.Option(help="Constellation: satellites per plane")] = 1,
        tle: Annotated[Path | None, typer.Option(help="File of TLEs: one satellite each")] = None,
        pass_figures: Annotated[int, typer.Option(help="Per-pass PNGs with --out (the passes with most key; -1: all)")] = 20,
        all_passes: Annotated[bool, typer.Option("--all-passes", help="List cloudy and busy passes too")] = False,
    ) -> None:
        """Every night pass over the stations: weather, Moon, key per pass, totals, relays."""
        from satqkd.campaign import run_campaign

        spec = build_spec(mission, stations, start, days, mode, seed, weather=weather,
                          max_duration_s=max_duration, planes=planes, per_plane=per_plane,
                          tle=tle)
        with _executor(workers, scheduler) as executor, _progress(not json_out) as progress:
            result = run_campaign(spec, executor, progress)
            files: dict[str, str] = {}
            if out is not None:
                from satqkd.report.campaign_report import write_campaign_report

                files = {k: str(v) for k, v in result.write(out).items()}
                report = write_campaign_report(result, spec.missions, out,
                                               max_pass_figures=pass_figures, executor=executor)
                files["report.html"] = str(report)
        if json_out:
            data = result.summary()
            data["passes"] = result.rows()
            data["station_days"] = result.station_days()
            data["files"] = files
            print_json(data)
            return
        _print_tables(result, all_passes)
        if files:
            Console().print(f"wrote {len(files)} files to {out} (open {files['report.html']})")
