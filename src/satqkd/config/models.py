"""Pydantic models of a QKD mission: satellite, payload, ground stations, procedure, protocol.

A :class:`Mission` is everything the simulator and the post-processing need to know about a
system. Presets for Jinan-1, Micius and Tiangong-2 ship as TOML files in
``satqkd/config/presets`` (see :mod:`satqkd.config.loader`); a user's own mission is a TOML
file of the same shape. Units are in the field names (``_deg``, ``_km``, ``_hz``, ``_urad``).
Validation is strict (unknown fields are rejected) so that a typo in a config file is an error
naming the field, never a silently ignored value.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Efficiency = Annotated[float, Field(gt=0.0, le=1.0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class TleOrbit(_Model):
    """An orbit given as a two-line element set, propagated with SGP4."""

    kind: Literal["tle"] = "tle"
    line1: str
    line2: str

    @model_validator(mode="after")
    def _check_tle(self) -> TleOrbit:
        from satqkd.orbit.tle import validate_tle

        validate_tle(self.line1, self.line2)
        return self


class SsoOrbit(_Model):
    """Synthetic Sun-synchronous circular orbit, turned into a TLE for SGP4.

    The inclination follows from the J2 Sun-synchronous condition for the given altitude;
    the right ascension of the ascending node from the local time of the ascending node
    (LTAN) and the mean Sun at ``epoch``. ``mean_anomaly_deg`` places the satellite on
    the orbit at epoch (0 = at the ascending node).
    """

    kind: Literal["sso"] = "sso"
    altitude_km: float = Field(gt=150.0, lt=2000.0)
    ltan_hours: float = Field(ge=0.0, lt=24.0)
    epoch: dt.datetime
    mean_anomaly_deg: float = Field(default=0.0, ge=0.0, lt=360.0)
    eccentricity: float = Field(default=0.0001, ge=0.0, lt=0.1)
    bstar: float = 0.0
    norad_id: int = Field(default=99999, ge=1, le=99999)

    _utc = field_validator("epoch")(classmethod(lambda cls, v: _as_utc(v)))


class CircularOrbit(_Model):
    """Synthetic circular orbit of given inclination and node (e.g. a space station's).

    Used where no TLE of the epoch is public: Tiangong-2 flew at ~390 km and 42.8°.
    """

    kind: Literal["circular"] = "circular"
    altitude_km: float = Field(gt=150.0, lt=2000.0)
    inclination_deg: float = Field(ge=0.0, le=180.0)
    raan_deg: float = Field(default=0.0, ge=0.0, lt=360.0)
    epoch: dt.datetime
    mean_anomaly_deg: float = Field(default=0.0, ge=0.0, lt=360.0)
    bstar: float = 0.0
    norad_id: int = Field(default=99998, ge=1, le=99999)

    _utc = field_validator("epoch")(classmethod(lambda cls, v: _as_utc(v)))


def _as_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


class Intensities(_Model):
    """Mean photon numbers per pulse at the satellite's output, per intensity class."""

    signal: float = Field(gt=0.0, le=10.0)
    decoy: float = Field(gt=0.0, le=10.0)
    vacuum: float = Field(ge=0.0, le=10.0)

    @model_validator(mode="after")
    def _ordered(self) -> Intensities:
        if not self.signal > self.decoy > self.vacuum:
            raise ValueError(
                f"need signal > decoy > vacuum, got {self.signal}, {self.decoy}, {self.vacuum}"
            )
        return self


class Probabilities(_Model):
    """Probabilities with which the source sends each intensity class; they sum to 1."""

    signal: Probability
    decoy: Probability
    vacuum: Probability

    @model_validator(mode="after")
    def _sum_to_one(self) -> Probabilities:
        total = self.signal + self.decoy + self.vacuum
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"probabilities must sum to 1, they sum to {total:g}")
        return self


class ClassicalLink(_Model):
    """The classical laser links sharing the optics with the quantum beam (SPEC §6)."""

    downlink_wavelength_nm: float = Field(default=812.0, gt=0.0)
    downlink_power_mw: float = Field(default=2.4, gt=0.0)
    downlink_divergence_urad: float | None = Field(
        default=None, gt=0.0, description="None: same as the quantum beam"
    )
    uplink_wavelength_nm: float = Field(default=1538.0, gt=0.0)
    uplink_power_mw: float = Field(default=500.0, gt=0.0)
    uplink_divergence_urad: float = Field(
        default=50.0, gt=0.0, description="assumed: a data beam, narrower than a beacon"
    )
    data_rate_bps: float = Field(default=156e6, gt=0.0)
    frame_bytes: int = Field(default=1024, ge=64, le=65536)
    sync_rate_hz: float = Field(default=9.5e3, gt=0.0)
    sync_precision_ps: float = Field(default=100.0, ge=0.0)


