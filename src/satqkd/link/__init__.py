"""satqkd.link: the optical channels between satellite and ground station.

* :mod:`~satqkd.link.budget` — Gaussian-beam geometric loss, pointing, the total downlink
  budget (:class:`LinkBudget`).
* :mod:`~satqkd.link.atmosphere` — extinction versus elevation, turbulence fading.
* :mod:`~satqkd.link.gating` — what a time gate keeps of signal and background.
* :mod:`~satqkd.link.background` — dark counts, night sky by site class, the Moon.
* :mod:`~satqkd.link.classical` — frame loss and latency of the classical laser links.

Functions take plain physical parameters (units in their names) and numpy arrays over time.
"""

from satqkd.link.atmosphere import (
    airmass,
    atmosphere_loss_db,
    atmospheric_transmittance,
    draw_fading,
    scintillation_log_variance,
)
from satqkd.link.background import (
    SKY_ZENITH_MAG_I,
    Background,
    background_counts,
    fov_solid_angle_sr,
    moon_radiance,
    phase_angle_from_illuminated_fraction,
    sky_radiance,
    sky_zenith_radiance,
)
from satqkd.link.budget import (
    LinkBudget,
    beam_radius_m,
    collected_fraction,
    geometric_loss_db,
    image_radius_urad,
    link_budget,
    pointing_efficiency,
    receiver_tracking_efficiency,
)
from satqkd.link.classical import (
    downlink_frame_loss_probability,
    frame_loss_probability,
    latency_s,
    received_power_dbm,
    uplink_frame_loss_probability,
)
from satqkd.link.gating import (
    background_gate_fraction,
    combined_jitter_fwhm_ps,
    gate_efficiency,
    jitter_fwhm_for_gate_efficiency,
)

__all__ = [
    "SKY_ZENITH_MAG_I",
    "Background",
    "LinkBudget",
    "airmass",
    "atmosphere_loss_db",
    "atmospheric_transmittance",
    "background_counts",
    "background_gate_fraction",
    "beam_radius_m",
    "collected_fraction",
    "combined_jitter_fwhm_ps",
    "downlink_frame_loss_probability",
    "draw_fading",
    "fov_solid_angle_sr",
    "frame_loss_probability",
    "gate_efficiency",
    "geometric_loss_db",
    "image_radius_urad",
    "jitter_fwhm_for_gate_efficiency",
    "latency_s",
    "link_budget",
    "moon_radiance",
    "phase_angle_from_illuminated_fraction",
    "pointing_efficiency",
    "received_power_dbm",
    "receiver_tracking_efficiency",
    "scintillation_log_variance",
    "sky_radiance",
    "sky_zenith_radiance",
    "uplink_frame_loss_probability",
]
