"""The link package's façade: a sorted, complete ``__all__``."""

from __future__ import annotations

import satqkd.link as link


def _isort_key(name: str) -> tuple[int, str]:
    """Constants, then classes, then functions (the order ruff's RUF022 keeps)."""
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


def test_all_is_sorted_and_resolves() -> None:
    assert list(link.__all__) == sorted(link.__all__, key=_isort_key)
    assert len(set(link.__all__)) == len(link.__all__)
    for name in link.__all__:
        assert hasattr(link, name), name
