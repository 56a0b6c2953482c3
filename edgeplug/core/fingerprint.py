"""An object as someone read it, as one short token: a form carries it (a hidden field) or an
API client sends it back (``If-Match``), and the action refuses the object changed since,
rather than undoing or answering a change its author never saw."""

import hashlib
import json

from django.db.models import Model


def fingerprint(instance: Model, names: tuple[str, ...]) -> str:
    """``instance``'s fields ``names`` hashed to 16 hex digits: it changes when one does."""
    shown = json.dumps([getattr(instance, name) for name in names], sort_keys=True, default=str)
    return hashlib.sha256(shown.encode()).hexdigest()[:16]
