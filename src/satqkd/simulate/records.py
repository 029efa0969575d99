"""What each party holds after a pass, and the simulator's ground truth, with an npz format.

* :class:`SatelliteRecord`: the satellite's side. It does not store per-pulse data: its
  random numbers are a counter-based function of ``seed`` and the pulse index (the
  "RND sequence number"), so any pulse's intensity, basis and bit can be looked up later.
* :class:`GroundRecord`: the ground station's side: one event per pulse slot with a gated
  detection: recovered pulse index, measured basis and bit, squashing flags, time.
* :class:`PassTruth`: for tests and reports only, aligned with the ground events: the true
  photon number, prepared state, whether the bit is an error, whether the index was
  recovered wrongly. Neither actor ever sees it.

File format (``satqkd simulate --out FILE.npz``): one NumPy ``.npz`` archive whose arrays
are prefixed ``satellite/``, ``ground/`` and ``truth/`` (scalars as 0-d arrays, strings as
unicode arrays), plus ``format`` = ``"satqkd-pass-1"``. :func:`save_records` writes it and
:func:`load_records` reads it back.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

FORMAT = "satqkd-pass-1"


@dataclass(frozen=True)
class SatelliteRecord:
    """The satellite's own record of the pass."""

    satellite: str
    seed: int
    rep_rate_hz: float
    pulses_sent: int
    intensities: tuple[float, ...]
    probabilities: tuple[float, ...]
    start_unix_s: float

    def pulses_per_intensity(self) -> dict[str, float]:
        """Pulses sent of each intensity class: N·p_k (the source draws classes i.i.d.)."""
        names = ("signal", "decoy", "vacuum")
        return {n: self.pulses_sent * p for n, p in zip(names, self.probabilities, strict=True)}


@dataclass(frozen=True)
class GroundRecord:
    """The ground station's record: one event per pulse slot with a gated click."""

    station: str
    rep_rate_hz: float
    pulse_index: NDArray[np.uint64]
    basis: NDArray[np.uint8]
    bit: NDArray[np.uint8]
    double_click: NDArray[np.bool_]
    cross_basis: NDArray[np.bool_]
    detection_time_s: NDArray[np.float64]
    raw_clicks: int
    gated_clicks: int

    def __len__(self) -> int:
        return int(self.pulse_index.shape[0])


@dataclass(frozen=True)
class PassTruth:
    """Simulator ground truth per ground event (tests and reports only)."""

    photon_number: NDArray[np.int64]
    prepared_state: NDArray[np.uint8]
    basis_match: NDArray[np.bool_]
    bit_error: NDArray[np.bool_]
    signal_click: NDArray[np.bool_]
    mis_indexed: NDArray[np.bool_]
    intensity_class: NDArray[np.uint8]
    clicks_mis_indexed: int
    background_clicks_in_gate: int


def _flatten(prefix: str, record: Any) -> dict[str, NDArray[Any]]:
    return {f"{prefix}/{f.name}": np.asarray(getattr(record, f.name)) for f in fields(record)}


def _unflatten(cls: type, prefix: str, data: Any) -> Any:
    kwargs = {}
    for f in fields(cls):
        value = data[f"{prefix}/{f.name}"]
        if value.ndim == 0:
            value = value.item()
        elif f.type in ("tuple[float, ...]",):
            value = tuple(float(v) for v in value)
        kwargs[f.name] = value
    return cls(**kwargs)


def save_records(
    path: str | Path, satellite: SatelliteRecord, ground: GroundRecord, truth: PassTruth
) -> None:
    """Write the three records to one ``.npz`` archive (compressed)."""
    arrays = {"format": np.asarray(FORMAT)}
    arrays |= _flatten("satellite", satellite)
    arrays |= _flatten("ground", ground)
    arrays |= _flatten("truth", truth)
    np.savez_compressed(path, **arrays)


def load_records(path: str | Path) -> tuple[SatelliteRecord, GroundRecord, PassTruth]:
    """Read an archive written by :func:`save_records`."""
    from satqkd.errors import InputError

    # The file is opened here, not by np.load, so that it is closed even when the zip
    # reader fails (np.load leaks its handle then); a damaged archive can fail in the zip
    # layer (BadZipFile), in the decompressor (zlib.error) or end early (EOFError).
    try:
        with open(path, "rb") as file:
            data = np.load(file, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise InputError(f"not a {FORMAT} archive (a single array)", source=str(path))
            with data:
                if "format" not in data or str(data["format"]) != FORMAT:
                    raise InputError(f"not a {FORMAT} archive", source=str(path))
                return (
                    _unflatten(SatelliteRecord, "satellite", data),
                    _unflatten(GroundRecord, "ground", data),
                    _unflatten(PassTruth, "truth", data),
                )
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise InputError(f"cannot read pass records: {exc}", source=str(path)) from None
