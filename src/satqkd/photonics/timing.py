"""Time tags of a pass and the ground's recovery of each detection's pulse index.

The satellite emits pulse ``k`` when its clock reads ``k / rep_rate``; the light reaches
the ground after the time of flight range(t)/c, which changes by up to ~7 km/s × 300 s
during a pass (milliseconds of drift against a 1.6 ns pulse period at 625 MHz); the
ground time-tags each click on its own clock, with the detector's jitter. The
synchronisation words (~9.5 kHz, SPEC §5) ride on the classical downlink laser, each
carrying the index of the pulse emitted at the same moment, and are time-tagged with
~100 ps FWHM precision.

:func:`make_time_tags` and :func:`make_sync_tags` simulate those tags (simulator side).
:func:`recover_pulse_index` is what the ground station runs: it smooths the sync tags
with a running local quadratic least-squares fit (averaging down the sync jitter while
following the continuous Doppler drift exactly), interpolates linearly between smoothed
sync words to map each detection to a fractional pulse number, rounds to the nearest
slot, and keeps the detections whose offset from the slot centre lies inside the gate
(Jinan-1: 800 ps gate at 1.6 ns period keeps ~80 % of signal, halves background).

Approximations: clocks are linear (offset + constant drift in ppm); the sync channel and
the quantum channel share one geometric path (a constant instrumental delay between them
is ``detection_delay_ps``); relativistic corrections beyond the light time are ignored
(they are smooth and common to sync and detections, so the recovery absorbs them).
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np
from scipy.interpolate import CubicSpline
from scipy.special import log_ndtr, ndtr

from satqkd.errors import InputError

__all__ = [
    "SPEED_OF_LIGHT_KM_S",
    "arrival_time_s",
    "combine_fwhm_ps",
    "emission_time_s",
    "gate_acceptance",
    "make_sync_tags",
    "make_time_tags",
    "recover_pulse_index",
]

SPEED_OF_LIGHT_KM_S = 299_792.458
_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))

RangeKm = Callable[[np.ndarray], np.ndarray] | tuple[np.ndarray, np.ndarray]


def _range_function(range_km: RangeKm) -> Callable[[np.ndarray], np.ndarray]:
    """A vectorised range(t_s) in km from a callable or from samples ``(t_s, range_km)``.

    Samples are joined by a cubic spline: linear interpolation of a range sampled every
    second would be off by R̈·h²/8 ≈ 14 m ≈ 47 ns near culmination.
    """
    if callable(range_km):
        return range_km
    t_s, r_km = (np.asarray(a, dtype=np.float64) for a in range_km)
    if t_s.ndim != 1 or t_s.shape != r_km.shape or t_s.size < 4 or np.any(np.diff(t_s) <= 0):
        raise InputError(
            "range samples must be (t_s, range_km): same-length 1-D arrays, >= 4 samples, "
            "t_s strictly increasing",
            field="range_km",
        )
    return CubicSpline(t_s, r_km)


def emission_time_s(
    pulse_index: np.ndarray,
    rep_rate_hz: float,
    *,
    clock_offset_s: float = 0.0,
    clock_drift_ppm: float = 0.0,
) -> np.ndarray:
    """True emission time (s) of each pulse, emitted when the satellite clock reads k/rep_rate.

    The satellite clock reads ``t·(1 + drift) + offset`` at true time ``t``. Pulse 0 is the
    time origin of the pass; pass-relative pulse indices keep float64 time to ~0.1 ps.
    """
    clock_s = np.asarray(pulse_index, dtype=np.float64) / rep_rate_hz
    return (clock_s - clock_offset_s) / (1.0 + clock_drift_ppm * 1e-6)


def arrival_time_s(t_emit_s: np.ndarray, range_km: RangeKm) -> np.ndarray:
    """True arrival time at the ground: solves ``t_arr = t_emit + range(t_arr)/c``.

    ``range_km`` is the range at reception time (as the orbit module gives it for a ground
    station). Fixed-point iteration; it contracts by |range rate|/c ~ 2e-5 per step.
    """
    range_fn = _range_function(range_km)
    t_emit = np.asarray(t_emit_s, dtype=np.float64)
    t_arr = t_emit + np.asarray(range_fn(t_emit)) / SPEED_OF_LIGHT_KM_S
    for _ in range(3):
        t_arr = t_emit + np.asarray(range_fn(t_arr)) / SPEED_OF_LIGHT_KM_S
    return t_arr


def _ground_clock_ps(t_s: np.ndarray, offset_s: float, drift_ppm: float) -> np.ndarray:
    return (t_s * (1.0 + drift_ppm * 1e-6) + offset_s) * 1e12


def make_time_tags(
    pulse_index: np.ndarray,
    rep_rate_hz: float,
    range_km: RangeKm,
    *,
    time_offset_ps: np.ndarray | None = None,
    jitter_fwhm_ps: float = 0.0,
    satellite_clock_offset_s: float = 0.0,
    satellite_clock_drift_ppm: float = 0.0,
    ground_clock_offset_s: float = 0.0,
    ground_clock_drift_ppm: float = 0.0,
    detection_delay_ps: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Ground time tags (int64 ps on the ground clock) of detections of the given pulses.

    ``time_offset_ps`` is each click's offset from its pulse's nominal arrival (the
    detector jitter, or the position of a background click in its slot, as
    :class:`~satqkd.photonics.clicks.Clicks` gives it); ``jitter_fwhm_ps`` adds a further
    Gaussian jitter (time tagger, laser pulse width); ``detection_delay_ps`` is the fixed
    instrumental delay of the quantum channel relative to the sync channel.
    """
    t_arr = arrival_time_s(
        emission_time_s(
            pulse_index,
            rep_rate_hz,
            clock_offset_s=satellite_clock_offset_s,
            clock_drift_ppm=satellite_clock_drift_ppm,
        ),
        range_km,
    )
    extra_ps = np.full(t_arr.shape, float(detection_delay_ps))
    if time_offset_ps is not None:
        extra_ps += np.asarray(time_offset_ps, dtype=np.float64)
    if jitter_fwhm_ps > 0:
        if rng is None:
            raise ValueError("an rng is required for jitter")
        extra_ps += rng.normal(0.0, jitter_fwhm_ps / _FWHM_PER_SIGMA, t_arr.shape)
    t_ps = _ground_clock_ps(t_arr, ground_clock_offset_s, ground_clock_drift_ppm)
    return np.rint(t_ps + extra_ps * (1.0 + ground_clock_drift_ppm * 1e-6)).astype(np.int64)


