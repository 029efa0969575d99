"""Which secure application entity (SAE) sits at which node.

An SAE is identified by the common name (CN) of its verified TLS client certificate.
The SAE map says at which node (key store) each SAE gets its keys; the link between
two SAEs is the link between their nodes. File format, TOML or JSON::

    # sae-map.toml: SAE ID (certificate CN) = node name
    [sae]
    "sae-jinan-app" = "jinan"
    "sae-hefei-app" = "hefei"

Without a map, an SAE's ID must be the name of its node.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from satqkd.errors import InputError


@dataclass(frozen=True)
class SaeMap:
    """SAE ID → node name. ``identity_nodes`` lists nodes whose name is itself an SAE ID."""

    nodes: Mapping[str, str]
    identity_nodes: frozenset[str] = frozenset()

    def node_of(self, sae_id: str) -> str | None:
        """The node of ``sae_id``, or None when the SAE is unknown."""
        node = self.nodes.get(sae_id)
        if node is None and sae_id in self.identity_nodes:
            return sae_id
        return node

    @classmethod
    def identity(cls, nodes: Iterable[str]) -> SaeMap:
        """The map without a file: each node's name is the ID of its one SAE."""
        return cls({}, frozenset(nodes))

    @classmethod
    def load(cls, path: str | Path) -> SaeMap:
        """Read a map from a ``.toml`` or ``.json`` file (table/object ``sae``)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read the SAE map: {exc.strerror}", source=str(path)) from exc
        try:
            data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise InputError(
                f"not valid {path.suffix[1:] or 'TOML'}: {exc}", source=str(path)
            ) from exc
        table = data.get("sae") if isinstance(data, dict) else None
        if not isinstance(table, dict) or not table:
            raise InputError(
                "needs a non-empty table 'sae' of SAE ID = node", source=str(path), field="sae"
            )
        for sae_id, node in table.items():
            if not isinstance(node, str) or not node:
                raise InputError(
                    "a node name is a non-empty string",
                    source=str(path),
                    field=f"sae.{sae_id}",
                    value=node,
                )
        return cls(dict(table))
