"""Load a :class:`~satqkd.config.models.Mission` from a preset name or a TOML file.

Presets ship inside the package (``satqkd/config/presets/*.toml``). A user's file has the
same shape. Every problem (missing file, bad TOML, a value out of range, a bad TLE) becomes
an :class:`~satqkd.errors.InputError` that names the file, the field and the value.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from satqkd.config.models import Mission
from satqkd.errors import InputError

PRESET_PACKAGE = "satqkd.config.presets"


def preset_names() -> list[str]:
    """Names of the missions that ship with satqkd (``jinan1``, ``micius``, ``tiangong2``)."""
    files = resources.files(PRESET_PACKAGE).iterdir()
    return sorted(f.name.removesuffix(".toml") for f in files if f.name.endswith(".toml"))


def preset_path(name: str) -> Path:
    """Path of the TOML file of preset ``name``."""
    return Path(str(resources.files(PRESET_PACKAGE).joinpath(f"{name}.toml")))


def _locate(value: Any, loc: tuple[Any, ...]) -> Any:
    for key in loc:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _data_path(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Pydantic's error location reduced to the keys of the user's data.

    Pydantic inserts the tag of a union member after the field (``detectors.efficiency`` fails
    as ``detectors.efficiency.constrained-float``); such a tag appears where the data holds a
    scalar or a list, never a table, so it is dropped there. A missing field (a key absent
    from a table) is kept.
    """
    kept: list[Any] = []
    value = data
    for part in loc:
        if isinstance(value, dict) or (isinstance(value, list) and isinstance(part, int)):
            kept.append(part)
            value = _locate(value, (part,))
    return tuple(kept)


def mission_from_dict(data: dict[str, Any], source: str = "<dict>") -> Mission:
    """Validate a mission given as plain data; errors name ``source`` and the field."""
    try:
        return Mission.model_validate(data)
    except InputError as exc:
        # Raised by the TLE check of ``satellite.orbit``; pydantic passes it through without
        # its location, so the path from the top of the file is restored here.
        field = exc.field
        if field and field.split(".")[0] == "orbit":
            field = f"satellite.{field}"
        raise InputError(exc.message, source=source, field=field, value=exc.value) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        # Drop pydantic's discriminator tags ("tle", "sso") and union-member tags.
        loc = tuple(p for p in err["loc"] if p not in ("tle", "sso", "circular"))
        loc = _data_path(data, loc)
        field = ".".join(str(p) for p in loc) or "(root)"
        ctx_error = (err.get("ctx") or {}).get("error")
        message = str(ctx_error) if ctx_error else err["msg"]
        if isinstance(ctx_error, InputError):
            raise InputError(ctx_error.message, source=source, field=field) from None
        value = _locate(data, loc)
        if isinstance(value, dict | list):
            value = None
        raise InputError(message, source=source, field=field, value=value) from None


def load_mission(name_or_path: str | Path) -> Mission:
    """A mission from a preset name (``"jinan1"``) or a path to a TOML file."""
    text_name = str(name_or_path)
    path = Path(text_name)
    if text_name.endswith(".toml") or path.exists():
        source = text_name
        if not path.is_file():
            raise InputError("no such mission file", source=source)
    else:
        if text_name.lower() not in preset_names():
            raise InputError(
                f"unknown mission preset; choose one of {', '.join(preset_names())} "
                "or give a path to a .toml file",
                field="mission",
                value=text_name,
            )
        path = preset_path(text_name.lower())
        source = f"preset {text_name.lower()} ({path.name})"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=source) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", source=source) from None
    return mission_from_dict(data, source=source)
