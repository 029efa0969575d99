"""``satqkd keys list|stats|serve``: look into key stores; serve ETSI GS QKD 014 key delivery.

``serve`` runs one KME process over the stores of the nodes given with ``--db`` (for
a link A–B, both A's and B's stores) on mutual TLS: the client certificate's subject
CN is the SAE ID, mapped to a node by ``--sae-map`` (without one, SAE ID = node name).
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from satqkd.errors import InputError
from satqkd.keys import KeyStore
from satqkd.keys.records import KEY_STATES

__all__ = ["keys_app", "open_store", "register"]

# Nothing here imports the simulation stack (numpy, scipy, numba via satqkd.cli.common
# and the other command modules): ``satqkd keys serve`` starts fast and stays small.

keys_app = typer.Typer(
    name="keys",
    help="Key stores: list keys, show statistics, serve ETSI GS QKD 014 key delivery.",
    no_args_is_help=True,
)

DbOption = Annotated[Path, typer.Option("--db", help="Key store (SQLite file) of one node.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def open_store(path: Path, option: str = "--db") -> KeyStore:
    """Open an existing key store (never create one from a mistyped path)."""
    if not path.is_file():
        raise InputError("no such key store", source=option, value=str(path))
    return KeyStore(path)


def _list(
    db: DbOption,
    link: Annotated[
        str | None, typer.Option(help="Only this link (e.g. jinan1-sat:jinan).")
    ] = None,
    state: Annotated[str | None, typer.Option(help="Only keys in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many keys.")] = 50,
    json_out: JsonOption = False,
) -> None:
    """List the pool blocks and the keys of a store (never their bytes)."""
    if state is not None and state not in KEY_STATES:
        raise InputError(f"state is one of {', '.join(KEY_STATES)}", source="--state", value=state)
    with open_store(db) as store:
        blocks = store.blocks(link)
        keys = store.list_keys(link, state, limit)  # type: ignore[arg-type]
        node = store.node
    if json_out:
        from satqkd.cli.common import print_json

        print_json(
            {
                "node": node,
                "blocks": [b.to_json() for b in blocks],
                "keys": [k.to_json() for k in keys],
            }
        )
        return
    console = Console()
    pool = Table(title=f"Key pool of node {node}")
    for col in ("block", "link", "pass", "source", "bits", "available bits", "ε"):
        right = "bits" in col or col == "ε"
        pool.add_column(col, justify="right" if right else "left", no_wrap=col == "link")
    for b in blocks:
        pool.add_row(
            b.block_id[:8],
            b.link,
            b.provenance.pass_id,
            b.provenance.source,
            f"{b.n_bits:,}",
            f"{8 * b.available_bytes:,}",
            f"{b.epsilon:.1e}",
        )
    console.print(pool)
    table = Table(title=f"Keys (first {limit})")
    for col in (
        "key ID",
        "link",
        "bits",
        "state",
        "purpose",
        "master SAE",
        "slave SAE",
        "passes",
        "created (UTC)",
    ):
        table.add_column(
            col, justify="right" if col == "bits" else "left", no_wrap=col in ("key ID", "link")
        )
    for k in keys:
        table.add_row(
            k.key_id,
            k.link,
            str(k.size_bits),
            k.state,
            k.purpose,
            k.master_sae or "",
            k.slave_sae or "",
            ",".join(k.pass_ids),
            k.created_utc[:19],
        )
    console.print(table)


def _stats(db: DbOption, json_out: JsonOption = False) -> None:
    """Per link: pool material, bits available, keys and bits per state."""
    with open_store(db) as store:
        stats, node = store.stats(), store.node
    if json_out:
        from satqkd.cli.common import print_json

        print_json({"node": node, "links": [s.to_json() for s in stats]})
        return
    table = Table(title=f"Key store of node {node}")
    table.add_column("link", no_wrap=True)
    for col in ("blocks", "material bits", "available bits", "keys a/r/d/c", "max ε"):
        table.add_column(col, justify="right")
    for s in stats:
        counts = "/".join(str(s.keys_by_state[st]) for st in KEY_STATES)
        table.add_row(
            s.link,
            str(s.n_blocks),
            f"{s.material_bits:,}",
            f"{s.available_bits:,}",
            counts,
            f"{s.epsilon_max:.1e}",
        )
    table.caption = "keys a/r/d/c: available / reserved / delivered / consumed"
    Console().print(table)


def _serve(
    db: Annotated[list[Path], typer.Option("--db", help="Store of a node (repeat per node).")],
    cert: Annotated[Path, typer.Option(help="Server certificate (PEM).")],
    key: Annotated[Path, typer.Option(help="Server private key (PEM).")],
    ca: Annotated[Path, typer.Option(help="CA certificate that signs the SAE certificates.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8443,
    sae_map: Annotated[Path | None, typer.Option(help="TOML/JSON file: SAE ID = node.")] = None,
    key_size: Annotated[int, typer.Option(help="Default key size in bits.")] = 256,
    min_key_size: Annotated[int, typer.Option(help="Smallest key size in bits.")] = 64,
    max_key_size: Annotated[int, typer.Option(help="Largest key size in bits.")] = 8192,
    max_keys: Annotated[int, typer.Option(help="Most keys per request.")] = 128,
) -> None:
    """Serve ETSI GS QKD 014 key delivery over mutual TLS (client certificate required)."""
    from satqkd.keys.etsi014 import Kme, KmeLimits, SaeMap, build_server, create_app

    for option, path in (("--cert", cert), ("--key", key), ("--ca", ca)):
        if not path.is_file():
            raise InputError("no such file", source=option, value=str(path))
    stores = [open_store(p) for p in db]
    nodes = [s.node for s in stores]
    if len(set(nodes)) != len(nodes):
        raise InputError("two stores of the same node", source="--db", value=nodes)
    limits = KmeLimits(key_size, min_key_size, max_key_size, max_keys)
    kme = Kme(stores, SaeMap.load(sae_map) if sae_map else None, limits)
    discarded = kme.reconcile()
    err = Console(stderr=True)
    if discarded:
        err.print(f"reconciled the link pools: {discarded} unused bytes discarded")
    err.print(f"KME for nodes {', '.join(nodes)} on https://{host}:{port} (mutual TLS)")
    app = create_app(kme)
    # The start-up heap (the CLI imports numpy, scipy, numba...) holds ~10^5 objects; a
    # full garbage collection over it stalls the event loop ~100 ms, about once a second
    # under load, which is the p99 latency. Frozen, a full collection takes a few ms.
    gc.collect()
    gc.freeze()
    try:
        build_server(app, host=host, port=port, cert=cert, key=key, ca=ca).run()
    finally:
        commits = app.state.committer
        commits.close()
        for store in stores:
            store.close()
        err.print(
            f"group commit: {commits.n_ops} operations in {commits.n_batches} batches,"
            f" {commits.n_syncs} WAL syncs ({commits.n_inline} on the event loop,"
            f" {commits.mean_sync_ms:.2f} ms each on average)",
            soft_wrap=True,
        )


keys_app.command("list")(_list)
keys_app.command("stats")(_stats)
keys_app.command("serve")(_serve)


def register(app: typer.Typer) -> None:
    """Add the ``keys`` command group to ``app``."""
    app.add_typer(keys_app, name="keys")
