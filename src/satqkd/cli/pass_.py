"""``satqkd pass``: the main job: simulate a pass and distill its keys live."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from satqkd.cli.common import mission_option, print_json, station_option, time_option
from satqkd.cli.progress import pass_progress, session_progress
from satqkd.errors import InputError


def register(app: typer.Typer) -> None:
    """Add the ``pass`` command to ``app``."""

    @app.command("pass")
    def pass_(
        mission: Annotated[str, typer.Option(help="Preset name or TOML file")] = "jinan1",
        station: Annotated[str | None, typer.Option(help="Station (default: the first)")] = None,
        start: Annotated[str | None, typer.Option(help="ISO 8601: first night pass after it")] = None,
        max_elevation: Annotated[float | None, typer.Option(help="Synthetic pass of this max elevation, deg")] = None,
        duration: Annotated[float | None, typer.Option(help="Cap on the QKD window, s")] = None,
        seed: Annotated[int, typer.Option(help="Seed of every random choice")] = 1,
        store: Annotated[Path | None, typer.Option(help="Key store (SQLite) to add the final keys to")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="Print a JSON report")] = False,
        plot: Annotated[Path | None, typer.Option(help="Plot QBER per packet and key per block (PNG)")] = None,
        transport: Annotated[str, typer.Option(help="memory: one process, simulated time; udp: one process per party over loopback UDP, real time")] = "memory",
        time_scale: Annotated[float, typer.Option(help="With --transport udp: run the pass this many times faster than real time")] = 1.0,
    ) -> None:
        """Simulate a pass photon by photon and run satellite and ground live over the link.

        With no options: Jinan-1's reference pass over Jinan (25 Sep 2022, 34.1°, 300 s).
        """
        from satqkd.protocol.run import run_pass

        m = mission_option(mission)
        st = station_option(m, station) if station else next(iter(m.stations.values()))
        if duration is not None and duration <= 0:
            raise InputError("must be positive", source="--duration", value=duration)
        if transport not in ("memory", "udp"):
            raise InputError("choose memory or udp", source="--transport", value=transport)
        if time_scale <= 0:
            raise InputError("must be positive", source="--time-scale", value=time_scale)
        from satqkd.simulate.pass_simulation import simulate_pass

        with pass_progress(f"simulate {m.satellite.name} → {st.name}") as sim_progress:
            sim = simulate_pass(m, st, start=time_option(start),
                                max_elevation_deg=max_elevation, duration_s=duration,
                                seed=seed, progress=sim_progress)
        if transport == "udp":
            from satqkd.protocol.two_process import run_pass_two_processes

            two = run_pass_two_processes(m, st, sim, seed=seed, time_scale=time_scale)
            report = sim.summary() | two.summary()
            if store is not None:
                from satqkd.protocol.storage import store_keys

                report["stored_blocks"] = store_keys(two.satellite_keys, two.ground_keys, m, st,
                                                     sim.geometry.start_unix_s, store)
            if plot is not None:
                _plot(report, plot, f"{m.satellite.name} → {st.name}")
            if json_out:
                print_json(report)
            else:
                _print_udp_report(report)
            return
        with session_progress(sim.geometry.duration_s) as progress:
            run = run_pass(m, st, seed=seed, simulation=sim, progress=progress)
        report = run.summary()
        if store is not None:
            from satqkd.protocol.storage import store_pass_keys

            report["stored_blocks"] = store_pass_keys(run, m, st, store)
        if plot is not None:
            _plot(report, plot, f"{m.satellite.name} → {st.name}")
        if json_out:
            print_json(report)
            return
        _print_report(report)


def _print_report(report: dict) -> None:
    console = Console()
    table = Table(title=f"{report['mission']} → {report['station']}: {report['pass']}")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    rows = [
        ("start (UTC)", report["start"]),
        ("max elevation", f"{report['max_elevation_deg']:.1f}°"),
        ("QKD duration", f"{report['duration_s']:.0f} s"),
        ("pulses sent", f"{report['pulses_sent']:,}"),
        ("detections", f"{report['detections']:,}"),
        ("sifted key (after sampling)", f"{report['sifted_bits']:,} bits"),
        ("packets decoded", f"{sum(p['decoded'] for p in report['packets'])}"
                            f" / {len(report['packets'])}"),
        ("QBER mean (min–max)",
         "n/a" if report["qber_mean"] is None else
         f"{100 * report['qber_mean']:.2f}% ({100 * report['qber_min']:.2f}–"
         f"{100 * report['qber_max']:.2f}%)"),
        ("final key", f"{report['final_key_bits']:,} bits in "
                      f"{sum(1 for b in report['blocks'] if b['bits'])} blocks"),
        ("keys match", str(report["keys_match"])),
        ("ε total", f"{report['epsilon_total']:.2e}"),
        ("frames lost", f"{report['frames_lost']:,} of {report['frames_sent']:,}"),
        ("wall time", f"{report['wall_time_s']:.1f} s"),
    ]
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)


def _print_udp_report(report: dict) -> None:
    console = Console()
    table = Table(title=f"{report['mission']} → {report['station']}: {report['pass']}, "
                        f"{report['transport']}")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    keyed = [b for b in report["blocks"] if b["latency_s"] is not None]
    rows = [
        ("time scale", f"{report['time_scale']:g}× real time"),
        ("detections", f"{report['detections']:,}"),
        ("packets decoded", f"{sum(p['decoded'] for p in report['packets'])}"
                            f" / {len(report['packets'])}"),
        ("final key", f"{report['final_key_bits']:,} bits in {len(keyed)} blocks"),
        ("keys match", str(report["keys_match"])),
        ("latency per block (pass s)",
         ", ".join(f"{b['latency_s']:.2f}" for b in keyed) or "n/a"),
        ("frames lost", f"{report['frames_lost']:,} of {report['frames_sent']:,}"),
        ("wall time", f"{report['wall_time_s']:.1f} s"),
    ]
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)


def _plot(report: dict, path: Path, title: str) -> None:
    """QBER per packet and key per block (PNG) from a pass report of either transport."""
    from satqkd.report.pass_plots import plot_qber_and_key

    plot_qber_and_key(report["packets"], report["blocks"], path, f"{title}: {report['pass']}")
