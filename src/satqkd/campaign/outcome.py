"""What a campaign records about one pass: where and when, and what key it gave.

A :class:`PassOutcome` is the same record whichever fidelity produced it (``fast``: expected
counts, ``photon``: full simulation and live protocol), so tables, totals, relay latencies
and reports never need to know which. The heavy per-pass detail (the per-second timeline,
the packets and the blocks) rides along for the per-pass plots but stays out of the table
rows (:meth:`PassOutcome.row`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from satqkd.orbit.timescale import iso_utc

__all__ = ["PASS_COLUMNS", "PassOutcome", "Status"]

Status = Literal["key", "no key", "cloudy", "conflict", "failed"]
"""``key``/``no key``: evaluated; ``cloudy``: the weather draw said overcast; ``conflict``:
the satellite served another station at that time; ``failed``: the evaluation raised."""


@dataclass(frozen=True)
class PassOutcome:
    """One candidate night pass of one satellite over one station, and its result.

    Times are POSIX seconds (UTC); ``window_*`` is the QKD window of the mission's
    procedure. Key quantities are ``0``/``None`` for passes that were not evaluated.
    ``packets`` counts 100-kbit (``packet_bits``) packets of sifted key after sampling, the
    quantity the published Jinan-1 campaign table lists; QBERs are per packet.
    """

    satellite: str
    station: str
    night: str
    rise_unix_s: float
    culmination_unix_s: float
    window_start_unix_s: float
    window_end_unix_s: float
    max_elevation_deg: float
    moon_separation_deg: float
    moon_illumination: float
    status: Status
    mode: str = ""
    seed: int = 0
    detections: float = 0.0
    sifted_bits: float = 0.0
    packets: int = 0
    qber_mean: float | None = None
    qber_min: float | None = None
    qber_max: float | None = None
    blocks: int = 0
    final_key_bits: int = 0
    keys_match: bool | None = None
    wall_time_s: float = 0.0
    note: str = ""
    timeline: tuple[dict[str, float], ...] = field(default=(), repr=False, compare=False)
    packet_list: tuple[dict[str, Any], ...] = field(default=(), repr=False, compare=False)
    block_list: tuple[dict[str, Any], ...] = field(default=(), repr=False, compare=False)

    @property
    def window_s(self) -> float:
        """Length of the QKD window."""
        return self.window_end_unix_s - self.window_start_unix_s

    @property
    def evaluated(self) -> bool:
        """Whether the pass was simulated or estimated (not cloudy, not in conflict)."""
        return self.status in ("key", "no key")

    def with_result(self, **values: Any) -> PassOutcome:
        """A copy with the evaluation's results filled in."""
        return replace(self, **values)

    def row(self) -> dict[str, Any]:
        """Flat table row (no timeline, packets or blocks): the Parquet/CSV columns."""
        return {
            "satellite": self.satellite,
            "station": self.station,
            "night": self.night,
            "start": iso_utc(self.window_start_unix_s),
            "end": iso_utc(self.window_end_unix_s),
            "window_start_unix_s": self.window_start_unix_s,
            "window_end_unix_s": self.window_end_unix_s,
            "window_s": round(self.window_s, 1),
            "max_elevation_deg": round(self.max_elevation_deg, 2),
            "moon_separation_deg": round(self.moon_separation_deg, 1),
            "moon_illumination": round(self.moon_illumination, 3),
            "status": self.status,
            "mode": self.mode,
            "seed": self.seed,
            "detections": float(self.detections),
            "sifted_bits": float(self.sifted_bits),
            "packets": int(self.packets),
            "qber_mean": self.qber_mean,
            "qber_min": self.qber_min,
            "qber_max": self.qber_max,
            "blocks": int(self.blocks),
            "final_key_bits": int(self.final_key_bits),
            "keys_match": self.keys_match,
            "wall_time_s": round(self.wall_time_s, 3),
            "note": self.note,
        }


PASS_COLUMNS: tuple[str, ...] = tuple(
    PassOutcome("", "", "", 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, "cloudy").row()
)
"""Column names of the per-pass table, in order."""
