"""The ground receiver: passive basis choice, two PBS, four single-photon detectors.

Light entering the receiver meets a beam splitter (the passive basis choice; a fraction
``basis_split_z`` goes to the Z arm), then a polarising beam splitter per arm and four
detectors H, V (Z arm) and D, A (X arm), index 0..3 (SPEC §5). Each detector has its own
efficiency, dark-count rate, dead time, timing jitter and optional afterpulsing. Jinan-1:
four detectors ~60 % efficient, jitter < 350 ps FWHM; Micius: 50 %, dark counts < 25 Hz.

The simulation follows a real receiver: every photon is routed and detected independently
(so multi-photon pulses can fire several detectors), dark and background counts arrive at
random times, each detector is blind for its dead time after a click, and afterpulses
follow clicks. The ground then turns the clicks of one pulse slot into one event the way
the squashing model of the security proof requires: one click gives its bit; two clicks
in the same basis give that basis and a random bit; clicks in both bases give a random
basis and a random bit. Both cases are flagged and counted.

Approximations: afterpulsing is one generation (no afterpulse of an afterpulse;
probability p_ap² is negligible at a few per cent), with an exponential delay; all photons
of a pulse reach a detector at the same time, so a detector's click time is one jitter
draw; background light is a constant rate over each call (call per time segment when it
changes along the pass).
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np

from satqkd.errors import InputError
from satqkd.photonics.clicks import (
    ORIGIN_AFTERPULSE,
    ORIGIN_BACKGROUND,
    ORIGIN_SIGNAL,
    Clicks,
    DetectionEvents,
    DetectionTruth,
    _per_detector,
    _reseed,
    apply_dead_time,
    assign_events,
    concat_clicks,
    event_truth,
    sort_by_pulse,
)

__all__ = [
    "Receiver",
    "background_clicks",
    "jitter_sigma_ps",
]

_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def jitter_sigma_ps(fwhm_ps: float | np.ndarray) -> float | np.ndarray:
    """Standard deviation of a Gaussian with the given full width at half maximum."""
    return np.asarray(fwhm_ps, dtype=np.float64) / _FWHM_PER_SIGMA


@numba.njit(cache=True)
def _jitter(sigma: float, tail_fraction: float, tail_ps: float) -> float:
    t = np.random.normal(0.0, sigma) if sigma > 0 else 0.0
    if tail_fraction > 0 and np.random.random() < tail_fraction:
        t += np.random.exponential(tail_ps)
    return t


@numba.njit(cache=True)
def _signal_kernel(
    photon_number: np.ndarray,
    state: np.ndarray,
    matrix_index: np.ndarray,
    cumulative: np.ndarray,
    sigma_ps: np.ndarray,
    tail_fraction: np.ndarray,
    tail_ps: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Route and detect each photon; return (row of pulse, detector, jitter) per click."""
    n = photon_number.shape[0]
    masks = np.zeros(n, dtype=np.uint8)
    total = 0
    for i in range(n):
        c = cumulative[matrix_index[i], state[i]]
        m = np.uint8(0)
        for _ in range(photon_number[i]):
            u = np.random.random()
            for j in range(4):
                if u < c[j]:
                    m |= np.uint8(1 << j)
                    break
            if m == 15:
                break
        masks[i] = m
        for j in range(4):
            if m & (1 << j):
                total += 1
    row = np.empty(total, dtype=np.int64)
    det = np.empty(total, dtype=np.uint8)
    offset = np.empty(total, dtype=np.float64)
    k = 0
    for i in range(n):
        for j in range(4):
            if masks[i] & (1 << j):
                row[k] = i
                det[k] = j
                offset[k] = _jitter(sigma_ps[j], tail_fraction[j], tail_ps[j])
                k += 1
    return row, det, offset


