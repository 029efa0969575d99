"""What each party starts a pass with, as data that can be written to its own file.

A :class:`SatelliteSetup` holds only what the satellite has: its source's secret seed and
class probabilities (its cache of random numbers), the protocol settings, its copy of the
pre-shared authentication key and the seed of its post-processing random numbers. A
:class:`GroundSetup` holds the station's own detections (:class:`GroundRecord`), the
source's published intensities and probabilities, the protocol settings and its copy of
the key. The in-memory session and the two-process run build their actors from the same
setups; in the two-process run each process reads only its own file, and imports only its
own actor (``build`` imports lazily).

The pre-shared key is drawn from ``auth_seed`` (:func:`satqkd.protocol.auth.make_authenticators`:
a simulation of a key installed before launch); each party keeps its own copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from satqkd.config.models import Protocol
from satqkd.protocol.link import LinkProfile
from satqkd.simulate.records import GroundRecord

if TYPE_CHECKING:
    from satqkd.protocol.ground import GroundStation
    from satqkd.protocol.satellite import Satellite

RETRANSMIT_S = 0.05
"""Default repetition interval of unacknowledged messages (pass time, s)."""


def _settings(setup: Any, skip: tuple[str, ...]) -> dict[str, Any]:
    out = {f.name: getattr(setup, f.name) for f in fields(setup) if f.name not in skip}
    out["protocol"] = setup.protocol.model_dump(mode="json")
    return out


@dataclass
class SatelliteSetup:
    """The satellite's starting data (see the module docstring)."""

    source_seed: int
    probabilities: tuple[float, float, float]
    protocol: Protocol
    auth_seed: int
    rng_seed: int
    frame_bytes: int = 1024
    retransmit_s: float = RETRANSMIT_S

    def build(self) -> Satellite:
        """The :class:`~satqkd.protocol.satellite.Satellite` actor."""
        from satqkd.photonics.source import SourceRandomness
        from satqkd.protocol.auth import make_authenticators
        from satqkd.protocol.satellite import Satellite

        auth = make_authenticators(self.protocol, self.auth_seed)[0]
        return Satellite(SourceRandomness(self.source_seed, self.probabilities), self.protocol,
                         auth, frame_bytes=self.frame_bytes, retransmit_s=self.retransmit_s,
                         seed=self.rng_seed)

    def save(self, path: Path, link: LinkProfile | None = None) -> None:
        """Write the setup (and the downlink profile it transmits on) to ``path`` (.npz)."""
        arrays = link.to_arrays("link/") if link is not None else {}
        np.savez(path, config=np.array(json.dumps(_settings(self, ("protocol",)))), **arrays)

    @classmethod
    def load(cls, path: Path) -> tuple[SatelliteSetup, LinkProfile | None]:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            cfg = json.loads(str(data["config"]))
            link = LinkProfile.from_arrays(data, "link/") if "link/t_s" in data else None
        cfg["protocol"] = Protocol.model_validate(cfg["protocol"])
        cfg["probabilities"] = tuple(cfg["probabilities"])
        return cls(**cfg), link


@dataclass
class GroundSetup:
    """The ground station's starting data (see the module docstring)."""

    record: GroundRecord
    intensities: tuple[float, float, float]
    probabilities: tuple[float, float, float]
    protocol: Protocol
    auth_seed: int
    rng_seed: int
    frame_bytes: int = 1024
    retransmit_s: float = RETRANSMIT_S
    batch_s: float = 1.0

    def build(self) -> GroundStation:
        """The :class:`~satqkd.protocol.ground.GroundStation` actor."""
        from satqkd.distill.estimation import DecoySource
        from satqkd.protocol.auth import make_authenticators
        from satqkd.protocol.ground import GroundStation

        auth = make_authenticators(self.protocol, self.auth_seed)[1]
        source = DecoySource(*self.intensities, *self.probabilities)
        return GroundStation(self.record, source, self.protocol, auth, seed=self.rng_seed,
                             batch_s=self.batch_s, frame_bytes=self.frame_bytes,
                             retransmit_s=self.retransmit_s)

    def save(self, path: Path, link: LinkProfile | None = None) -> None:
        """Write the setup, its detections and the uplink profile to ``path`` (.npz)."""
        arrays = link.to_arrays("link/") if link is not None else {}
        arrays |= {f"record/{f.name}": np.asarray(getattr(self.record, f.name))
                   for f in fields(GroundRecord)}
        cfg = _settings(self, ("protocol", "record"))
        np.savez(path, config=np.array(json.dumps(cfg)), **arrays)

    @classmethod
    def load(cls, path: Path) -> tuple[GroundSetup, LinkProfile | None]:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            cfg = json.loads(str(data["config"]))
            link = LinkProfile.from_arrays(data, "link/") if "link/t_s" in data else None
            values = {}
            for f in fields(GroundRecord):
                value = data[f"record/{f.name}"]
                values[f.name] = value.item() if value.ndim == 0 else value
        cfg["protocol"] = Protocol.model_validate(cfg["protocol"])
        cfg["intensities"] = tuple(cfg["intensities"])
        cfg["probabilities"] = tuple(cfg["probabilities"])
        return cls(GroundRecord(**values), **cfg), link
