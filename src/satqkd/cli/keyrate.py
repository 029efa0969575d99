"""``satqkd keyrate``: the final key length of a block from its observed counts alone.

Input is a JSON file (example: ``examples/counts_jinan1.json``)::

    {"intensities": {"signal": 0.8, "decoy": 0.1, "vacuum": 0.001},
     "probabilities": {"signal": 0.5, "decoy": 0.25, "vacuum": 0.25},
     "pulses": 187500000000,
     "counts": {"signal": {"Z": n, "X": n}, "decoy": {...}, "vacuum": {...} or n},
     "errors": {same shape},
     "ec_leak_bits": L, "failure_probability": 1e-10}

Optional: ``verification_bits`` (tag length disclosed, default 0, charged at least
log2(1/ε_EC)), ``eps_error_correction``, ``eps_privacy_amplification``,
``eps_authentication`` (default 1e-10 each). A vacuum count given as one number is
split evenly between the bases (passive 50:50 basis choice at the ground).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from rich.console import Console
from rich.table import Table

from satqkd.distill.estimation import (
    INTENSITY_NAMES,
    METHODS,
    DecoyCounts,
    DecoySource,
    KeyLength,
    estimate,
    final_key_length,
)
from satqkd.distill.security import EpsilonBudget
from satqkd.errors import InputError

__all__ = ["KeyrateInput", "compute_keyrate", "load_keyrate_input", "register"]

Count = Annotated[int, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BasisCounts(_Strict):
    """Counts of one source in each basis."""

    Z: Count
    X: Count


class SourceCounts(_Strict):
    """Counts per source; the vacuum source may be one number for both bases."""

    signal: BasisCounts
    decoy: BasisCounts
    vacuum: BasisCounts | Count

    def as_array(self) -> np.ndarray:
        """``[3, 2]`` counts (intensity class, basis)."""
        vacuum = self.vacuum
        if isinstance(vacuum, int):
            vacuum = BasisCounts(Z=vacuum // 2, X=vacuum - vacuum // 2)
        return np.array([[c.Z, c.X] for c in (self.signal, self.decoy, vacuum)], dtype=np.int64)


class Intensities(_Strict):
    """Mean photon numbers per pulse."""

    signal: Annotated[float, Field(gt=0)]
    decoy: Annotated[float, Field(gt=0)]
    vacuum: Annotated[float, Field(ge=0)]

    @model_validator(mode="after")
    def _ordered(self) -> Intensities:
        if not (self.signal > self.decoy + self.vacuum and self.decoy > self.vacuum):
            raise ValueError("need signal > decoy + vacuum and decoy > vacuum")
        return self


class Probabilities(_Strict):
    """Probabilities with which the satellite picks each intensity."""

    signal: Annotated[float, Field(gt=0, lt=1)]
    decoy: Annotated[float, Field(gt=0, lt=1)]
    vacuum: Annotated[float, Field(gt=0, lt=1)]

    @model_validator(mode="after")
    def _sum_to_one(self) -> Probabilities:
        total = self.signal + self.decoy + self.vacuum
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"probabilities must sum to 1, they sum to {total:.6g}")
        return self


class KeyrateInput(_Strict):
    """The ``--counts`` file of ``satqkd keyrate``."""

    intensities: Intensities
    probabilities: Probabilities
    pulses: Annotated[int, Field(ge=1)] | None = None
    counts: SourceCounts
    errors: SourceCounts
    ec_leak_bits: Annotated[float, Field(ge=0)]
    failure_probability: Annotated[float, Field(gt=0, lt=0.5)] = 1e-10
    verification_bits: Annotated[float, Field(ge=0)] = 0.0
    eps_error_correction: Annotated[float, Field(gt=0, lt=1)] = 1e-10
    eps_privacy_amplification: Annotated[float, Field(gt=0, lt=1)] = 1e-10
    eps_authentication: Annotated[float, Field(ge=0, lt=1)] = 1e-10

    def source(self) -> DecoySource:
        """The decoy source the file describes."""
        i, p = self.intensities, self.probabilities
        return DecoySource(i.signal, i.decoy, i.vacuum, p.signal, p.decoy, p.vacuum)

    def decoy_counts(self) -> DecoyCounts:
        """The observed counts the file describes."""
        return DecoyCounts(self.counts.as_array(), self.errors.as_array(), self.pulses)

    def budget(self) -> EpsilonBudget:
        """ε of error correction, privacy amplification and authentication."""
        return EpsilonBudget(
            pe_per_bound=self.failure_probability,
            error_correction=self.eps_error_correction,
            privacy_amplification=self.eps_privacy_amplification,
            authentication=self.eps_authentication,
        )


def load_keyrate_input(path: Path) -> KeyrateInput:
    """Read and validate a counts file; every problem becomes an :class:`InputError`."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file ({exc.__class__.__name__})", source=source) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} at line {exc.lineno}", source=source) from exc
    try:
        parsed = KeyrateInput.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(part) for part in first["loc"]]
        # Drop pydantic's union-branch labels ("BasisCounts", "int") from the path.
        field = ".".join(p for p in loc if p not in {"BasisCounts", "int"}) or None
        value = first.get("input") if first["type"] != "missing" else None
        if isinstance(value, dict | list):
            value = None
        message = first["msg"].removeprefix("Value error, ")
        raise InputError(message, source=source, field=field, value=value) from exc
    over = np.argwhere(parsed.errors.as_array() > parsed.counts.as_array())
    if len(over):
        j, b = (int(v) for v in over[0])
        field = f"errors.{INTENSITY_NAMES[j]}.{'ZX'[b]}"
        value = int(parsed.errors.as_array()[j, b])
        raise InputError("more errors than counts", source=source, field=field, value=value)
    return parsed


