"""Ratings and reviews: one per tenant per agent from tenants that hold or held an
entitlement, one vendor reply, hidden by reviewers with a reason (audited)."""

from collections.abc import Collection

from django.db import IntegrityError, transaction
from django.utils import timezone

from edgeplug.audit.services import record_change, record_event
from edgeplug.core.fingerprint import fingerprint
from edgeplug.core.locking import locked
from edgeplug.reasons import require_reason, require_text
from edgeplug.tenancy.models import Tenant
from edgeplug.text import unreadable
from marketplace.catalogue import refresh_listing
from marketplace.errors import (
    AlreadyReplied,
    InvalidReviewText,
    NotEntitled,
    ReplyRequired,
    ReplyTooLong,
    ReviewChanged,
)
from marketplace.models import Agent, Entitlement, Review


def _check_review_text(**fields: str) -> None:
    """A review's title and text, or its vendor's reply, as every tenant will read them
    (``unreadable``): a title of only invisible characters reads as blank, as a reply of them
    may not."""
    for field, value in fields.items():
        if refusal := unreadable(value):
            raise InvalidReviewText(field, refusal)


def _reject_never_entitled(tenant: Tenant, agent: Agent) -> None:
    if not Entitlement.objects.filter(tenant=tenant, agent=agent).exists():
        raise NotEntitled(f"Only tenants that hold or held {agent.name} can review it.")


@transaction.atomic
def submit_review(
    tenant: Tenant, agent: Agent, *, stars: int, title: str, text: str, actor=None, request=None
) -> tuple[Review, bool]:
    """(review, created): a second submission replaces the tenant's review; one that changes
    what it says takes the vendor's reply off (it answered the old words), for the vendor to
    answer the new ones. One transaction with its audit event and the listing's rating (the
    inner blocks are savepoints, so a concurrent first review's IntegrityError is retried
    within it)."""
    _check_review_text(title=title, text=text)
    _reject_never_entitled(tenant, agent)
    values = {"stars": stars, "title": title, "text": text, "author": actor}
    try:
        with transaction.atomic():
            review, created, written, reply_taken_off = _write_review(tenant, agent, values)
    except IntegrityError:  # a concurrent first review by the same tenant
        with transaction.atomic():
            review, created, written, reply_taken_off = _write_review(tenant, agent, values)
    if not written:  # the same review sent again (a retry, a double click): nothing to say
        return review, False
    details = {"agent": agent.pk, "stars": stars}
    if reply_taken_off:
        details["reply_taken_off"] = reply_taken_off
    record_event(
        "review_submitted" if created else "review_replaced",
        request=request,
        actor=actor,
        tenant=tenant,
        target=f"review {review.pk}",
        details=details,
    )
    refresh_listing(agent)
    return review, created


# What a review says: a rewrite of any takes the vendor's reply off (it answered the old words).
SAID = ("stars", "title", "text")


def _write_review(tenant: Tenant, agent: Agent, values: dict) -> tuple[Review, bool, bool, str]:
    """(review, created, written: False when it held these values already, the vendor's
    reply taken off by a rewrite or "")."""
    review = Review.objects.select_for_update().filter(tenant=tenant, agent=agent).first()
    if review is None:
        return Review.objects.create(tenant=tenant, agent=agent, **values), True, True, ""
    if all(getattr(review, name) == value for name, value in values.items()):
        return review, False, False, ""
    reply_taken_off = ""
    if review.vendor_reply_at and any(getattr(review, f) != values[f] for f in SAID):
        reply_taken_off = review.vendor_reply
        review.vendor_reply, review.vendor_reply_at, review.vendor_reply_by = "", None, None
    for name, value in values.items():
        setattr(review, name, value)
    review.save()
    return review, False, True, reply_taken_off


REPLY_MAX_LENGTH = Review._meta.get_field("vendor_reply").max_length


def review_fingerprint(review: Review) -> str:
    """What the review says, as one short token: what a reply form carries, and the
    ``seen`` of ``reply_to_review``."""
    return fingerprint(review, SAID)


@transaction.atomic
def reply_to_review(
    review: Review,
    text: str | None,
    *,
    seen: Collection[str] | None = None,
    actor=None,
    request=None,
) -> Review:
    r"""The vendor's one reply to ``review``, without surrounding whitespace (every door's text
    fields strip it): refused holding NUL (``nul_character``), blank (``reply_required``),
    longer than its column (``reply_too_long``), read otherwise than written as the review's
    own words are (``invalid_review_text``: ``_check_review_text``) or when the review has
    its reply already (``already_replied``). With ``seen`` (the ``review_fingerprint``\s the
    reply was written to), a review its author rewrote since is refused (``review_changed``):
    the reply would stand under words it never answered."""
    text = require_text(
        text,
        max_length=REPLY_MAX_LENGTH,
        name="reply",
        field="text",
        missing=ReplyRequired,
        too_long=ReplyTooLong,
        missing_detail="Write the reply before sending it.",
    )
    _check_review_text(text=text)
    review = locked(review)
    if review.vendor_reply_at is not None:
        raise AlreadyReplied("The vendor has already replied to this review.")
    if seen is not None and review_fingerprint(review) not in seen:
        raise ReviewChanged(
            f"{review.tenant.name} rewrote this review since you read it: read what it says "
            "now, and reply to that."
        )
    review.vendor_reply = text
    review.vendor_reply_at = timezone.now()
    review.vendor_reply_by = actor
    review.save(update_fields=["vendor_reply", "vendor_reply_at", "vendor_reply_by"])
    record_change(
        "review_replied", review.agent, actor=actor, request=request, target=f"review {review.pk}"
    )
    return review


@transaction.atomic
def hide_review(review: Review, reason: str, *, actor=None, request=None) -> Review:
    """Hide a review from the catalogue with a reason (``review_hidden``). A review hidden
    already stays as it was hidden (when, by whom); a new reason replaces the old one,
    audited as ``review_hidden_reason_changed``; the same reason changes nothing."""
    reason = require_reason(reason, max_length=Review._meta.get_field("hidden_reason").max_length)
    review = locked(review)
    if review.hidden_at is not None:
        return _change_hidden_reason(review, reason, actor=actor, request=request)
    review.hidden_at = timezone.now()
    review.hidden_reason = reason
    review.hidden_by = actor
    review.save(update_fields=["hidden_at", "hidden_reason", "hidden_by"])
    record_change(
        "review_hidden",
        review,
        actor=actor,
        request=request,
        target=f"review {review.pk}",
        details={"reason": reason},
    )
    refresh_listing(review.agent)
    return review


def _change_hidden_reason(review: Review, reason: str, *, actor, request) -> Review:
    previous = review.hidden_reason
    if reason == previous:
        return review
    review.hidden_reason = reason
    review.save(update_fields=["hidden_reason"])
    record_change(
        "review_hidden_reason_changed",
        review,
        actor=actor,
        request=request,
        target=f"review {review.pk}",
        details={"reason": reason, "previous_reason": previous},
    )
    return review


@transaction.atomic
def show_review(review: Review, *, actor=None, request=None) -> Review:
    review = locked(review)
    if review.hidden_at is not None:
        review.hidden_at, review.hidden_reason, review.hidden_by = None, "", None
        review.save(update_fields=["hidden_at", "hidden_reason", "hidden_by"])
        record_change(
            "review_shown", review, actor=actor, request=request, target=f"review {review.pk}"
        )
        refresh_listing(review.agent)
    return review
