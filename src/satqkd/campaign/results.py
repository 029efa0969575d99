"""A campaign's results: the pass table, totals per station, key per station-night, relay latency.

Key relay (SPEC §9): the satellite, a trusted courier, holds key M_A from a pass over A and
key M_B from a later pass over B, and sends M_A ⊕ M_B to B. The latency of the relay A → B
is the time from the end of a pass giving key with A to the end of the next pass *of the
same satellite* giving key with B (the first moment both keys exist on board); the SPEC
quotes ~1.5 h for passes on consecutive orbits. :meth:`CampaignResult.relay_latencies`
gives, for every ordered station pair, the number of such relays and the latency's
minimum, median, mean and maximum in hours.

Tables are written as Parquet (typed, for analysis) and CSV (for spreadsheets) by
:meth:`CampaignResult.write`, with ``summary.json`` beside them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from satqkd.campaign.outcome import PASS_COLUMNS, PassOutcome
from satqkd.campaign.weather import night_of
from satqkd.config.models import Station
from satqkd.orbit.timescale import iso_utc

__all__ = ["CampaignResult"]

_FLOAT_COLUMNS = {"window_start_unix_s", "window_end_unix_s", "window_s", "max_elevation_deg",
                  "moon_separation_deg", "moon_illumination", "detections", "sifted_bits",
                  "qber_mean", "qber_min", "qber_max", "wall_time_s"}
_INT_COLUMNS = {"seed", "packets", "blocks", "final_key_bits"}


@dataclass(frozen=True)
class CampaignResult:
    """Every candidate pass's outcome (sorted by time) and what the campaign was."""

    outcomes: tuple[PassOutcome, ...]
    stations: dict[str, Station]
    satellites: tuple[str, ...]
    start_unix_s: float
    end_unix_s: float
    mode: str
    seed: int
    workers: int
    wall_time_s: float

    @property
    def evaluated(self) -> list[PassOutcome]:
        """Passes that were simulated or estimated (clear sky, satellite free)."""
        return [o for o in self.outcomes if o.evaluated]

    @property
    def total_key_bits(self) -> int:
        """Final key of the whole campaign, all stations."""
        return int(sum(o.final_key_bits for o in self.outcomes))

    def rows(self, evaluated_only: bool = False) -> list[dict[str, Any]]:
        """The per-pass table (one dict per candidate pass)."""
        return [o.row() for o in (self.evaluated if evaluated_only else self.outcomes)]

    def station_totals(self) -> list[dict[str, Any]]:
        """Per station: candidate night passes, cloudy, conflicts, evaluated, key."""
        out = []
        for key in self.stations:
            mine = [o for o in self.outcomes if o.station == key]
            done = [o for o in mine if o.evaluated]
            keyed = [o for o in done if o.final_key_bits > 0]
            qbers = [o.qber_mean for o in done if o.qber_mean is not None]
            out.append({
                "station": key,
                "night_passes": len(mine),
                "cloudy": sum(o.status == "cloudy" for o in mine),
                "conflict": sum(o.status == "conflict" for o in mine),
                "failed": sum(o.status == "failed" for o in mine),
                "evaluated": len(done),
                "passes_with_key": len(keyed),
                "sifted_bits": float(sum(o.sifted_bits for o in done)),
                "packets": int(sum(o.packets for o in done)),
                "qber_mean": float(np.mean(qbers)) if qbers else None,
                "final_key_bits": int(sum(o.final_key_bits for o in done)),
                "best_pass_key_bits": int(max((o.final_key_bits for o in done), default=0)),
                "mean_key_per_pass_bits": (float(np.mean([o.final_key_bits for o in done]))
                                           if done else 0.0),
            })
        return out

    def station_days(self) -> list[dict[str, Any]]:
        """Key per station and local night, every night of the campaign (zeros included)."""
        key_bits: dict[tuple[str, str], int] = defaultdict(int)
        passes: dict[tuple[str, str], int] = defaultdict(int)
        for o in self.evaluated:
            key_bits[o.station, o.night] += o.final_key_bits
            passes[o.station, o.night] += 1
        out = []
        for key, station in self.stations.items():
            first = night_of(self.start_unix_s, station.timezone_hours)
            last = night_of(self.end_unix_s, station.timezone_hours)
            for k in range((last - first).days + 1):
                night = (first + dt.timedelta(days=k)).isoformat()
                out.append({"station": key, "night": night, "passes": passes[key, night],
                            "final_key_bits": key_bits[key, night]})
        return out

    def relay_latencies(self) -> list[dict[str, Any]]:
        """For each ordered station pair: relays possible and their latency (hours)."""
        ends: dict[tuple[str, str], list[float]] = defaultdict(list)
        for o in self.evaluated:
            if o.final_key_bits > 0:
                ends[o.satellite, o.station].append(o.window_end_unix_s)
        for v in ends.values():
            v.sort()
        out = []
        for a in self.stations:
            for b in self.stations:
                if a == b:
                    continue
                lat_h = []
                for sat in self.satellites:
                    later = ends.get((sat, b), [])
                    for t_a in ends.get((sat, a), []):
                        k = bisect.bisect_right(later, t_a)
                        if k < len(later):
                            lat_h.append((later[k] - t_a) / 3600.0)
                out.append({
                    "from": a, "to": b, "relays": len(lat_h),
                    "min_h": float(np.min(lat_h)) if lat_h else None,
                    "median_h": float(np.median(lat_h)) if lat_h else None,
                    "mean_h": float(np.mean(lat_h)) if lat_h else None,
                    "max_h": float(np.max(lat_h)) if lat_h else None,
                })
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: the campaign, its totals, station totals and relay latencies."""
        statuses: dict[str, int] = defaultdict(int)
        for o in self.outcomes:
            statuses[o.status] += 1
        return {
            "satellites": list(self.satellites),
            "stations": list(self.stations),
            "start": iso_utc(self.start_unix_s),
            "end": iso_utc(self.end_unix_s),
            "days": round((self.end_unix_s - self.start_unix_s) / 86400.0, 4),
            "mode": self.mode,
            "seed": self.seed,
            "workers": self.workers,
            "night_passes": len(self.outcomes),
            "status_counts": dict(statuses),
            "final_key_bits": self.total_key_bits,
            "station_totals": self.station_totals(),
            "relay_latencies": self.relay_latencies(),
            "wall_time_s": round(self.wall_time_s, 3),
        }

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write the tables as Parquet and CSV and ``summary.json``; returns the paths."""
        import pyarrow as pa
        import pyarrow.csv as pa_csv
        import pyarrow.parquet as pq

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        tables = {
            "passes": pa.Table.from_pylist(self.rows(), schema=_pass_schema(pa)),
            "stations": pa.Table.from_pylist(self.station_totals(), schema=_schema(
                pa, self.station_totals())),
            "station_days": pa.Table.from_pylist(self.station_days(), schema=_schema(
                pa, self.station_days())),
            "relay_latencies": pa.Table.from_pylist(self.relay_latencies(), schema=_schema(
                pa, self.relay_latencies())),
        }
        paths: dict[str, Path] = {}
        for name, table in tables.items():
            paths[f"{name}.parquet"] = out / f"{name}.parquet"
            pq.write_table(table, paths[f"{name}.parquet"])
            paths[f"{name}.csv"] = out / f"{name}.csv"
            pa_csv.write_csv(table, paths[f"{name}.csv"])
        paths["summary.json"] = out / "summary.json"
        paths["summary.json"].write_text(json.dumps(self.summary(), indent=2) + "\n",
                                         encoding="utf-8")
        return paths


def _pass_schema(pa: Any) -> Any:
    def kind(name: str) -> Any:
        if name in _FLOAT_COLUMNS:
            return pa.float64()
        if name in _INT_COLUMNS:
            return pa.int64()
        if name == "keys_match":
            return pa.bool_()
        return pa.string()

    return pa.schema([(name, kind(name)) for name in PASS_COLUMNS])


def _schema(pa: Any, rows: list[dict[str, Any]]) -> Any:
    """Schema from the first row's Python types (None → float64: the optional figures)."""
    if not rows:
        return pa.schema([])
    types = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}
    fields = []
    for name, value in rows[0].items():
        example = next((r[name] for r in rows if r[name] is not None), value)
        fields.append((name, types.get(type(example), pa.float64())))
    return pa.schema(fields)