def compute_keyrate(data: KeyrateInput, method: str, source: str = "--method") -> KeyLength:
    """Final key length of the counts in ``data`` with ``method``."""
    if method not in METHODS:
        raise InputError(
            f"unknown method; choose one of {', '.join(METHODS)}", source=source, value=method
        )
    est = estimate(
        data.decoy_counts(), data.source(), method, failure_probability=data.failure_probability
    )
    return final_key_length(est, data.ec_leak_bits, data.verification_bits, data.budget())


def _result_dict(result: KeyLength, data: KeyrateInput) -> dict[str, object]:
    out = result.as_dict()
    out["sifted_bits"] = int(data.decoy_counts().total_detections)
    out["pulses"] = data.pulses
    out["key_bits_per_pulse"] = result.final_key_bits / data.pulses if data.pulses else None
    return out


def _print_table(result: KeyLength, counts_file: Path, data: KeyrateInput) -> None:
    est = result.estimate
    table = Table(title=f"satqkd keyrate — {counts_file.name} ({est.method})")
    table.add_column("quantity")
    table.add_column("Z", justify="right")
    table.add_column("X", justify="right")
    table.add_column("total", justify="right")
    s1 = est.single_photon_lower
    table.add_row(
        "single photons (lower)",
        f"{s1[0]:,.0f}",
        f"{s1[1]:,.0f}",
        f"{est.single_photon_lower_total:,.0f}",
    )
    e1 = est.single_photon_error_upper
    table.add_row("single-photon bit error (upper)", f"{e1[0]:.3%}", f"{e1[1]:.3%}", "")
    ph = est.phase_error_upper
    table.add_row(
        "phase error of key (upper)",
        f"{ph[0]:.3%}",
        f"{ph[1]:.3%}",
        f"{est.phase_error_upper_mean:.3%}",
    )
    if any(est.zero_photon_lower):
        s0 = est.zero_photon_lower
        table.add_row(
            "zero-photon detections (lower)", f"{s0[0]:,.0f}", f"{s0[1]:,.0f}", f"{sum(s0):,.0f}"
        )
    table.add_row("sifted bits", "", "", f"{data.decoy_counts().total_detections:,}")
    table.add_row("secret entropy", "", "", f"{result.secret_bits:,.0f}")
    table.add_row("− error-correction leak", "", "", f"{result.ec_leak_bits:,.0f}")
    table.add_row("− verification", "", "", f"{result.verification_bits:,.1f}")
    table.add_row("− privacy amplification", "", "", f"{result.privacy_amplification_bits:,.1f}")
    table.add_row("[bold]final key bits[/bold]", "", "", f"[bold]{result.final_key_bits:,}[/bold]")
    eps = result.eps
    table.add_row(
        "ε parameter estimation",
        "",
        "",
        f"{eps.parameter_estimation:.2e} ({eps.pe_bounds}×{eps.pe_per_bound:.0e})",
    )
    table.add_row(
        "ε EC / PA / auth",
        "",
        "",
        f"{eps.error_correction:.0e} / {eps.privacy_amplification:.0e} / {eps.authentication:.0e}",
    )
    table.add_row("ε total", "", "", f"{eps.total:.2e}")
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add ``satqkd keyrate`` to ``app``."""

    @app.command("keyrate")
    def keyrate(
        counts: Annotated[
            Path, typer.Option("--counts", help="JSON file of observed counts (see examples/).")
        ],
        method: Annotated[
            str, typer.Option("--method", help="chernoff (Jinan-1), gaussian or composable.")
        ] = "chernoff",
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    ) -> None:
        """Final secret key length of a block from its decoy-state counts."""
        if method not in METHODS:
            raise InputError(
                f"unknown method; choose one of {', '.join(METHODS)}",
                source="--method",
                value=method,
            )
        data = load_keyrate_input(counts)
        result = compute_keyrate(data, method)
        if as_json:
            typer.echo(json.dumps(_result_dict(result, data), indent=2))
        else:
            _print_table(result, counts, data)
