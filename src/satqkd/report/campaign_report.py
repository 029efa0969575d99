"""The campaign report: one self-contained HTML file (tables, and plots as base64 PNG).

The page needs nothing but itself (no script, no stylesheet or font from elsewhere), so it
opens offline in any browser. It holds the campaign's summary, the totals per station, the
key-relay latencies between station pairs, the campaign figures
(:mod:`satqkd.report.campaign_plots`), the per-pass table (like the published Jinan-1
campaign table: night, station, maximum elevation, sifted packets, QBER mean/min/max, final
key) and the figures of selected passes (:mod:`satqkd.report.pass_report`), which are also
written as PNG files beside it. Per-pass figures take ~0.5 s each, so they run on the
campaign's executor and their number is capped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from satqkd.campaign.execution import Executor, SerialExecutor
from satqkd.campaign.outcome import PassOutcome
from satqkd.campaign.results import CampaignResult
from satqkd.config.models import Mission, Station
from satqkd.orbit.propagate import SatelliteOrbit
from satqkd.report.campaign_plots import (
    cumulative_key_png,
    key_vs_elevation_png,
    station_map_png,
)
from satqkd.report.pass_report import pass_figure_name, pass_png

__all__ = ["REPORT_FILE", "render_campaign_html", "select_pass_figures",
           "write_campaign_report"]

REPORT_FILE = "report.html"

_CSS = """
body { font-family: sans-serif; margin: 1.5em 2em; color: #222; background: #fff; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.85em; }
th, td { border: 1px solid #bbb; padding: 3px 7px; text-align: right; }
th { background: #e8eef4; } td.text, th.text { text-align: left; }
tr.status-cloudy td, tr.status-conflict td { color: #888; }
tr.status-failed td { color: #b00; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.4em 0; }
.note { color: #555; font-size: 0.9em; max-width: 60em; }
"""


def _cell(value: Any, fmt: str = "") -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "—"
    if fmt == "pct":
        return f"{100.0 * float(value):.2f}"
    if fmt == "int":
        return f"{round(float(value)):,}"
    if fmt:
        return format(value, fmt)
    return html.escape(str(value))


def _table(table_id: str, columns: Sequence[tuple[str, str, str]],
           rows: Sequence[Mapping[str, Any]], row_class: str = "") -> str:
    """``columns``: (key, header, format); text columns are those with format ``"text"``."""
    head = "".join(f'<th class="text">{html.escape(h)}</th>' if f == "text"
                   else f"<th>{html.escape(h)}</th>" for _, h, f in columns)
    body = []
    for row in rows:
        cls = row_class.format(**row) if row_class else ""
        cells = "".join(f'<td class="text">{_cell(row[k])}</td>' if f == "text"
                        else f"<td>{_cell(row[k], f)}</td>" for k, _, f in columns)
        body.append(f'<tr class="{cls}">{cells}</tr>' if cls else f"<tr>{cells}</tr>")
    return (f'<table id="{table_id}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


_PASS_COLUMNS = (
    ("night", "night (local)", "text"), ("start", "QKD start (UTC)", "text"),
    ("satellite", "satellite", "text"), ("station", "station", "text"),
    ("max_elevation_deg", "max el. (°)", ".1f"), ("moon_separation_deg", "Moon sep. (°)", ".0f"),
    ("moon_illumination", "Moon illum.", ".2f"), ("status", "status", "text"),
    ("window_s", "QKD (s)", ".0f"), ("packets", "sifted packets", "int"),
    ("qber_mean", "QBER mean (%)", "pct"), ("qber_min", "QBER min (%)", "pct"),
    ("qber_max", "QBER max (%)", "pct"), ("final_key_bits", "final key (bits)", "int"),
)
_STATION_COLUMNS = (
    ("station", "station", "text"), ("night_passes", "night passes", "int"),
    ("cloudy", "cloudy", "int"), ("conflict", "satellite busy", "int"),
    ("failed", "failed", "int"), ("evaluated", "evaluated", "int"),
    ("passes_with_key", "with key", "int"), ("packets", "sifted packets", "int"),
    ("qber_mean", "QBER mean (%)", "pct"), ("final_key_bits", "final key (bits)", "int"),
    ("best_pass_key_bits", "best pass (bits)", "int"),
    ("mean_key_per_pass_bits", "mean per evaluated pass (bits)", "int"),
)
_RELAY_COLUMNS = (
    ("from", "from", "text"), ("to", "to", "text"), ("relays", "relays", "int"),
    ("min_h", "min (h)", ".2f"), ("median_h", "median (h)", ".2f"),
    ("mean_h", "mean (h)", ".2f"), ("max_h", "max (h)", ".2f"),
)


def select_pass_figures(result: CampaignResult, limit: int) -> list[PassOutcome]:
    """The evaluated passes that get a figure: the ``limit`` with the most key, in time order
    (every evaluated pass when ``limit`` is negative)."""
    done = [o for o in result.evaluated if o.timeline]
    if limit >= 0:
        done = sorted(done, key=lambda o: -o.final_key_bits)[:limit]
    return sorted(done, key=lambda o: o.window_start_unix_s)


def _mean_altitude_km(mission: Mission, t_unix_s: float) -> float:
    orbit = SatelliteOrbit.from_config(mission.satellite)
    r, _ = orbit.itrs(t_unix_s + np.arange(0.0, 6000.0, 60.0))
    return float(np.mean(np.linalg.norm(r, axis=1)) - 6371.0)


def render_campaign_html(
    result: CampaignResult, missions: Sequence[Mission],
    pass_figures: Sequence[tuple[PassOutcome, bytes]] = (),
    validation: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The report page as a string (see the module docstring)."""
    summary = result.summary()
    first = missions[0]
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(summary["status_counts"].items()))
    facts = [
        ("mission", first.name), ("satellites", ", ".join(result.satellites)),
        ("stations", ", ".join(result.stations)),
        ("period (UTC)", f"{summary['start'][:16]} → {summary['end'][:16]} "
                         f"({summary['days']:g} days)"),
        ("fidelity", result.mode), ("seed", str(result.seed)),
        ("night passes (candidates)", f"{summary['night_passes']:,} ({statuses})"),
        ("final key, all stations", f"{summary['final_key_bits']:,} bits"),
        ("workers / wall time", f"{result.workers} / {result.wall_time_s:.1f} s"),
    ]
    facts_html = "".join(f'<tr><th class="text">{html.escape(k)}</th>'
                         f'<td class="text">{html.escape(v)}</td></tr>' for k, v in facts)
    fidelity_note = (
        "Fast fidelity: expected counts through the same channel model and the same "
        "finite-key analysis as the photon-level simulation, no Monte Carlo (packet QBERs "
        "are expectations, so their min–max spread is narrower than a real pass's)."
        if result.mode == "fast" else
        "Photon fidelity: every pass simulated photon by photon and distilled live by the "
        "satellite and ground actors.")
    altitude_km = _mean_altitude_km(first, result.start_unix_s)
    min_el = max(first.procedure.qkd_start_elevation_deg, first.procedure.qkd_end_elevation_deg)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>satqkd campaign: {html.escape(first.name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>satqkd campaign: {html.escape(', '.join(result.satellites))} × "
        f"{len(result.stations)} station(s)</h1>",
        f'<table id="summary"><tbody>{facts_html}</tbody></table>',
        f'<p class="note">{html.escape(fidelity_note)} Weather: one seeded draw per station '
        "and night against the station's monthly cloud-free probability. Relay latency: from "
        "the end of a pass giving key with the first station to the end of the same "
        "satellite's next pass giving key with the second.</p>",
        "<h2>Totals per station</h2>",
        _table("station-totals", _STATION_COLUMNS, summary["station_totals"]),
        "<h2>Key-relay latency between stations</h2>",
        _table("relay-latencies", _RELAY_COLUMNS, summary["relay_latencies"]),
        "<h2>Figures</h2>",
        _img(cumulative_key_png(result), "cumulative key per station"),
        _img(key_vs_elevation_png(result), "key per pass against elevation"),
        _img(station_map_png(result, altitude_km, min_el), "stations on the map"),
    ]
    if validation:
        cols = tuple((k, k, "text" if k == "pass" else ".4g") for k in validation[0])
        parts += ["<h2>Fast against photon fidelity</h2>", _table("validation", cols, validation)]
    parts += [
        f"<h2>Passes ({len(result.outcomes)})</h2>",
        _table("passes", _PASS_COLUMNS, [{**r, "start": r["start"][:19].replace("T", " ")}
                                         for r in result.rows()],
               row_class="pass status-{status}"),
    ]
    if pass_figures:
        parts.append(f"<h2>Pass figures ({len(pass_figures)})</h2>")
        for outcome, png in pass_figures:
            parts.append(f'<h3 id="{html.escape(pass_figure_name(outcome))}">'
                         f"{html.escape(outcome.station)}, {html.escape(outcome.night)}, "
                         f"{outcome.max_elevation_deg:.1f}°: {outcome.final_key_bits:,} bits</h3>")
            parts.append(_img(png, f"pass {outcome.station} {outcome.night}"))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _figure_task(outcome: PassOutcome, mission: Mission, station: Station) -> bytes:
    """One pass figure (runs on a worker)."""
    return pass_png(outcome, mission, station)


def write_campaign_report(
    result: CampaignResult, missions: Sequence[Mission], out_dir: str | Path, *,
    max_pass_figures: int = 20, executor: Executor | None = None,
    validation: Sequence[Mapping[str, Any]] = (),
) -> Path:
    """Write ``report.html`` and the selected passes' PNGs (``passes/``) into ``out_dir``."""
    out = Path(out_dir)
    (out / "passes").mkdir(parents=True, exist_ok=True)
    by_satellite = {m.satellite.name: m for m in missions}
    chosen = select_pass_figures(result, max_pass_figures)
    tasks = [(o, by_satellite[o.satellite], result.stations[o.station]) for o in chosen]
    pngs = (executor or SerialExecutor()).map(_figure_task, tasks)
    for outcome, png in zip(chosen, pngs, strict=True):
        (out / "passes" / pass_figure_name(outcome)).write_bytes(png)
    path = out / REPORT_FILE
    path.write_text(render_campaign_html(result, missions, list(zip(chosen, pngs, strict=True)),
                                         validation), encoding="utf-8")
    return path