def background_clicks(
    pulse_start: int,
    pulse_stop: int,
    rep_rate_hz: float,
    rate_hz: float | np.ndarray,
    rng: np.random.Generator,
) -> Clicks:
    """Dark and background clicks over the pulse slots ``[pulse_start, pulse_stop)``.

    ``rate_hz`` is the click rate of each detector (scalar: the same for all four). Clicks
    form a Poisson process in time; each is attached to the nearest pulse slot with its
    offset from the slot centre, uniform over one period.
    """
    rates = _per_detector(rate_hz, "background_rate_hz")
    period_ps = 1e12 / rep_rate_hz
    duration_s = (pulse_stop - pulse_start) / rep_rate_hz
    counts = rng.poisson(rates * duration_s)
    det = np.repeat(np.arange(4, dtype=np.uint8), counts)
    slot_float = rng.uniform(-0.5, pulse_stop - pulse_start - 0.5, det.size)
    slot = np.rint(slot_float)
    offset = (slot_float - slot) * period_ps
    index = (slot.astype(np.int64) + int(pulse_start)).astype(np.uint64)
    origin = np.full(det.size, ORIGIN_BACKGROUND, dtype=np.uint8)
    return Clicks(index, det, offset, origin)


@numba.njit(cache=True)
def _afterpulse_kernel(
    detector: np.ndarray, probability: np.ndarray, time_constant_ps: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n = detector.shape[0]
    parent = np.empty(n, dtype=np.int64)
    delay = np.empty(n, dtype=np.float64)
    k = 0
    for i in range(n):
        j = detector[i]
        if probability[j] > 0 and np.random.random() < probability[j]:
            parent[k] = i
            delay[k] = np.random.exponential(time_constant_ps[j])
            k += 1
    return parent[:k], delay[:k]


class Receiver:
    """Four-detector passive-basis BB84 receiver, configured once and then called.

    Per-detector parameters accept a scalar (same for all four) or four values (H, V, D, A).

    Parameters
    ----------
    efficiency:
        Detection efficiency of each detector (Jinan-1 ~0.6).
    dark_count_rate_hz:
        Dark counts per second of each detector (Micius < 25 Hz).
    dead_time_ns:
        Non-paralysable dead time after each click.
    jitter_fwhm_ps:
        FWHM of the Gaussian core of the timing jitter (Jinan-1 < 350 ps).
    jitter_tail_fraction, jitter_tail_ps:
        Fraction of clicks delayed by an extra exponential time with that mean (the
        diffusion tail of silicon SPADs); 0 for a pure Gaussian.
    afterpulse_probability, afterpulse_time_constant_ns:
        Probability that a click is followed by an afterpulse, delayed exponentially.
    basis_split_z:
        Fraction of the light the passive beam splitter sends to the Z (H/V) arm.
    """

    def __init__(
        self,
        efficiency: float | np.ndarray,
        dark_count_rate_hz: float | np.ndarray,
        dead_time_ns: float | np.ndarray,
        jitter_fwhm_ps: float | np.ndarray,
        *,
        jitter_tail_fraction: float | np.ndarray = 0.0,
        jitter_tail_ps: float | np.ndarray = 0.0,
        afterpulse_probability: float | np.ndarray = 0.0,
        afterpulse_time_constant_ns: float | np.ndarray = 100.0,
        basis_split_z: float = 0.5,
    ) -> None:
        self.efficiency = _per_detector(efficiency, "efficiency")
        if np.any(self.efficiency > 1):
            raise InputError("efficiency must be <= 1", field="efficiency", value=efficiency)
        self.dark_count_rate_hz = _per_detector(dark_count_rate_hz, "dark_count_rate_hz")
        self.dead_time_ns = _per_detector(dead_time_ns, "dead_time_ns")
        self.jitter_fwhm_ps = _per_detector(jitter_fwhm_ps, "jitter_fwhm_ps")
        self.jitter_tail_fraction = _per_detector(jitter_tail_fraction, "jitter_tail_fraction")
        self.jitter_tail_ps = _per_detector(jitter_tail_ps, "jitter_tail_ps")
        self.afterpulse_probability = _per_detector(
            afterpulse_probability, "afterpulse_probability"
        )
        self.afterpulse_time_constant_ns = _per_detector(
            afterpulse_time_constant_ns, "afterpulse_time_constant_ns"
        )
        for name in ("jitter_tail_fraction", "afterpulse_probability"):
            if np.any(getattr(self, name) > 1):
                raise InputError(f"{name} must be <= 1", field=name)
        if not 0.0 <= basis_split_z <= 1.0:
            raise InputError(
                "basis_split_z must be in [0, 1]", field="basis_split_z", value=basis_split_z
            )
        self.basis_split_z = float(basis_split_z)

    def detector_probabilities(self, routing_matrix: np.ndarray) -> np.ndarray:
        """Per-photon probability of reaching each detector, ``[..., 4 prepared, 4 detector]``.

        ``routing_matrix`` is either per basis arm (rows sum to 2: P(H)+P(V) = 1 in the Z
        arm, P(D)+P(A) = 1 in the X arm), and the passive beam splitter is applied here, or
        already per detector (rows sum to at most 1), and used as given.
        """
        m = np.asarray(routing_matrix, dtype=np.float64)
        if m.shape[-2:] != (4, 4) or np.any(m < -1e-12) or not np.all(np.isfinite(m)):
            raise InputError(
                "routing matrix must be [..., 4, 4] of probabilities", field="routing_matrix"
            )
        rows = m.sum(axis=-1)
        if np.all(np.abs(rows - 2.0) < 1e-6):
            t = self.basis_split_z
            return m * np.array([t, t, 1.0 - t, 1.0 - t])
        if np.all(rows <= 1.0 + 1e-9):
            return m
        raise InputError(
            "routing matrix rows must sum to 2 (per basis arm) or to at most 1 (per detector)",
            field="routing_matrix",
        )

    def clicks(
        self,
        pulse_index: np.ndarray,
        photon_number: np.ndarray,
        prepared_state: np.ndarray,
        routing_matrix: np.ndarray,
        rng: np.random.Generator,
        *,
        rep_rate_hz: float,
        pulse_range: tuple[int, int],
        background_rate_hz: float | np.ndarray = 0.0,
        matrix_index: np.ndarray | None = None,
    ) -> Clicks:
        """All clicks of the four detectors over ``pulse_range``, after dead time.

        Parameters
        ----------
        pulse_index, photon_number, prepared_state:
            The candidate pulses ``[n]`` (sorted, unique, inside ``pulse_range``), the
            photons of each that reach the receiver, and the prepared state (0 H .. 3 A).
        routing_matrix:
            ``[4, 4]`` or ``[m, 4, 4]`` (see :meth:`detector_probabilities`);
            ``matrix_index[n]`` picks the matrix of each pulse when there are several
            (e.g. one per time step of the pass).
        background_rate_hz:
            Sky/stray-light click rate per detector, added to the dark counts.
        """
        idx = np.ascontiguousarray(pulse_index, dtype=np.uint64)
        n_photons = np.ascontiguousarray(photon_number, dtype=np.int64)
        state = np.ascontiguousarray(prepared_state, dtype=np.uint8)
        if not (idx.shape == n_photons.shape == state.shape) or idx.ndim != 1:
            raise ValueError("pulse_index, photon_number and prepared_state must be 1-D, same size")
        start, stop = int(pulse_range[0]), int(pulse_range[1])
        if idx.size and (
            int(idx[0]) < start or int(idx[-1]) >= stop or np.any(idx[1:] <= idx[:-1])
        ):
            raise ValueError("candidate pulse indices must be sorted, unique, inside pulse_range")
        if np.any(state > 3) or np.any(n_photons < 0):
            raise ValueError("prepared_state must be 0..3 and photon_number >= 0")
        probs = self.detector_probabilities(routing_matrix) * self.efficiency
        probs = probs.reshape(-1, 4, 4)
        if matrix_index is None:
            if probs.shape[0] != 1:
                raise ValueError("matrix_index is required with several routing matrices")
            m_idx = np.zeros(idx.size, dtype=np.int64)
        else:
            m_idx = np.ascontiguousarray(matrix_index, dtype=np.int64)
            if m_idx.shape != idx.shape or (
                m_idx.size and (m_idx.min() < 0 or m_idx.max() >= probs.shape[0])
            ):
                raise ValueError("matrix_index must give a valid matrix for each pulse")
        cumulative = np.ascontiguousarray(np.cumsum(probs, axis=-1))
        sigma = jitter_sigma_ps(self.jitter_fwhm_ps)
        _reseed(rng)
        row, det, offset = _signal_kernel(
            n_photons,
            state,
            m_idx,
            cumulative,
            sigma,
            self.jitter_tail_fraction,
            self.jitter_tail_ps,
        )
        signal = Clicks(idx[row], det, offset, np.full(row.size, ORIGIN_SIGNAL, np.uint8))
        rate = self.dark_count_rate_hz + _per_detector(background_rate_hz, "background_rate_hz")
        background = background_clicks(start, stop, rep_rate_hz, rate, rng)
        merged = concat_clicks(signal, background)
        kept = apply_dead_time(merged, rep_rate_hz, self.dead_time_ns)
        if np.any(self.afterpulse_probability > 0):
            kept = self._add_afterpulses(kept, rep_rate_hz, stop, rng)
        return sort_by_pulse(kept)

    def _add_afterpulses(
        self, clicks: Clicks, rep_rate_hz: float, pulse_stop: int, rng: np.random.Generator
    ) -> Clicks:
        period_ps = 1e12 / rep_rate_hz
        _reseed(rng)
        parent, delay_ps = _afterpulse_kernel(
            clicks.detector, self.afterpulse_probability, self.afterpulse_time_constant_ns * 1e3
        )
        t_rel = clicks.time_offset_ps[parent] + delay_ps
        shift = np.rint(t_rel / period_ps)
        index = clicks.pulse_index[parent] + shift.astype(np.uint64)
        inside = index < np.uint64(pulse_stop)
        after = Clicks(
            index[inside],
            clicks.detector[parent][inside],
            (t_rel - shift * period_ps)[inside],
            np.full(int(inside.sum()), ORIGIN_AFTERPULSE, np.uint8),
        )
        return apply_dead_time(concat_clicks(clicks, after), rep_rate_hz, self.dead_time_ns)

    def detect(
        self,
        pulse_index: np.ndarray,
        photon_number: np.ndarray,
        prepared_state: np.ndarray,
        routing_matrix: np.ndarray,
        rng: np.random.Generator,
        *,
        rep_rate_hz: float,
        pulse_range: tuple[int, int],
        prepared_state_of: Callable[[np.ndarray], np.ndarray],
        background_rate_hz: float | np.ndarray = 0.0,
        matrix_index: np.ndarray | None = None,
        gate_width_ps: float | None = None,
    ) -> tuple[DetectionEvents, DetectionTruth]:
        """Clicks → (optional time gate on the true offset) → squashed events, with truth.

        A shortcut for when pulse-index recovery is not simulated: the gate keeps clicks
        within ``±gate_width_ps/2`` of the slot centre. ``prepared_state_of`` gives the
        prepared state of any pulse (e.g. ``SourceRandomness.prepared_state``), needed for
        background clicks in pulses that were not candidates.
        """
        clicks = self.clicks(
            pulse_index,
            photon_number,
            prepared_state,
            routing_matrix,
            rng,
            rep_rate_hz=rep_rate_hz,
            pulse_range=pulse_range,
            background_rate_hz=background_rate_hz,
            matrix_index=matrix_index,
        )
        if gate_width_ps is not None:
            clicks = clicks.select(np.abs(clicks.time_offset_ps) <= 0.5 * gate_width_ps)
        events = assign_events(clicks.pulse_index, clicks.detector, clicks.time_offset_ps, rng)
        truth = event_truth(
            events,
            clicks,
            np.asarray(pulse_index, np.uint64),
            np.asarray(photon_number),
            prepared_state_of,
        )
        return events, truth
