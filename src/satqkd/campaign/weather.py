"""Cloud cover for campaigns: one seeded draw per station and night.

Optical QKD needs a cloud-free line of sight. Each station's config gives 12 monthly
cloud-free probabilities (``clear_sky_probability``, climatological estimates for the site);
the campaign draws, for every station and local night, whether that night is clear. The
draw is a pure function of (seed, station, night), so a campaign gives the same weather
whatever the order or the machine its passes are evaluated on, and all passes of one night
over one station (by any satellite) share the same sky. A station without monthly values
is always clear.

Approximation: a whole night is clear or overcast; partial cloud, haze that varies from night
to night, and correlation between nearby stations or consecutive nights are not modelled.
"""

from __future__ import annotations

import datetime as dt
import zlib

import numpy as np

from satqkd.config.models import Station

__all__ = ["clear_probability", "is_clear", "night_of"]


def night_of(t_unix_s: float, timezone_hours: float) -> dt.date:
    """The local date of the evening a night belongs to (local noon to next local noon)."""
    local = dt.datetime.fromtimestamp(t_unix_s + (timezone_hours - 12.0) * 3600.0, tz=dt.UTC)
    return local.date()


def clear_probability(station: Station, night: dt.date) -> float:
    """Cloud-free probability of ``station`` in the month of ``night`` (1 without data)."""
    if not station.clear_sky_probability:
        return 1.0
    return float(station.clear_sky_probability[night.month - 1])


def is_clear(station_key: str, station: Station, night: dt.date, seed: int) -> bool:
    """Whether the night is clear at the station: a seeded draw against its monthly odds."""
    key = zlib.crc32(station_key.lower().encode())
    rng = np.random.default_rng([seed, key, night.toordinal(), 0xC10D])
    return bool(rng.random() < clear_probability(station, night))
