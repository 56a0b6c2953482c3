"""A reviewer hides and shows customer reviews on the review's admin page, in Chromium. A page
left open while another reviewer hid the review saved as it was loaded (its reason box empty)
showed the review again, with no word of the other's decision (found by a review)."""

import pytest

from marketplace import reviews
from marketplace.models import Review
from tests.factories import ReviewFactory

pytestmark = pytest.mark.browser


def _save(journey, reason: str | None = None) -> None:
    page = journey.page
    if reason is not None:
        page.get_by_label("Hide with reason").fill(reason)
    journey.click(page.get_by_role("button", name="Save", exact=True))


def test_a_page_left_open_does_not_undo_a_review_hidden_since(journey, staff_user):
    review = ReviewFactory()
    first, second = staff_user("reviewers"), staff_user("reviewers")
    journey.sign_in(first)
    journey.goto(f"/admin/marketplace/review/{review.pk}/change/")

    reviews.hide_review(review, "abusive language", actor=second)
    _save(journey)

    review = Review.objects.get(pk=review.pk)
    assert (review.hidden_reason, review.hidden_by) == ("abusive language", second)


def test_a_reviewer_hides_a_review_then_shows_it_again(journey, staff_user):
    review = ReviewFactory()
    journey.sign_in(staff_user("reviewers"))
    change = f"/admin/marketplace/review/{review.pk}/change/"
    journey.goto(change)
    _save(journey, "Spam")
    assert Review.objects.get(pk=review.pk).hidden_reason == "Spam"

    journey.goto(change)
    _save(journey, "")
    review = Review.objects.get(pk=review.pk)
    assert (review.hidden_at, review.hidden_reason) == (None, "")


def test_a_reason_that_says_nothing_is_refused_at_its_field(journey, staff_user):
    """A reason of a zero-width space passed the form (it is not whitespace to str.strip) and
    the action refused it (reason_required) in save_model: a 500, the reviewer's page gone."""
    review = ReviewFactory()
    journey.sign_in(staff_user("reviewers"))
    journey.goto(f"/admin/marketplace/review/{review.pk}/change/")
    _save(journey, "\u200b")
    page = journey.page
    assert page.locator(".errorlist").inner_text() == "A decision needs a reason."
    assert Review.objects.get(pk=review.pk).hidden_at is None
    # Typed again as a reason, it is taken.
    _save(journey, "Spam")
    assert Review.objects.get(pk=review.pk).hidden_reason == "Spam"
