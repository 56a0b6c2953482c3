"""UTC instants as text, one way for the whole product: ISO 8601 ending in ``Z``.

Django-free: the offline certificate verifier and the vendor CLI use it too.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_iso(moment: datetime, *, seconds: bool = False) -> str:
    """``2026-11-30T15:04:05.123456Z``; ``seconds=True`` drops the fraction (what signed
    documents carry: ``2026-11-30T15:04:05Z``)."""
    moment = moment.astimezone(UTC)
    if seconds:
        moment = moment.replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def parse_utc_iso(text: str) -> datetime:
    """An ISO 8601 instant (``Z`` or an offset); ValueError when it is not one, or carries no
    timezone (a naive time cannot be compared with an instant)."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} carries no timezone")
    return parsed
