"""The rule every decision shares: it needs a reason. Each action that takes one (a run's
review, a workflow package's review, a void, a yank, hiding a review) calls
``require_reason`` first, so every door refuses an empty reason the same way. Where a reason
is optional (a credit note), ``optional_reason`` keeps the other rules. Other text a person
must write (a vendor's reply to a review) keeps them too, with its own codes:
``require_text``."""

from edgeplug.errors import DomainError, InvalidReason, ReasonRequired, ReasonTooLong
from edgeplug.text import refuse_nul, says_nothing, unprintable


def require_text(
    text: str | None,
    *,
    max_length: int | None,
    name: str,
    missing: type[DomainError],
    too_long: type[DomainError],
    missing_detail: str,
    field: str | None = None,
) -> str:
    """The text without surrounding whitespace; refused when it holds NUL (``nul_character``),
    when that leaves nothing to read (``says_nothing``: ``missing``, with ``missing_detail``)
    or more than ``max_length`` characters (``too_long``, naming the limit and the ``name`` of
    what was written); each refusal names the request ``field`` that holds the text (by
    default, its ``name``)."""
    field = field or name
    refuse_nul(text or "", field=field)
    text = (text or "").strip()
    if says_nothing(text):
        raise missing(missing_detail, field=field)
    if max_length is not None and len(text) > max_length:
        raise too_long(
            f"Keep the {name} to {max_length} characters ({len(text)} given).", field=field
        )
    return text


def require_reason(
    reason: str | None,
    *,
    max_length: int | None,
    missing_detail: str = "A decision needs a reason.",
) -> str:
    """The reason without surrounding whitespace; refused when it holds NUL
    (``nul_character``), when that leaves nothing (``reason_required``, saying
    ``missing_detail``: a reviewer's decision by default), more than ``max_length``
    characters (``reason_too_long``) or a character that would have others read it otherwise
    than it was written (``invalid_reason``: ``unprintable``'s control and bidirectional
    characters; line breaks and tabs stay). A reason is read by others: the vendor, customers,
    the buyer of an invoice, in pages, emails, documents and on a terminal."""
    reason = require_text(
        reason,
        max_length=max_length,
        name="reason",
        missing=ReasonRequired,
        too_long=ReasonTooLong,
        missing_detail=missing_detail,
    )
    if refusal := unprintable(reason):
        raise InvalidReason(f"reason: {refusal}", field="reason")
    return reason


def optional_reason(reason: str | None, *, max_length: int | None) -> str:
    """``require_reason`` for a reason that may be left out: blank (or None) is ``""``, anything
    else is stripped and held to ``require_reason``'s other rules (``nul_character``,
    ``reason_too_long`` past ``max_length``, ``invalid_reason``)."""
    if says_nothing(reason or ""):
        return ""
    return require_reason(reason, max_length=max_length)
