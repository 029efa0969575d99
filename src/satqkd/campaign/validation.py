"""Check the ``fast`` fidelity against the ``photon`` one on the same passes.

For each pass (a synthetic pass of given maximum elevation over a station, or the mission's
reference pass) both fidelities run on the same QKD window with the same seed — so the same
polarisation residual and the same channel — and the ratios fast/photon of sifted bits,
mean packet QBER (over the packets the photon run decoded) and final key are reported. The
photon fidelity is itself random (Poisson counts, LDPC failures), so ratios scatter by its
statistical spread around 1; the fast fidelity assumes every packet decodes, so a photon
packet that does not decode lowers the photon key only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from satqkd.campaign.fast_pass import fast_pass_outcome
from satqkd.campaign.outcome import PassOutcome
from satqkd.campaign.photon_pass import photon_pass_outcome
from satqkd.config.models import Mission, Station
from satqkd.simulate.pass_simulation import select_pass

__all__ = ["FidelityComparison", "compare_fidelities"]


@dataclass(frozen=True)
class FidelityComparison:
    """Both fidelities on one pass."""

    label: str
    fast: PassOutcome
    photon: PassOutcome

    @staticmethod
    def _ratio(a: float | None, b: float | None) -> float | None:
        if a is None or b is None or b == 0:
            return None
        return float(a) / float(b)

    @property
    def sifted_ratio(self) -> float | None:
        """Sifted key bits (after sampling), fast / photon."""
        return self._ratio(self.fast.sifted_bits, self.photon.sifted_bits)

    @property
    def undecoded_packets(self) -> int:
        """Packets the photon run's LDPC did not decode (the fast fidelity decodes all)."""
        return sum(1 for p in self.photon.packet_list if not p.get("decoded", True))

    @property
    def qber_ratio(self) -> float | None:
        """Mean packet QBER, fast / photon, over the packets the photon run decoded.

        The photon run's mean covers its decoded packets only (an undecoded packet's errors
        are unknown); the fast mean is taken over the same packets, paired by their order
        in the pass (both fidelities cut the same key stream into 100-kbit packets).
        """
        decoded = [k for k, p in enumerate(self.photon.packet_list) if p.get("decoded", True)]
        fast = [self.fast.packet_list[k]["qber"] for k in decoded
                if k < len(self.fast.packet_list)]
        if not fast:
            return None
        return self._ratio(sum(fast) / len(fast), self.photon.qber_mean)

    @property
    def key_ratio(self) -> float | None:
        """Final key bits, fast / photon."""
        return self._ratio(self.fast.final_key_bits, self.photon.final_key_bits)

    def row(self) -> dict[str, Any]:
        """One table row of the comparison."""
        return {
            "pass": self.label,
            "window_s": round(self.fast.window_s, 1),
            "sifted_fast": round(self.fast.sifted_bits),
            "sifted_photon": round(self.photon.sifted_bits),
            "sifted_ratio": self.sifted_ratio,
            "qber_fast": self.fast.qber_mean,
            "qber_photon": self.photon.qber_mean,
            "qber_ratio": self.qber_ratio,
            "undecoded_photon": self.undecoded_packets,
            "key_fast": self.fast.final_key_bits,
            "key_photon": self.photon.final_key_bits,
            "key_ratio": self.key_ratio,
            "fast_wall_s": round(self.fast.wall_time_s, 3),
            "photon_wall_s": round(self.photon.wall_time_s, 2),
        }


def compare_fidelities(
    mission: Mission, station: Station, max_elevations_deg: Sequence[float | None], *,
    start: dt.datetime | None = None, duration_s: float | None = None, seed: int = 1,
) -> list[FidelityComparison]:
    """Run both fidelities on passes of the given maximum elevations (None: reference pass)."""
    out = []
    for k, elevation in enumerate(max_elevations_deg):
        sel = select_pass(mission, station, start=start if elevation is not None else None,
                          max_elevation_deg=elevation, duration_s=duration_s)
        p = sel.pass_
        template = PassOutcome(
            satellite=mission.satellite.name, station=station.name, night=sel.label,
            rise_unix_s=p.rise_unix_s, culmination_unix_s=p.culmination_unix_s,
            window_start_unix_s=sel.window_start_unix_s,
            window_end_unix_s=sel.window_end_unix_s, max_elevation_deg=p.max_elevation_deg,
            moon_separation_deg=p.moon_separation_deg, moon_illumination=p.moon_illumination,
            status="no key", seed=seed + k,
        )
        fast = fast_pass_outcome(mission, station, template, sel.orbit)
        photon = photon_pass_outcome(mission, station, template, p, sel.orbit)
        out.append(FidelityComparison(sel.label, fast, photon))
    return out
