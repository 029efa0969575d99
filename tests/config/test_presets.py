"""The three mission presets load with the published values of SPEC §1–3, and a user's own
TOML file of the same shape loads by path."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import tomli_w

from satqkd.config import Mission, load_mission, preset_names, preset_path
from satqkd.config.angles import parse_dms
from satqkd.errors import InputError

# Coordinates published in SPEC §1, converted by hand: degrees + minutes/60 + seconds/3600.
SPEC_COORDINATES_DEG = {
    "jinan": (36 + 40 / 60 + 38 / 3600, 117 + 7 / 60 + 21 / 3600),
    "hefei": (31 + 49 / 60 + 37 / 3600, 117 + 8 / 60 + 27 / 3600),
    "wuhan": (30 + 28 / 60 + 35 / 3600, 114 + 31 / 60 + 26 / 3600),
    "nanshan": (43 + 28 / 60 + 31 / 3600, 87 + 10 / 60 + 36 / 3600),
    "xinglong": (40 + 23 / 60 + 45 / 3600, 117 + 34 / 60 + 39 / 3600),
}
ONE_MICRODEGREE = 1e-6


def _check_coordinates(mission: Mission) -> None:
    for key, station in mission.stations.items():
        lat_deg, lon_deg = SPEC_COORDINATES_DEG[key]
        assert station.latitude_deg == pytest.approx(lat_deg, abs=ONE_MICRODEGREE)
        assert station.longitude_deg == pytest.approx(lon_deg, abs=ONE_MICRODEGREE)


def test_the_three_presets_ship() -> None:
    assert preset_names() == ["jinan1", "micius", "tiangong2"]


def test_jinan1_preset_has_the_published_values() -> None:
    m = load_mission("jinan1")
    assert list(m.stations) == ["jinan", "hefei", "wuhan", "nanshan"]
    _check_coordinates(m)
    payload = m.satellite.payload
    assert payload.rep_rate_hz == 625e6  # SPEC §3: gain-switched at 625 MHz
    assert (payload.intensities.signal, payload.intensities.decoy, payload.intensities.vacuum) \
        == (0.8, 0.1, 0.001)
    assert (payload.probabilities.signal, payload.probabilities.decoy,
            payload.probabilities.vacuum) == (0.5, 0.25, 0.25)
    assert payload.tx_aperture_m == 0.2
    assert 9.0 <= payload.divergence_urad <= 10.0
    assert 0.55 <= payload.tracking_precision_urad <= 1.6
    assert payload.extinction_ratio_db == 29.0
    assert payload.classical.data_rate_bps == 156e6
    assert m.satellite.orbit.kind == "sso"
    assert m.satellite.orbit.altitude_km == 500.0
    for station in m.stations.values():
        assert station.aperture_m == 0.28  # SPEC §2: 280 mm
        assert station.optical_efficiency == 0.49  # SPEC §2: ~49%
        assert station.filter_width_nm == 4.0  # SPEC §2: 4 nm band-pass
        assert station.time_gate_ps == 800.0  # SPEC §2: 800 ps gate
        assert station.detectors.efficiencies == (0.6, 0.6, 0.6, 0.6)
        assert station.detectors.jitter_ps <= 350.0
        assert 3.3 <= station.tracking_precision_urad <= 4.0
    assert m.stations["nanshan"].sky_class == "mountain"
    assert m.stations["jinan"].sky_class == "urban"
    assert m.protocol.finite_key_method == "chernoff"
    assert m.protocol.eps_pe == 1e-10
    assert m.protocol.pa_block_bits == 500_000
    assert m.protocol.sampling_fraction == 0.1
    assert m.reference_pass["max_elevation_deg"] == 34.1


def test_micius_preset_has_the_published_values() -> None:
    m = load_mission("micius")
    assert list(m.stations) == ["xinglong"]
    _check_coordinates(m)
    xinglong = m.stations["xinglong"]
    assert xinglong.altitude_m == 890.0
    assert xinglong.aperture_m == 1.0
    assert xinglong.optical_efficiency == 0.16
    assert xinglong.time_gate_ps == 2000.0
    assert xinglong.detectors.efficiencies[0] == 0.5
    payload = m.satellite.payload
    assert payload.rep_rate_hz == 100e6
    assert (payload.intensities.signal, payload.intensities.decoy, payload.intensities.vacuum) \
        == (0.8, 0.1, 0.0)
    assert payload.tx_aperture_m == 0.3
    assert payload.intensity_fluctuation == 0.05
    assert m.satellite.orbit.kind == "tle"
    assert m.protocol.finite_key_method == "gaussian"
    assert m.protocol.eps_pe == 1e-9


def test_tiangong2_preset_has_the_published_values() -> None:
    m = load_mission("tiangong2")
    assert list(m.stations) == ["nanshan"]
    _check_coordinates(m)
    assert m.stations["nanshan"].aperture_m == 1.2
    payload = m.satellite.payload
    assert payload.rep_rate_hz == 50e6
    assert (payload.intensities.signal, payload.intensities.decoy) == (0.6, 0.35)
    assert payload.divergence_urad == 35.0
    assert m.procedure.qkd_start_elevation_deg == 35.0
    assert m.procedure.qkd_end_elevation_deg == 25.0
    assert m.procedure.min_link_duration_s == 60.0
    assert m.satellite.orbit.kind == "circular"
    assert m.satellite.orbit.inclination_deg == 42.8


@pytest.mark.parametrize(
    ("text", "expected_deg"),
    [
        ("36°40'38\"N", 36 + 40 / 60 + 38 / 3600),
        ("117 07 21 E", 117 + 7 / 60 + 21 / 3600),
        ("33°52'S", -(33 + 52 / 60)),
        ("70°W", -70.0),
        ("-12.5", -12.5),
        ("40:23:45", 40 + 23 / 60 + 45 / 3600),
    ],
)
def test_parse_dms(text: str, expected_deg: float) -> None:
    assert parse_dms(text) == pytest.approx(expected_deg, abs=ONE_MICRODEGREE)


@pytest.mark.parametrize("text", ["north", "36°61'00\"N", "36°40'38\"Q", ""])
def test_parse_dms_rejects_nonsense(text: str) -> None:
    with pytest.raises(ValueError):
        parse_dms(text)


def test_user_toml_file_loads_by_path(tmp_path: Path) -> None:
    data = tomllib.loads(preset_path("jinan1").read_text(encoding="utf-8"))
    data["name"] = "my-mission"
    data["satellite"]["payload"]["rep_rate_hz"] = 1e9
    data["stations"] = {"lab": {**data["stations"]["jinan"], "name": "Lab",
                                "latitude_deg": "48°08'N", "longitude_deg": 11.58}}
    path = tmp_path / "my_mission.toml"
    path.write_bytes(tomli_w.dumps(data).encode("utf-8"))
    for spec in (path, str(path)):
        m = load_mission(spec)
        assert m.name == "my-mission"
        assert m.satellite.payload.rep_rate_hz == 1e9
        assert list(m.stations) == ["lab"]
        assert m.stations["lab"].latitude_deg == pytest.approx(48 + 8 / 60)
        assert m.station("LAB").name == "Lab"


def test_user_toml_without_the_toml_suffix_loads(tmp_path: Path) -> None:
    path = tmp_path / "mission.cfg"
    path.write_text(preset_path("micius").read_text(encoding="utf-8"), encoding="utf-8")
    assert load_mission(path).name == "micius"


def test_unknown_station_names_the_choices() -> None:
    with pytest.raises(InputError) as info:
        load_mission("jinan1").station("beijing")
    assert info.value.field == "station"
    assert info.value.value == "beijing"
    assert "jinan, hefei, wuhan, nanshan" in info.value.message


def test_unknown_fields_are_rejected_with_their_path(tmp_path: Path) -> None:
    data = tomllib.loads(preset_path("jinan1").read_text(encoding="utf-8"))
    data["stations"]["wuhan"]["apperture_m"] = 0.3  # a typo must not pass silently
    path = tmp_path / "typo.toml"
    path.write_bytes(tomli_w.dumps(data).encode("utf-8"))
    with pytest.raises(InputError) as info:
        load_mission(path)
    assert info.value.field == "stations.wuhan.apperture_m"
    assert info.value.source == str(path)