def make_sync_tags(
    pulse_start: int,
    pulse_stop: int,
    rep_rate_hz: float,
    range_km: RangeKm,
    *,
    sync_rate_hz: float = 9.5e3,
    sync_jitter_fwhm_ps: float = 100.0,
    loss_probability: float = 0.0,
    satellite_clock_offset_s: float = 0.0,
    satellite_clock_drift_ppm: float = 0.0,
    ground_clock_offset_s: float = 0.0,
    ground_clock_drift_ppm: float = 0.0,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sync words over ``[pulse_start, pulse_stop)``: ``(sync_pulse_index, sync_tag_ps)``.

    A sync word is sent every ``round(rep_rate / sync_rate)`` pulses (65 789 at 625 MHz and
    9.5 kHz) and carries the index of the pulse emitted with it; the ground tags it with
    ``sync_jitter_fwhm_ps`` Gaussian precision. ``loss_probability`` drops words at random
    (frames lost to the atmosphere or pointing, SPEC §6).
    """
    step = max(round(rep_rate_hz / sync_rate_hz), 1)
    first = -(-int(pulse_start) // step) * step
    index = np.arange(first, int(pulse_stop), step, dtype=np.int64).astype(np.uint64)
    if rng is None and (sync_jitter_fwhm_ps > 0 or loss_probability > 0):
        raise ValueError("an rng is required for sync jitter or loss")
    if loss_probability > 0:
        index = index[rng.random(index.size) >= loss_probability]
    jitter_ps = (
        rng.normal(0.0, sync_jitter_fwhm_ps / _FWHM_PER_SIGMA, index.size)
        if sync_jitter_fwhm_ps > 0
        else None
    )
    tags = make_time_tags(
        index,
        rep_rate_hz,
        range_km,
        time_offset_ps=jitter_ps,
        satellite_clock_offset_s=satellite_clock_offset_s,
        satellite_clock_drift_ppm=satellite_clock_drift_ppm,
        ground_clock_offset_s=ground_clock_offset_s,
        ground_clock_drift_ppm=ground_clock_drift_ppm,
    )
    return index, tags


@numba.njit(cache=True)
def _smooth_sync(x: np.ndarray, y: np.ndarray, halfwidth: int) -> np.ndarray:
    """Value at each x_j of a least-squares quadratic through the 2·halfwidth+1 neighbours."""
    n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    w = min(halfwidth, (n - 1) // 2)
    for j in range(n):
        lo = min(max(j - w, 0), max(n - 2 * w - 1, 0))
        hi = min(lo + 2 * w + 1, n)
        scale = max(x[hi - 1] - x[lo], 1.0)
        # Normal equations of y = a + b·u + c·u², u = (x − x_j)/scale, solved by Cramer.
        s0 = s1 = s2 = s3 = s4 = t0 = t1 = t2 = 0.0
        for i in range(lo, hi):
            u = (x[i] - x[j]) / scale
            u2 = u * u
            s0 += 1.0
            s1 += u
            s2 += u2
            s3 += u2 * u
            s4 += u2 * u2
            t0 += y[i]
            t1 += y[i] * u
            t2 += y[i] * u2
        if hi - lo < 3:
            out[j] = y[j]
            continue
        det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s3 * s2) + s2 * (s1 * s3 - s2 * s2)
        det_a = t0 * (s2 * s4 - s3 * s3) - s1 * (t1 * s4 - s3 * t2) + s2 * (t1 * s3 - s2 * t2)
        out[j] = det_a / det
    return out


@numba.njit(cache=True)
def _map_to_slots(
    t_ps: np.ndarray,
    delay_ps: float,
    node_index: np.ndarray,
    node_tag_ps: np.ndarray,
    half_gate_ps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = t_ps.shape[0]
    m = node_index.shape[0]
    index = np.empty(n, dtype=np.uint64)
    in_gate = np.empty(n, dtype=np.bool_)
    phase_ps = np.empty(n, dtype=np.float64)
    j = 0
    for i in range(n):
        t = float(t_ps[i]) - delay_ps
        # Walk from the previous interval when tags are sorted; fall back to bisection.
        if not (node_tag_ps[j] <= t < node_tag_ps[min(j + 1, m - 1)]):
            j = np.searchsorted(node_tag_ps, t, side="right") - 1
            j = min(max(j, 0), m - 2)
        k0 = node_index[j]
        period_ps = (node_tag_ps[j + 1] - node_tag_ps[j]) / (node_index[j + 1] - k0)
        k_rel = (t - node_tag_ps[j]) / period_ps
        slot = np.floor(k_rel + 0.5)
        phase = (k_rel - slot) * period_ps
        index[i] = np.uint64(np.int64(k0) + np.int64(slot))
        phase_ps[i] = phase
        in_gate[i] = abs(phase) <= half_gate_ps
    return index, in_gate, phase_ps


def recover_pulse_index(
    time_tags_ps: np.ndarray,
    sync_tags_ps: np.ndarray,
    sync_pulse_index: np.ndarray,
    rep_rate_hz: float,
    gate_width_ps: float,
    *,
    detection_delay_ps: float = 0.0,
    smoothing_halfwidth: int = 16,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pulse index of each detection, whether it is inside the gate, and its phase offset.

    Parameters
    ----------
    time_tags_ps:
        Detection tags on the ground clock (int64 or float64 ps), ideally sorted (faster).
    sync_tags_ps, sync_pulse_index:
        Tags of the received sync words and the pulse index each carries (>= 2 words).
    rep_rate_hz:
        Nominal pulse repetition rate (only used to remove the bulk linear trend).
    gate_width_ps:
        Full width of the time gate centred on the slot centre.
    detection_delay_ps:
        Calibrated delay of the quantum channel relative to the sync channel.
    smoothing_halfwidth:
        Neighbouring sync words on each side in the local quadratic fit (default 16: a
        33-word, ~3.5 ms window that averages 100 ps FWHM sync jitter down to ~11 ps rms).

    Returns
    -------
    ``(pulse_index uint64[n], in_gate bool[n], phase_offset_ps float64[n])``; the phase
    offset is the detection time minus the slot centre, in [−period/2, period/2).
    Detections outside the span of the sync words are extrapolated from the end interval.
    """
    k = np.asarray(sync_pulse_index, dtype=np.uint64)
    s_ps = np.asarray(sync_tags_ps, dtype=np.float64)
    if k.ndim != 1 or k.shape != s_ps.shape or k.size < 2:
        raise InputError(
            "need at least two sync words (index and tag arrays of equal length)",
            field="sync_pulse_index",
        )
    order = np.argsort(k, kind="stable")
    k, s_ps = k[order], s_ps[order]
    if np.any(np.diff(k.astype(np.int64)) <= 0):
        raise InputError("sync pulse indices must be distinct", field="sync_pulse_index")
    nominal_period_ps = 1e12 / rep_rate_hz
    k_rel = (k - k[0]).astype(np.float64)
    # Remove the bulk linear trend so the fit works on a residual of milliseconds at most.
    residual_ps = s_ps - s_ps[0] - k_rel * nominal_period_ps
    smooth_ps = _smooth_sync(k_rel, residual_ps, int(smoothing_halfwidth))
    node_tag_ps = smooth_ps + s_ps[0] + k_rel * nominal_period_ps
    if np.any(np.diff(node_tag_ps) <= 0):
        raise InputError("sync tags are not increasing with pulse index", field="sync_tags_ps")
    t = np.ascontiguousarray(time_tags_ps)
    if t.dtype != np.int64:
        t = t.astype(np.float64)
    return _map_to_slots(
        t,
        float(detection_delay_ps),
        np.ascontiguousarray(k),
        np.ascontiguousarray(node_tag_ps),
        0.5 * gate_width_ps,
    )


def combine_fwhm_ps(*fwhm_ps: float) -> float:
    """FWHM of the sum of independent Gaussian jitters (added in quadrature)."""
    return float(np.sqrt(np.sum(np.square(np.asarray(fwhm_ps, dtype=np.float64)))))


def gate_acceptance(
    gate_width_ps: float,
    jitter_fwhm_ps: float,
    *,
    tail_fraction: float = 0.0,
    tail_ps: float = 0.0,
    gate_centre_ps: float = 0.0,
) -> float:
    """Fraction of signal detections inside a gate, for Gaussian jitter with an exponential tail.

    The arrival-time offset is Gaussian (FWHM ``jitter_fwhm_ps``, total of all Gaussian
    contributions, see :func:`combine_fwhm_ps`), and with probability ``tail_fraction`` an
    exponential delay of mean ``tail_ps`` is added (an exponentially modified Gaussian).
    The gate is ``gate_centre_ps ± gate_width_ps/2``.
    """
    sigma = jitter_fwhm_ps / _FWHM_PER_SIGMA
    lo = gate_centre_ps - 0.5 * gate_width_ps
    hi = gate_centre_ps + 0.5 * gate_width_ps

    def gauss_cdf(x: float) -> float:
        if sigma == 0:
            return float(x >= 0)
        return float(ndtr(x / sigma))

    def emg_cdf(x: float) -> float:
        if tail_ps <= 0:
            return gauss_cdf(x)
        if sigma == 0:
            return float(-np.expm1(-x / tail_ps)) if x > 0 else 0.0
        log_term = sigma**2 / (2 * tail_ps**2) - x / tail_ps + log_ndtr(x / sigma - sigma / tail_ps)
        return gauss_cdf(x) - float(np.exp(log_term))

    core = gauss_cdf(hi) - gauss_cdf(lo)
    tail = emg_cdf(hi) - emg_cdf(lo)
    return (1.0 - tail_fraction) * core + tail_fraction * tail
