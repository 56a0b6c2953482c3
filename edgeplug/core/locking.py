"""Row locks for actions: re-read an instance under ``SELECT ... FOR UPDATE`` before deciding
anything from its state, so two concurrent requests cannot both act on the old state. Call
inside the action's transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db.models import Model
from django.utils import timezone

M = TypeVar("M", bound=Model)


def locked(instance: M, *related: str) -> M:
    """The instance's row, read again and locked (with ``related`` joined in, not locked)."""
    queryset = type(instance)._default_manager.select_for_update(of=("self",))
    if related:
        queryset = queryset.select_related(*related)
    return queryset.get(pk=instance.pk)


def stamp_once(instance: M, field: str, *, then: Callable[[M], object], **also) -> M:
    """Lock the row and set the timestamp ``field`` to now (and ``also``'s fields) unless it
    is set already: revoking, retiring and the like happen once, and so does ``then(row)`` (the
    audit event), which runs only when this call set the stamp. Returns the locked row."""
    row = locked(instance)
    if getattr(row, field) is not None:
        return row
    setattr(row, field, timezone.now())
    for name, value in also.items():
        setattr(row, name, value)
    row.save(update_fields=[field, *also])
    then(row)
    return row
