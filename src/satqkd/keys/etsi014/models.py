"""JSON data formats of ETSI GS QKD 014 V1.1.1 (2019-02), section 6.

Field names on the wire are exactly the specification's (``source_KME_ID``,
``key_ID``, ``additional_slave_SAE_IDs``, ...); the Python attribute names are their
snake-case spellings, mapped through pydantic aliases. Optional ``*_extension``
members of responses are omitted, as the specification allows.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _EtsiModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    def wire(self) -> dict[str, Any]:
        """The JSON object as the specification spells it (aliases, no unset options)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class Status(_EtsiModel):
    """Status data format (§6.1): what the KME can deliver to a master/slave SAE pair."""

    source_kme_id: str = Field(alias="source_KME_ID")
    target_kme_id: str = Field(alias="target_KME_ID")
    master_sae_id: str = Field(alias="master_SAE_ID")
    slave_sae_id: str = Field(alias="slave_SAE_ID")
    key_size: int
    stored_key_count: int
    max_key_count: int
    max_key_per_request: int
    max_key_size: int
    min_key_size: int
    max_sae_id_count: int = Field(alias="max_SAE_ID_count")
    status_extension: dict[str, Any] | None = None


class KeyRequest(_EtsiModel):
    """Key request data format (§6.2): body of ``POST .../enc_keys``. All members optional."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True, extra="ignore")

    number: int | None = None
    size: int | None = None
    additional_slave_sae_ids: list[str] | None = Field(
        default=None, alias="additional_slave_SAE_IDs"
    )
    extension_mandatory: list[dict[str, Any]] | None = None
    extension_optional: list[dict[str, Any]] | None = None


class Key(_EtsiModel):
    """One key of a key container: its UUID and its bytes in base64."""

    key_id: str = Field(alias="key_ID")
    key: str
    key_id_extension: dict[str, Any] | None = Field(default=None, alias="key_ID_extension")
    key_extension: dict[str, Any] | None = None


class KeyContainer(_EtsiModel):
    """Key container data format (§6.3): response of ``enc_keys`` and ``dec_keys``."""

    keys: list[Key]
    key_container_extension: dict[str, Any] | None = None


class KeyIdItem(_EtsiModel):
    """One entry of a key IDs request."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True, extra="ignore")

    key_id: str = Field(alias="key_ID")
    key_id_extension: dict[str, Any] | None = Field(default=None, alias="key_ID_extension")


class KeyIds(_EtsiModel):
    """Key IDs data format (§6.4): body of ``POST .../dec_keys``."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True, extra="ignore")

    key_ids: list[KeyIdItem] = Field(alias="key_IDs")
    key_ids_extension: dict[str, Any] | None = Field(default=None, alias="key_IDs_extension")


class Error(_EtsiModel):
    """Error data format (§6.5): ``message`` and optional ``details`` name/value objects."""

    message: str
    details: list[dict[str, Any]] | None = None


def key_container_json(keys: Iterable[tuple[str, bytes]]) -> bytes:
    """The Key container JSON of ``(key_ID, key bytes)`` pairs, without building models.

    Byte for byte what ``KeyContainer(...).model_dump_json(by_alias=True,
    exclude_none=True)`` gives (compact JSON, keys in base64), at a fraction of the
    cost per response. ``key_ID`` is a UUID string and base64 needs no JSON escaping;
    a key ID that would (not a plain UUID) is escaped with :mod:`json` as pydantic does.
    """
    parts = []
    for key_id, material in keys:
        if not _PLAIN.issuperset(key_id):
            key_id = json.dumps(key_id, ensure_ascii=False)[1:-1]
        parts.append(f'{{"key_ID":"{key_id}","key":"{base64.b64encode(material).decode()}"}}')
    return ('{"keys":[' + ",".join(parts) + "]}").encode()


_PLAIN = frozenset("0123456789abcdefABCDEF-")
