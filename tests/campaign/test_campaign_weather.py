"""The weather draw: seeded, per station and night, at the station's monthly odds."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from satqkd.campaign.weather import clear_probability, is_clear, night_of
from satqkd.config import Mission


def test_night_runs_from_local_noon_to_local_noon() -> None:
    # 2022-09-25 14:19 UTC is 22:19 Beijing time (UTC+8): the night of the 25th ...
    t = dt.datetime(2022, 9, 25, 14, 19, tzinfo=dt.UTC).timestamp()
    assert night_of(t, 8.0) == dt.date(2022, 9, 25)
    # ... and 02:00 local on the 26th still belongs to the night of the 25th.
    t = dt.datetime(2022, 9, 25, 18, 0, tzinfo=dt.UTC).timestamp()
    assert night_of(t, 8.0) == dt.date(2022, 9, 25)
    t = dt.datetime(2022, 9, 26, 4, 30, tzinfo=dt.UTC).timestamp()  # 12:30 local
    assert night_of(t, 8.0) == dt.date(2022, 9, 26)


def test_clear_fraction_matches_the_monthly_probability(jinan1: Mission) -> None:
    """Over 4 years of nights, each month's clear fraction is its configured probability
    within 4 standard deviations of a binomial draw."""
    station = jinan1.station("jinan")
    first = dt.date(2020, 1, 1)
    nights = [first + dt.timedelta(days=k) for k in range(4 * 365)]
    for month in (1, 7, 10):
        mine = [n for n in nights if n.month == month]
        p = clear_probability(station, mine[0])
        assert p == station.clear_sky_probability[month - 1]
        clear = sum(is_clear("jinan", station, n, seed=7) for n in mine)
        sigma = math.sqrt(len(mine) * p * (1 - p))
        assert abs(clear - len(mine) * p) < 4 * sigma, (month, clear, len(mine), p)


def test_draw_is_a_function_of_seed_station_and_night(jinan1: Mission) -> None:
    station = jinan1.station("jinan")
    nights = [dt.date(2022, 9, 1) + dt.timedelta(days=k) for k in range(200)]
    a = [is_clear("jinan", station, n, seed=1) for n in nights]
    assert a == [is_clear("jinan", station, n, seed=1) for n in reversed(nights)][::-1]
    assert a != [is_clear("jinan", station, n, seed=2) for n in nights]
    assert a != [is_clear("hefei", station, n, seed=1) for n in nights]


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_certain_skies(jinan1: Mission, probability: float) -> None:
    station = jinan1.station("jinan").model_copy(
        update={"clear_sky_probability": (probability,) * 12})
    nights = [dt.date(2022, 1, 1) + dt.timedelta(days=k) for k in range(100)]
    assert {is_clear("jinan", station, n, seed=3) for n in nights} == {bool(probability)}


def test_station_without_climate_data_is_always_clear(jinan1: Mission) -> None:
    station = jinan1.station("jinan").model_copy(update={"clear_sky_probability": ()})
    assert clear_probability(station, dt.date(2022, 6, 1)) == 1.0
    assert all(is_clear("jinan", station, dt.date(2022, 6, d), seed=1) for d in range(1, 29))
