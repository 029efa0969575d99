"""The quantum channel of one pass: link budget, background, polarisation and clocks vs time.

:class:`ChannelModel` evaluates the link models of :mod:`satqkd.link` on the pass geometry
(0.1 s grid) from a mission's configuration, and answers what the pulse-level engine asks:
the transmittance η(t) from the satellite's output to the detector input (detector
efficiency and gate excluded: the receiver and the timing simulation apply those), the
background click rate per detector, the polarisation routing matrix, and the clocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from satqkd.config.models import Mission, Station
from satqkd.link.background import (
    background_counts,
    background_gate_fraction,
    phase_angle_from_illuminated_fraction,
)
from satqkd.link.budget import LinkBudget, link_budget
from satqkd.simulate.geometry import PassGeometry
from satqkd.simulate.polarisation import pass_polarisation_errors, routing_matrix_from_errors


@dataclass(frozen=True)
class Clocks:
    """The satellite clock's offset and drift against the ground clock (simulator truth)."""

    satellite_offset_s: float
    satellite_drift_ppm: float
    ground_offset_s: float


@dataclass(frozen=True)
class ChannelModel:
    """Channel quantities on the pass grid ``t_s`` (seconds from the QKD window's start)."""

    t_s: NDArray[np.float64]
    budget: LinkBudget
    transmittance_grid: NDArray[np.float64]
    sky_hz_per_detector: NDArray[np.float64]
    dark_hz_per_detector: float
    gate_fraction: float
    error_z: NDArray[np.float64]
    error_x: NDArray[np.float64]
    misalignment_deg: NDArray[np.float64]
    basis_split_z: float
    clocks: Clocks

    @classmethod
    def build(
        cls, mission: Mission, station: Station, geometry: PassGeometry, *, seed: int
    ) -> ChannelModel:
        """Evaluate the link models of ``mission``/``station`` along ``geometry``."""
        payload = mission.satellite.payload
        det = station.detectors
        budget = link_budget(
            geometry.range_km, geometry.elevation_deg,
            divergence_urad=payload.divergence_urad, tx_aperture_m=payload.tx_aperture_m,
            rx_aperture_m=station.aperture_m, wavelength_nm=payload.wavelength_nm,
            central_obscuration=station.central_obscuration,
            pointing_jitter_urad=payload.tracking_precision_urad,
            rx_tracking_error_urad=station.tracking_precision_urad,
            fov_urad=station.fov_urad, zenith_transmittance=station.zenith_transmittance,
            haze_extinction_db=station.haze_extinction_db,
            rx_optical_efficiency=station.optical_efficiency * payload.tx_optical_efficiency,
            detector_efficiency=1.0, gate_ps=None, beam_profile=payload.beam_profile,
        )
        eta = np.asarray(budget.transmittance, dtype=np.float64) * np.ones_like(geometry.t_s)
        mean_eff = float(np.mean(det.efficiencies))
        phase = phase_angle_from_illuminated_fraction(geometry.moon_illumination)
        moon_up = geometry.moon_elevation_deg > 0.0
        bg = background_counts(
            rx_aperture_m=station.aperture_m, fov_urad=station.fov_urad,
            filter_width_nm=station.filter_width_nm,
            rx_optical_efficiency=station.optical_efficiency, detector_efficiency=mean_eff,
            dark_count_hz=0.0, gate_ps=station.time_gate_ps, rep_rate_hz=payload.rep_rate_hz,
            elevation_deg=geometry.elevation_deg, sky_class=station.sky_class,
            sky_brightness_scale=station.sky_brightness_scale,
            zenith_transmittance=station.zenith_transmittance,
            central_obscuration=station.central_obscuration,
            moon_separation_deg=geometry.moon_separation_deg if moon_up else None,
            moon_elevation_deg=(np.full_like(geometry.t_s, geometry.moon_elevation_deg)
                                if moon_up else None),
            moon_phase_angle_deg=(np.full_like(geometry.t_s, float(phase))
                                  if moon_up else None),
        )
        error_z, error_x, misalignment_deg = pass_polarisation_errors(
            geometry, payload, station, seed=seed
        )
        rng = np.random.default_rng([seed, 0xC10C])
        clocks = Clocks(
            satellite_offset_s=float(rng.uniform(-1e-6, 1e-6)),
            satellite_drift_ppm=float(payload.clock_drift_ppm * rng.choice([-1.0, 1.0])),
            ground_offset_s=float(rng.uniform(-1e-6, 1e-6)),
        )
        return cls(
            t_s=geometry.t_s, budget=budget, transmittance_grid=eta,
            sky_hz_per_detector=np.asarray(bg.sky_hz + bg.moon_hz) * np.ones_like(geometry.t_s),
            dark_hz_per_detector=float(np.mean(det.dark_count_hz)),
            gate_fraction=float(background_gate_fraction(station.time_gate_ps,
                                                         payload.rep_rate_hz)),
            error_z=error_z, error_x=error_x, misalignment_deg=misalignment_deg,
            basis_split_z=station.basis_split_ratio, clocks=clocks,
        )

    def transmittance(self, t_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """η at times ``t_s`` (linear interpolation on the 0.1-s grid)."""
        return np.interp(t_s, self.t_s, self.transmittance_grid)

    def _window(self, t0_s: float, t1_s: float) -> slice:
        i0 = max(int(np.searchsorted(self.t_s, t0_s, side="right")) - 1, 0)
        i1 = min(int(np.searchsorted(self.t_s, t1_s, side="left")) + 1, len(self.t_s))
        return slice(i0, max(i1, i0 + 1))

    def max_transmittance(self, t0_s: float, t1_s: float) -> float:
        """Largest η over ``[t0_s, t1_s]`` (the grid is linear in between, so exact)."""
        return float(self.transmittance_grid[self._window(t0_s, t1_s)].max())

    def background_rate_hz(self, t0_s: float, t1_s: float) -> float:
        """Mean sky + Moon click rate per detector over ``[t0_s, t1_s]`` (dark excluded)."""
        return float(self.sky_hz_per_detector[self._window(t0_s, t1_s)].mean())

    def routing_matrix(self, t_s: float) -> NDArray[np.float64]:
        """Per-basis-arm routing matrix ``[4 prepared, 4 detector]`` at ``t_s``."""
        i = min(int(np.searchsorted(self.t_s, t_s)), len(self.t_s) - 1)
        return routing_matrix_from_errors(float(self.error_z[i]), float(self.error_x[i]))

    def timeline(self, step_s: float = 1.0) -> dict[str, NDArray[np.float64]]:
        """Loss and expected background on a ``step_s`` grid (for reports)."""
        t = np.arange(0.0, self.t_s[-1] - 1e-9, step_s)
        loss_db = np.interp(t, self.t_s, np.asarray(self.budget.total_db) * np.ones_like(self.t_s))
        bg_total = 4.0 * (np.interp(t, self.t_s, self.sky_hz_per_detector)
                          + self.dark_hz_per_detector) * self.gate_fraction
        qber_pol = np.interp(t, self.t_s, 0.5 * (self.error_z + self.error_x))
        return {"t_s": t, "loss_db": loss_db, "background_cps": bg_total,
                "polarisation_error": qber_pol}
