"""Constellations: several satellites built from one mission by spreading its orbit.

:func:`constellation` turns one mission into ``planes × per_plane`` missions whose satellites
share the payload, stations, procedure and protocol, and differ only in where they fly:
satellites of one plane are spaced evenly in mean anomaly, planes evenly in right ascension
of the ascending node (a Walker-star-like pattern without phasing between planes). For a
Sun-synchronous orbit a node offset is a local-time offset (15° per hour), so planes become
different local times of the node (``ltan_hours``); a circular orbit moves its ``raan_deg``; a
TLE orbit has its node and mean anomaly turned in the SGP4 elements.

:func:`missions_from_tles` does the same for real satellites: one mission per TLE of a
file (the usual two- or three-line format, as published by satellite catalogues).
"""

from __future__ import annotations

import math

from sgp4.api import WGS72, Satrec
from sgp4.exporter import export_tle

from satqkd.config.models import CircularOrbit, Mission, SsoOrbit, TleOrbit
from satqkd.errors import InputError
from satqkd.orbit.tle import satrec_from_tle

__all__ = ["constellation", "missions_from_tles", "parse_tles", "shifted_orbit"]


def shifted_orbit(
    orbit: TleOrbit | SsoOrbit | CircularOrbit, node_shift_deg: float, anomaly_shift_deg: float,
    norad_id: int | None = None,
) -> TleOrbit | SsoOrbit | CircularOrbit:
    """The same orbit with its node turned by ``node_shift_deg`` and the satellite moved on it
    by ``anomaly_shift_deg`` (both at the epoch)."""
    if isinstance(orbit, SsoOrbit):
        ltan = (orbit.ltan_hours + node_shift_deg / 15.0) % 24.0
        return orbit.model_copy(update={
            "ltan_hours": ltan,
            "mean_anomaly_deg": (orbit.mean_anomaly_deg + anomaly_shift_deg) % 360.0,
            **({"norad_id": norad_id} if norad_id else {}),
        })
    if isinstance(orbit, CircularOrbit):
        return orbit.model_copy(update={
            "raan_deg": (orbit.raan_deg + node_shift_deg) % 360.0,
            "mean_anomaly_deg": (orbit.mean_anomaly_deg + anomaly_shift_deg) % 360.0,
            **({"norad_id": norad_id} if norad_id else {}),
        })
    src = satrec_from_tle(orbit.line1, orbit.line2)
    sat = Satrec()
    sat.sgp4init(
        WGS72, "i", norad_id or src.satnum, src.jdsatepoch + src.jdsatepochF - 2433281.5,
        src.bstar, src.ndot, src.nddot, src.ecco, src.argpo, src.inclo,
        (src.mo + math.radians(anomaly_shift_deg)) % (2 * math.pi), src.no_kozai,
        (src.nodeo + math.radians(node_shift_deg)) % (2 * math.pi),
    )
    line1, line2 = export_tle(sat)
    return TleOrbit(line1=line1, line2=line2)


def constellation(
    mission: Mission, *, planes: int = 1, per_plane: int = 1,
    raan_spacing_deg: float | None = None, anomaly_spacing_deg: float | None = None,
) -> list[Mission]:
    """``planes × per_plane`` variants of ``mission`` (the first is the mission's own orbit).

    Defaults: planes 360°/planes apart in node (for Sun-synchronous orbits, 24 h/planes in
    local time of the node), satellites 360°/per_plane apart in mean anomaly. Satellites are
    named ``"<name> P<p>S<s>"`` when there are several; NORAD ids are made distinct.
    """
    if planes < 1 or per_plane < 1 or planes * per_plane > 1000:
        raise InputError("need 1 ≤ planes, 1 ≤ per-plane, planes × per-plane ≤ 1000",
                         field="constellation", value=(planes, per_plane))
    d_node = 360.0 / planes if raan_spacing_deg is None else raan_spacing_deg
    d_anomaly = 360.0 / per_plane if anomaly_spacing_deg is None else anomaly_spacing_deg
    if planes * per_plane == 1:
        return [mission]
    base_id = getattr(mission.satellite.orbit, "norad_id", None) or int(
        satrec_from_tle(mission.satellite.orbit.line1, mission.satellite.orbit.line2).satnum)
    out = []
    for p in range(planes):
        for s in range(per_plane):
            k = p * per_plane + s
            norad = (base_id - k - 1) % 99999 + 1 if k else None
            orbit = shifted_orbit(mission.satellite.orbit, p * d_node, s * d_anomaly, norad)
            name = f"{mission.satellite.name} P{p + 1}S{s + 1}"
            satellite = mission.satellite.model_copy(update={"name": name, "orbit": orbit})
            out.append(mission.model_copy(update={"name": f"{mission.name}-p{p + 1}s{s + 1}",
                                                  "satellite": satellite}))
    return out


def parse_tles(text: str, source: str | None = None) -> list[tuple[str | None, str, str]]:
    """``(name, line1, line2)`` of every TLE in ``text`` (2- or 3-line format, validated).

    A line before a ``1 `` line that is not itself a TLE line is the satellite's name (a
    leading ``0 `` is dropped). Raises :class:`InputError` naming the line of a malformed set.
    """
    from satqkd.orbit.tle import validate_tle

    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    out: list[tuple[str | None, str, str]] = []
    name: str | None = None
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.startswith("1 ") and k + 1 < len(lines) and lines[k + 1].startswith("2 "):
            validate_tle(line, lines[k + 1], source=f"{source or 'TLE'} (line {k + 1})")
            out.append((name, line, lines[k + 1]))
            name = None
            k += 2
            continue
        if line.startswith(("1 ", "2 ")):
            raise InputError("TLE line without its partner line", source=source,
                             field=f"line {k + 1}", value=line)
        name = line[2:].strip() if line.startswith("0 ") else line.strip()
        k += 1
    if not out:
        raise InputError("no two-line element set found", source=source)
    return out


def missions_from_tles(mission: Mission, text: str, source: str | None = None) -> list[Mission]:
    """One mission per TLE in ``text``: the mission's payload, stations, procedure and
    protocol on each satellite's real orbit (named from the file, or ``"<name> <NORAD id>"``)."""
    out = []
    for k, (name, line1, line2) in enumerate(parse_tles(text, source)):
        label = name or f"{mission.satellite.name} {line1[2:7].strip()}"
        satellite = mission.satellite.model_copy(update={
            "name": label, "orbit": TleOrbit(line1=line1, line2=line2)})
        out.append(mission.model_copy(update={"name": f"{mission.name}-{k + 1}",
                                              "satellite": satellite}))
    names = [m.satellite.name for m in out]
    if len(set(names)) != len(names):
        raise InputError("two TLEs name the same satellite", source=source, value=names)
    return out