class Payload(_Model):
    """The satellite's quantum transmitter: decoy-state BB84 source and its telescope."""

    wavelength_nm: float = Field(default=850.0, gt=0.0)
    rep_rate_hz: float = Field(gt=0.0, le=10e9)
    intensities: Intensities
    probabilities: Probabilities
    extinction_ratio_db: float = Field(default=30.0, gt=0.0)
    polarisation_contrast_db: float = Field(default=25.0, gt=0.0)
    intensity_fluctuation: float = Field(default=0.0, ge=0.0, lt=0.5)
    tx_aperture_m: float = Field(gt=0.0, le=5.0)
    divergence_urad: float = Field(gt=0.0, le=1000.0)
    tracking_precision_urad: float = Field(default=1.0, ge=0.0)
    beam_profile: Literal["gaussian", "top_hat"] = Field(
        default="top_hat",
        description="far-field beam model; top_hat reproduces the missions' published losses",
    )
    tx_optical_efficiency: Efficiency = 1.0
    clock_drift_ppm: float = Field(default=0.05, ge=0.0)
    timing_jitter_ps: float = Field(
        default=0.0, ge=0.0,
        description="FWHM of the timing spread beyond the detector's (pulse width, clock recovery)",
    )
    polarisation_residual_deg: float = Field(
        default=1.0, ge=0.0, le=45.0,
        description="RMS residual of the onboard fibre compensation (QWP-QWP-HWP)",
    )
    polarisation_probe_photons: int | None = Field(
        default=None, ge=100,
        description=("photons per probe state of the onboard compensation; when set, the "
                     "residual comes from simulating the Poincaré procedure on a random "
                     "fibre instead of polarisation_residual_deg"),
    )
    classical: ClassicalLink = ClassicalLink()


class Satellite(_Model):
    """A satellite: a name, an orbit and a QKD payload."""

    name: str
    orbit: TleOrbit | SsoOrbit | CircularOrbit = Field(discriminator="kind")
    payload: Payload
    mass_kg: float | None = Field(default=None, gt=0.0)


class Detectors(_Model):
    """The four single-photon detectors behind the passive BB84 analyser (H, V, D, A)."""

    count: Literal[4] = 4
    efficiency: Efficiency | tuple[Efficiency, Efficiency, Efficiency, Efficiency]
    dark_count_hz: float = Field(ge=0.0)
    jitter_ps: float = Field(default=350.0, ge=0.0, description="FWHM")
    dead_time_ns: float = Field(default=50.0, ge=0.0)
    afterpulse_probability: Probability = 0.0

    @property
    def efficiencies(self) -> tuple[float, float, float, float]:
        """Per-detector efficiency (H, V, D, A)."""
        if isinstance(self.efficiency, tuple):
            return self.efficiency
        e = float(self.efficiency)
        return (e, e, e, e)


class HorizonPoint(_Model):
    azimuth_deg: float = Field(ge=0.0, le=360.0)
    elevation_deg: float = Field(ge=-5.0, le=90.0)


