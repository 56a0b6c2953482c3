"""Scan findings as JSON-ready dicts (stage results, audit details): each dataclass field by
name, in declaration order, tuples as lists and enums as their values."""

from dataclasses import fields
from enum import Enum
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Enum):
        return str(value)
    return value


def finding_fields(finding: Any, *only: str) -> dict[str, Any]:
    """The finding's fields (just ``only``, in that order, when named)."""
    names = only or tuple(f.name for f in fields(finding))
    return {name: _plain(getattr(finding, name)) for name in names}
