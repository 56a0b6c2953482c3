"""The rule every decision shares: it needs a reason. Each action that takes one (a run's
review, a workflow package's review, a void, a yank, hiding a review) calls
``require_reason`` first, so every door refuses an empty reason the same way. Where a reason
is optional (a credit note), ``optional_reason`` keeps the other rules."""

from edgeplug.errors import ReasonRequired, ReasonTooLong
from edgeplug.text import refuse_nul


def require_reason(reason: str | None, *, max_length: int | None) -> str:
    """The reason without surrounding whitespace; refused when it holds NUL
    (``nul_character``), when that leaves nothing (``reason_required``) or more than
    ``max_length`` characters (``reason_too_long``)."""
    refuse_nul(reason or "")
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("A decision needs a reason.")
    if max_length is not None and len(reason) > max_length:
        raise ReasonTooLong(f"Keep the reason to {max_length} characters ({len(reason)} given).")
    return reason


def optional_reason(reason: str | None, *, max_length: int | None) -> str:
    """``require_reason`` for a reason that may be left out: blank (or None) is ``""``, anything
    else is stripped and refused when longer than ``max_length`` (``reason_too_long``)."""
    if not (reason or "").strip():
        return ""
    return require_reason(reason, max_length=max_length)
