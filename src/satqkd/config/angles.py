"""Parsing of sexagesimal angles as published for ground stations (``36°40'38"N``)."""

from __future__ import annotations

import re

_DMS = re.compile(
    r"""^\s*(?P<deg>\d+(?:\.\d+)?)\s*[°d:\s]\s*
        (?:(?P<min>\d+(?:\.\d+)?)\s*['′m:\s]?\s*)?
        (?:(?P<sec>\d+(?:\.\d+)?)\s*(?:["″s]|'')?\s*)?
        (?P<hemi>[NSEWnsew])?\s*$""",
    re.VERBOSE,
)


def parse_dms(text: str) -> float:
    """Decimal degrees from ``"36°40'38\\"N"``, ``"117 07 21 E"`` or ``"-12.5"``.

    South and west are negative. Raises ``ValueError`` (which pydantic reports with the
    field name) for anything else.
    """
    try:
        return float(text)
    except ValueError:
        pass
    match = _DMS.match(text)
    if not match:
        raise ValueError(f"not an angle: {text!r} (use decimal degrees or 36°40'38\"N)")
    minutes = float(match["min"] or 0.0)
    seconds = float(match["sec"] or 0.0)
    if minutes >= 60 or seconds >= 60:
        raise ValueError(f"minutes and seconds must be below 60 in {text!r}")
    value = float(match["deg"]) + minutes / 60.0 + seconds / 3600.0
    if (match["hemi"] or "").upper() in ("S", "W"):
        value = -value
    return value
