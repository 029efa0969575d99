"""Argument checks shared by the link models.

The link functions are called by the simulation glue with values that came from a
user's configuration, so a nonsensical value (a negative aperture, a transmittance of 2)
is reported as :class:`satqkd.errors.InputError` naming the parameter, not as a NaN that
surfaces hours later in a key-rate plot.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from satqkd.errors import InputError

_SOURCE = "satqkd.link"


def as_array(value: ArrayLike) -> NDArray[np.float64]:
    """``value`` as a float64 array (a 0-d array for a scalar)."""
    return np.asarray(value, dtype=np.float64)


def positive(name: str, value: ArrayLike) -> NDArray[np.float64]:
    """``value`` as an array, every element finite and > 0, else :class:`InputError`."""
    array = as_array(value)
    if not np.all(np.isfinite(array)) or np.any(array <= 0.0):
        raise InputError("must be finite and > 0", source=_SOURCE, field=name, value=_show(array))
    return array


def non_negative(name: str, value: ArrayLike) -> NDArray[np.float64]:
    """``value`` as an array, every element finite and >= 0, else :class:`InputError`."""
    array = as_array(value)
    if not np.all(np.isfinite(array)) or np.any(array < 0.0):
        raise InputError("must be finite and >= 0", source=_SOURCE, field=name, value=_show(array))
    return array


def fraction(name: str, value: ArrayLike, *, allow_zero: bool = False) -> NDArray[np.float64]:
    """``value`` as an array in (0, 1] (or [0, 1] with ``allow_zero``), else :class:`InputError`."""
    array = as_array(value)
    low_ok = array >= 0.0 if allow_zero else array > 0.0
    if not np.all(np.isfinite(array)) or not np.all(low_ok & (array <= 1.0)):
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise InputError(f"must lie in {interval}", source=_SOURCE, field=name, value=_show(array))
    return array


def obscuration(name: str, value: ArrayLike) -> NDArray[np.float64]:
    """A central-obscuration diameter ratio in [0, 1), else :class:`InputError`."""
    array = as_array(value)
    if not np.all(np.isfinite(array)) or np.any((array < 0.0) | (array >= 1.0)):
        raise InputError("must lie in [0, 1)", source=_SOURCE, field=name, value=_show(array))
    return array


def elevation(name: str, value: ArrayLike) -> NDArray[np.float64]:
    """An elevation in degrees, finite and within [-90, 90], else :class:`InputError`."""
    array = as_array(value)
    if not np.all(np.isfinite(array)) or np.any(np.abs(array) > 90.0):
        raise InputError("must lie in [-90, 90] deg", source=_SOURCE, field=name,
                         value=_show(array))
    return array


def _show(array: NDArray[np.float64]) -> object:
    """A short representation of a possibly large array for an error message."""
    if array.ndim == 0:
        return float(array)
    return f"array(shape={array.shape}, min={float(np.min(array)):g}, max={float(np.max(array)):g})"
