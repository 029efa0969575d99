"""SGP4 propagation of one satellite, vectorised over time, to Earth-fixed coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sgp4.api import Satrec

from satqkd.config.models import Satellite
from satqkd.errors import SatqkdError
from satqkd.orbit.frames import teme_to_itrs
from satqkd.orbit.synthetic import tle_from_orbit
from satqkd.orbit.timescale import jd_utc
from satqkd.orbit.tle import satrec_from_tle


@dataclass(frozen=True)
class SatelliteOrbit:
    """A satellite's orbit: its TLE and SGP4 record. Call :meth:`itrs` for positions."""

    name: str
    line1: str
    line2: str
    satrec: Satrec

    @classmethod
    def from_tle(cls, line1: str, line2: str, name: str = "satellite") -> SatelliteOrbit:
        """From two TLE lines (validated; :class:`~satqkd.errors.InputError` if malformed)."""
        return cls(name, line1.rstrip(), line2.rstrip(), satrec_from_tle(line1, line2))

    @classmethod
    def from_config(cls, satellite: Satellite) -> SatelliteOrbit:
        """From a mission's satellite: its TLE, or the TLE of its synthetic orbit."""
        orbit = satellite.orbit
        if orbit.kind == "tle":
            return cls.from_tle(orbit.line1, orbit.line2, satellite.name)
        line1, line2 = tle_from_orbit(orbit)
        return cls.from_tle(line1, line2, satellite.name)

    @property
    def epoch_unix_s(self) -> float:
        """The TLE epoch as POSIX seconds."""
        jd = self.satrec.jdsatepoch + self.satrec.jdsatepochF
        return float((jd - 2440587.5) * 86400.0)

    def teme(self, t_unix_s: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """TEME position (km) and velocity (km/s), shapes ``[N, 3]``."""
        t = np.atleast_1d(np.asarray(t_unix_s, dtype=np.float64))
        jd, fr = jd_utc(t)
        err, r, v = self.satrec.sgp4_array(jd, fr)
        if np.any(err != 0):
            bad = int(np.flatnonzero(err)[0])
            raise SatqkdError(
                f"SGP4 error {int(err[bad])} for {self.name} at t={t[bad]:.0f} "
                "(orbit decayed or TLE too far from its epoch)"
            )
        return r, v

    def itrs(
        self, t_unix_s: ArrayLike, dut1_s: float = 0.0
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Earth-fixed position (km) and velocity (km/s), shapes ``[N, 3]``."""
        t = np.atleast_1d(np.asarray(t_unix_s, dtype=np.float64))
        r, v = self.teme(t)
        return teme_to_itrs(r, v, t, dut1_s)
