"""``satqkd relay`` and ``satqkd send``: key relay and encrypted files through the satellite."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from satqkd.cli.common import mission_option, print_json, station_option, time_option
from satqkd.cli.progress import pass_progress
from satqkd.errors import InputError


def register(app: typer.Typer) -> None:
    """Add ``relay`` and ``send`` to ``app``."""

    @app.command()
    def relay(
        mission: Annotated[str, typer.Option(help="Preset name or TOML file")] = "jinan1",
        from_: Annotated[str, typer.Option("--from", help="Station A (key source)")] = "jinan",
        to: Annotated[str, typer.Option("--to", help="Station B (receives A's key)")] = "nanshan",
        start: Annotated[str | None, typer.Option(help="ISO 8601: search passes from here (default: now)")] = None,
        store: Annotated[Path, typer.Option(help="Directory of the nodes' key stores")] = Path("satqkd-keys"),
        bits: Annotated[int | None, typer.Option(help="Bits to relay (default: all the passes allow)")] = None,
        duration: Annotated[float | None, typer.Option(help="Cap on each pass's QKD window, s")] = None,
        seed: Annotated[int, typer.Option(help="Seed of every random choice")] = 1,
        json_out: Annotated[bool, typer.Option("--json", help="Print a JSON report")] = False,
    ) -> None:
        """Pass over A, next pass over B, then relay key A→B through the satellite."""
        from satqkd.protocol.relay_run import describe_times, relay_between

        m = mission_option(mission)
        a, b = station_option(m, from_), station_option(m, to)
        if bits is not None and (bits < 8 or bits % 8):
            raise InputError("must be a positive multiple of 8", source="--bits", value=bits)
        if duration is not None and duration <= 0:
            raise InputError("must be positive", source="--duration", value=duration)
        with pass_progress(f"simulate {a.name}, then {b.name}") as sim_progress:
            run = relay_between(m, a, b, start=time_option(start), store_dir=store, seed=seed,
                                bits=bits, duration_s=duration, sim_progress=sim_progress)
        report = run.summary()
        if json_out:
            print_json(report)
            return
        console = Console()
        console.print(describe_times(run))
        console.print(f"keys: A {report['pass_a']['final_key_bits']:,} bits, "
                      f"B {report['pass_b']['final_key_bits']:,} bits; "
                      f"relayed {report['relayed_bits']:,} bits on {report['relayed_link']}; "
                      f"latency between passes {report['latency_between_passes_h']:.2f} h")

    @app.command()
    def send(
        file: Annotated[Path, typer.Argument(help="File to carry from A to B")],
        mission: Annotated[str, typer.Option(help="Preset name or TOML file")] = "jinan1",
        from_: Annotated[str, typer.Option("--from", help="Sending station")] = "jinan",
        to: Annotated[str, typer.Option("--to", help="Receiving station")] = "nanshan",
        otp: Annotated[bool, typer.Option("--otp", help="One-time pad (default)")] = False,
        aes: Annotated[bool, typer.Option("--aes", help="AES-GCM with a QKD key")] = False,
        aes_bits: Annotated[int, typer.Option(help="AES key size: 128 (reference system) or 256")] = 256,
        store: Annotated[Path, typer.Option(help="Directory of the nodes' key stores")] = Path("satqkd-keys"),
        output: Annotated[Path | None, typer.Option(help="Where B writes the file")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="Print a JSON report")] = False,
    ) -> None:
        """Encrypt FILE at A, forward it through the satellite, decrypt at B."""
        from satqkd.keys import KeyStore, link_name, send_file
        from satqkd.protocol.storage import satellite_node, station_node

        if otp and aes:
            raise InputError("choose one of --otp and --aes", source="--otp/--aes")
        if aes_bits not in (128, 256):
            raise InputError("must be 128 or 256", source="--aes-bits", value=aes_bits)
        m = mission_option(mission)
        a, b = station_option(m, from_), station_option(m, to)
        sat, na, nb = satellite_node(m), station_node(m, a), station_node(m, b)
        paths = {n: store / f"{n}.db" for n in (sat, na, nb)}
        for node, path in paths.items():
            if not path.is_file():
                raise InputError(f"no key store for node {node!r}: run `satqkd pass --store "
                                 f"{store}` or `satqkd relay --store {store}` first",
                                 source="--store", value=str(path))
        out = output or file.with_name(f"{file.name}.received")
        cipher = f"aes-{aes_bits}-gcm" if aes else "otp"
        with KeyStore(paths[sat], sat) as s, KeyStore(paths[na], na) as sa, \
                KeyStore(paths[nb], nb) as sb:
            result = send_file(file, out, sat_store=s, store_a=sa, store_b=sb,
                               link_a=link_name(sat, na), link_b=link_name(sat, nb),
                               cipher=cipher)  # type: ignore[arg-type]
        report = {"cipher": result.cipher, "bytes": result.n_bytes, "output": str(out),
                  "identical": result.identical, "route": result.route,
                  "key_bits_consumed": result.key_bits_consumed,
                  "sha256": result.sha256_received}
        if json_out:
            print_json(report)
            return
        Console().print(f"{result.n_bytes:,} bytes {na} → {sat} → {nb} with {cipher}: "
                        f"{'identical' if result.identical else 'DIFFERENT'}; key used "
                        f"{result.key_bits_consumed} ({result.route}); written to {out}")
