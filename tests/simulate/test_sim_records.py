"""Pass records survive a round trip through their npz file; bad files are input errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from satqkd.errors import InputError
from satqkd.simulate.records import (
    FORMAT,
    GroundRecord,
    PassTruth,
    SatelliteRecord,
    load_records,
    save_records,
)


def assert_records_equal(a: object, b: object) -> None:
    assert type(a) is type(b)
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert isinstance(y, np.ndarray) and x.dtype == y.dtype, f.name
            np.testing.assert_array_equal(x, y, err_msg=f.name)
        else:
            assert type(x) is type(y) and x == y, (f.name, x, y)


def test_round_trip(tmp_path: Path, low_rate_run) -> None:
    path = tmp_path / "pass.npz"
    save_records(path, low_rate_run.satellite, low_rate_run.ground, low_rate_run.truth)
    satellite, ground, truth = load_records(path)
    assert isinstance(satellite, SatelliteRecord)
    assert isinstance(ground, GroundRecord)
    assert isinstance(truth, PassTruth)
    assert_records_equal(satellite, low_rate_run.satellite)
    assert_records_equal(ground, low_rate_run.ground)
    assert_records_equal(truth, low_rate_run.truth)
    assert satellite.pulses_per_intensity()["signal"] == pytest.approx(
        0.5 * satellite.pulses_sent
    )


@pytest.mark.parametrize(
    "damage", ["garbage", "truncated", "scrambled", "empty", "missing", "npy"]
)
def test_corrupt_files_are_input_errors(tmp_path: Path, low_rate_run, damage: str) -> None:
    good = tmp_path / "good.npz"
    save_records(good, low_rate_run.satellite, low_rate_run.ground, low_rate_run.truth)
    bad = tmp_path / "bad.npz"
    if damage == "garbage":
        bad.write_bytes(np.random.default_rng(0).bytes(5000))
    elif damage == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif damage == "scrambled":  # the zip directory intact, the compressed data damaged
        data = bytearray(good.read_bytes())
        middle = len(data) // 2
        data[middle : middle + 2000] = bytes(2000)
        bad.write_bytes(bytes(data))
    elif damage == "empty":
        bad.write_bytes(b"")
    elif damage == "npy":  # a plain array file, not an archive
        with bad.open("wb") as f:
            np.save(f, np.arange(10))
    with pytest.raises(InputError) as info:
        load_records(bad)
    assert info.value.source == str(bad)


def test_other_archives_are_input_errors(tmp_path: Path, low_rate_run) -> None:
    not_ours = tmp_path / "other.npz"
    np.savez(not_ours, x=np.arange(3))
    with pytest.raises(InputError, match=FORMAT):
        load_records(not_ours)
    incomplete = tmp_path / "incomplete.npz"
    np.savez(incomplete, format=np.asarray(FORMAT), **{"satellite/seed": np.asarray(1)})
    with pytest.raises(InputError):
        load_records(incomplete)
