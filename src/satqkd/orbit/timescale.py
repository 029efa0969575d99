"""Time as float64 POSIX seconds (UTC), and the conversions SGP4 and ERFA need.

satqkd keeps time arrays as ``t_unix_s`` (seconds since 1970-01-01 UTC, leap seconds not
counted, like POSIX). That is exact enough for pass geometry (float64 resolves ~0.2 µs
today) and makes arithmetic on passes trivial. Conversions split Julian dates in two parts
so that SGP4 and ERFA keep full precision.
"""

from __future__ import annotations

import datetime as dt

import erfa
import numpy as np
from numpy.typing import ArrayLike, NDArray

UNIX_EPOCH_JD = 2440587.5
SECONDS_PER_DAY = 86400.0


def to_unix_s(when: dt.datetime) -> float:
    """POSIX seconds of an aware datetime (a naive one is taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def from_unix_s(t_unix_s: float) -> dt.datetime:
    """Aware UTC datetime of POSIX seconds."""
    return dt.datetime.fromtimestamp(float(t_unix_s), tz=dt.UTC)


def iso_utc(t_unix_s: float) -> str:
    """ISO 8601 UTC string with a trailing ``Z``, to the millisecond."""
    return from_unix_s(t_unix_s).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> dt.datetime:
    """Parse an ISO 8601 time; naive times are UTC. ``ValueError`` on bad input."""
    when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def jd_utc(t_unix_s: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Two-part UTC Julian date (whole day at midnight-based .5, fraction) of POSIX seconds."""
    t = np.asarray(t_unix_s, dtype=np.float64)
    days = np.floor(t / SECONDS_PER_DAY)
    frac = (t - days * SECONDS_PER_DAY) / SECONDS_PER_DAY
    return days + UNIX_EPOCH_JD, frac


def jd_tt(t_unix_s: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Two-part Terrestrial Time Julian date (leap seconds from ERFA's built-in table)."""
    d1, d2 = jd_utc(t_unix_s)
    tai1, tai2 = erfa.utctai(d1, d2)
    return erfa.taitt(tai1, tai2)