class Station(_Model):
    """An optical ground station: where it is and how it receives.

    ``optical_efficiency`` is the receiver's transmission from its aperture to the detector
    input (telescope, relay optics, filters, fibre coupling), detector efficiency excluded.
    ``sky_class`` selects the night-sky brightness of the site; ``sky_brightness_scale``
    multiplies it (hazy urban nights are brighter).
    """

    name: str
    latitude_deg: float = Field(ge=-90.0, le=90.0)
    longitude_deg: float = Field(ge=-180.0, le=360.0)

    @field_validator("latitude_deg", "longitude_deg", mode="before")
    @classmethod
    def _dms(cls, value: object) -> object:
        """Accept ``36°40'38"N`` style strings as well as decimal degrees."""
        if isinstance(value, str):
            from satqkd.config.angles import parse_dms

            return parse_dms(value)
        return value

    altitude_m: float = Field(default=0.0, ge=-500.0, le=9000.0)
    timezone_hours: float = Field(default=0.0, ge=-12.0, le=14.0)
    aperture_m: float = Field(gt=0.0, le=20.0)
    central_obscuration: float = Field(default=0.0, ge=0.0, lt=1.0)
    optical_efficiency: Efficiency
    detectors: Detectors
    filter_width_nm: float = Field(gt=0.0, le=100.0)
    time_gate_ps: float = Field(gt=0.0)
    fov_urad: float = Field(default=100.0, gt=0.0)
    tracking_precision_urad: float = Field(default=3.5, ge=0.0)
    sky_class: Literal["urban", "rural", "mountain"] = "urban"
    sky_brightness_scale: float = Field(default=1.0, gt=0.0)
    zenith_transmittance: float = Field(default=0.9, gt=0.0, le=1.0)
    haze_extinction_db: float = Field(
        default=0.0, ge=0.0, le=30.0, description="extra zenith extinction (haze, aerosols)"
    )
    basis_split_ratio: float = Field(default=0.5, gt=0.0, lt=1.0)
    horizon_mask: tuple[HorizonPoint, ...] = ()
    polarisation_compensation: bool = True
    clear_sky_probability: tuple[float, ...] = Field(
        default=(), description="12 monthly cloud-free probabilities (campaigns)"
    )

    @field_validator("clear_sky_probability")
    @classmethod
    def _twelve(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if value and (len(value) != 12 or not all(0.0 <= v <= 1.0 for v in value)):
            raise ValueError("need 12 monthly probabilities between 0 and 1")
        return value


class Procedure(_Model):
    """When QKD runs during a pass (SPEC §1)."""

    qkd_start_elevation_deg: float = Field(default=15.0, ge=0.0, le=89.0)
    qkd_end_elevation_deg: float = Field(default=10.0, ge=0.0, le=89.0)
    max_qkd_duration_s: float = Field(default=360.0, gt=0.0)
    min_pass_elevation_deg: float = Field(default=10.0, ge=0.0, le=89.0)
    min_link_duration_s: float = Field(default=0.0, ge=0.0)
    sun_max_elevation_deg: float = Field(default=-12.0, ge=-90.0, le=10.0)
    require_satellite_shadow: bool = True


FiniteKeyMethod = Literal["chernoff", "gaussian", "composable"]


class Protocol(_Model):
    """Post-processing settings and every security parameter (SPEC §7–8)."""

    sampling_fraction: float = Field(default=0.1, gt=0.0, lt=1.0)
    packet_bits: int = Field(default=100_000, ge=1000, le=10_000_000)
    pa_block_bits: int = Field(default=500_000, ge=100_000, le=900_000)
    finite_key_method: FiniteKeyMethod = "chernoff"
    eps_pe: float = Field(default=1e-10, gt=0.0, lt=1.0, description="per-bound failure ξ")
    eps_ec: float = Field(default=1e-10, gt=0.0, lt=1.0)
    eps_pa: float = Field(default=1e-10, gt=0.0, lt=1.0)
    eps_auth: float = Field(default=1e-10, gt=0.0, lt=1.0)
    verification_tag_bits: int = Field(default=64, ge=16, le=256)
    authentication: Literal["wegman-carter", "hmac-sha256"] = "wegman-carter"
    #: LDPC reconciliation: "one-way" fixes each packet's leak from the sampled QBER;
    #: "blind" starts low and reveals punctured bits on the ground's request until the
    #: packet decodes (:mod:`satqkd.distill.ldpc.blind`); "guided" starts lower still and
    #: reveals the key bits the ground is least sure of (:mod:`satqkd.distill.ldpc.guided`).
    reconciliation: Literal["blind", "guided", "one-way"] = "one-way"

    @field_validator("pa_block_bits")
    @classmethod
    def _step(cls, value: int) -> int:
        if value % 100_000:
            raise ValueError("must be a multiple of 100000 (100 to 900 kbit)")
        return value


class Mission(_Model):
    """A whole QKD mission: one satellite, its ground stations, procedure and protocol."""

    name: str
    description: str = ""
    satellite: Satellite
    stations: dict[str, Station]
    procedure: Procedure = Procedure()
    protocol: Protocol = Protocol()
    reference_pass: dict[str, str | float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_stations(self) -> Mission:
        if not self.stations:
            raise ValueError("a mission needs at least one station")
        return self

    def station(self, name: str) -> Station:
        """The station called ``name`` (case-insensitive); InputError naming the choices."""
        from satqkd.errors import InputError

        key = name.lower()
        for station_key, station in self.stations.items():
            if station_key.lower() == key:
                return station
        raise InputError(
            f"unknown station for mission {self.name!r}; choose from {', '.join(self.stations)}",
            field="station",
            value=name,
        )
