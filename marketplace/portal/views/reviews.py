"""An agent's reviews as customers read them at the API (a review a platform reviewer hid is
shown to no one, its vendor neither), newest first, a page at a time, and the vendor's one
reply to each: written by its publishers through ``reviews.reply_to_review``, as at the API."""

from dataclasses import dataclass

from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from edgeplug.tenancy.scoping import get_for_request
from marketplace import reviews
from marketplace.catalogue import rating_summary, visible_reviews
from marketplace.errors import ReviewChanged
from marketplace.models import MAX_STARS, Agent, Review
from marketplace.portal.access import vendor_page
from marketplace.portal.forms import ReplyForm
from marketplace.portal.outcomes import perform, render_form
from marketplace.portal.paging import PER_PAGE, page_url, paged
from marketplace.powers import PUBLISH
from marketplace.visibility import review_to_reply


@dataclass(frozen=True)
class ShownReview:
    """A review on the page, with its reply form when the member may still reply to it."""

    review: Review
    form: ReplyForm | None = None

    @property
    def stars(self) -> str:
        return "★" * self.review.stars + "☆" * (MAX_STARS - self.review.stars)


def _page_of(review: Review) -> int:
    """The page ``review`` is on, in the order of ``Review.Meta.ordering`` (newest first)."""
    newer = visible_reviews(review.agent).filter(
        Q(updated_at__gt=review.updated_at) | Q(updated_at=review.updated_at, pk__gt=review.pk)
    )
    return newer.count() // PER_PAGE + 1


def _context(request, agent: Agent, number, *, refused: ReplyForm | None = None) -> dict:
    """The page's reviews: page ``number`` (the first for none or one that is no number, the
    last past the end). ``refused``: the reply form a refusal came back to, shown under its
    review as sent (the page says the refusal there), unless the review has its reply now."""
    paging = paged(
        visible_reviews(agent).select_related("tenant"),
        number,
        reverse("portal:reviews", args=[agent.pk]),
    )
    refused_pk = refused.review.pk if refused else None
    shown = []
    for review in paging["page"]:
        form = None
        if review.vendor_reply_at is None and request.can.publish:
            form = refused if review.pk == refused_pk else ReplyForm(review=review)
        shown.append(ShownReview(review, form))
    return {
        "agent": agent,
        "summary": rating_summary(agent),
        "reviews": shown,
        "replying": refused_pk,
        **paging,
    }


@require_safe
@vendor_page
def reviews_page(request, agent_id):
    agent = get_for_request(Agent.objects.all(), request, pk=agent_id)
    context = _context(request, agent, request.GET.get("page"))
    return render(request, "portal/reviews.html", context)


@require_POST
@vendor_page(power=PUBLISH)
def reply(request, agent_id, review_id):
    """Reply, then back to the review on its page; refused, the page the review is on, with
    the refusal and the text as typed in its form."""
    review = review_to_reply(request, agent_id, review_id)
    form = ReplyForm(request.POST, review=review)
    error = None
    if form.is_valid():
        seen = form.cleaned_data["seen"]
        outcome = perform(
            request,
            reviews.reply_to_review,
            review,
            form.cleaned_data["text"],
            seen=[seen] if seen else None,
            success=f"Your reply to {review.tenant.name} is published.",
        )
        if outcome.error is None:
            url = page_url(reverse("portal:reviews", args=[agent_id]), _page_of(review))
            return redirect(f"{url}#review-{review.pk}")
        error = outcome.error
        if isinstance(error, ReviewChanged):  # the reply as typed, under the review as it is
            review.refresh_from_db()
            now_seen = {form.add_prefix("seen"): reviews.review_fingerprint(review)}
            form = ReplyForm({**request.POST.dict(), **now_seen}, review=review)
    context = _context(request, review.agent, _page_of(review), refused=form)
    return render_form(request, "portal/reviews.html", context, form=form, error=error)
