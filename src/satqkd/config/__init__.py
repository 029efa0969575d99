"""Mission configuration: pydantic models and the TOML presets that ship with satqkd."""

from satqkd.config.loader import load_mission, mission_from_dict, preset_names, preset_path
from satqkd.config.models import (
    CircularOrbit,
    ClassicalLink,
    Detectors,
    Intensities,
    Mission,
    Payload,
    Probabilities,
    Procedure,
    Protocol,
    Satellite,
    SsoOrbit,
    Station,
    TleOrbit,
)

__all__ = [
    "CircularOrbit",
    "ClassicalLink",
    "Detectors",
    "Intensities",
    "Mission",
    "Payload",
    "Probabilities",
    "Procedure",
    "Protocol",
    "Satellite",
    "SsoOrbit",
    "Station",
    "TleOrbit",
    "load_mission",
    "mission_from_dict",
    "preset_names",
    "preset_path",
]
