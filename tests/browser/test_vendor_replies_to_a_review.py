"""A vendor admin, in Chromium, opens an agent's reviews from its page, is told that an empty
reply is refused, types a reply, sends it, and reads it under the review (as customers do at
the API); the reply form is gone, one reply per review."""

import pytest

from marketplace.models import Review
from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import AgentVersionFactory, ReviewFactory, TenantFactory

pytestmark = [pytest.mark.browser]

REPLY = "Thanks! 1.3.0 filters the pump's start-up surge.\nTell us how it goes."


def reviewed_agent(vendor_admin):
    """The vendor's public agent pump-anomaly, and Factory One's 3-star review of it: (its
    version, the review)."""
    tenant = vendor_admin.memberships.get().tenant
    version = AgentVersionFactory(agent__tenant=tenant, agent__name="pump-anomaly", public=True)
    review = ReviewFactory(
        agent=version.agent,
        tenant=TenantFactory(name="Factory One"),
        stars=3,
        title="Good, but noisy at start-up",
        text="Flags every pump start as an anomaly.",
    )
    return version, review


def test_a_vendor_replies_to_a_review_and_reads_the_reply_under_it(journey, vendor_admin):
    page = journey.page
    version, review = reviewed_agent(vendor_admin)
    reply_path = f"/portal/agents/{version.agent_id}/reviews/{review.pk}/reply/"

    portal_sign_in(journey, vendor_admin)
    journey.click(page.get_by_role("link", name="pump-anomaly", exact=True))
    journey.click(page.get_by_role("link", name="Customer reviews"))
    assert page.url == f"{journey.base_url}/portal/agents/{version.agent_id}/reviews/"
    shown = page.locator(f"#review-{review.pk}")
    assert "Good, but noisy at start-up" in shown.inner_text()
    assert "Factory One" in shown.inner_text()
    assert shown.get_by_role("img", name="3 out of 5 stars").count() == 1

    # Sent empty: refused beside the form, which is still there.
    journey.expect_status(400, reply_path)
    journey.click(page.get_by_role("button", name="Reply to Factory One"))
    assert "reply_required" in shown.locator(".refusal").inner_text()

    page.get_by_label("Your reply to Factory One").fill(REPLY)
    journey.click(page.get_by_role("button", name="Reply to Factory One"))

    assert page.url.endswith(f"/portal/agents/{version.agent_id}/reviews/#review-{review.pk}")
    assert "Your reply to Factory One is published." in page.locator(".messages").inner_text()
    reply = page.locator(f"#review-{review.pk} .reply")
    assert "Thanks! 1.3.0 filters the pump's start-up surge." in reply.inner_text()
    assert "Tell us how it goes." in reply.inner_text()
    assert page.get_by_role("button", name="Reply to Factory One").count() == 0
    review.refresh_from_db()
    assert (review.vendor_reply, review.vendor_reply_by) == (REPLY, vendor_admin)
    assert Review.objects.filter(vendor_reply_at__isnull=False).count() == 1


def in_view_and_focused(page, locator) -> bool:
    """The element lies within the window as it is scrolled, and has the keyboard focus."""
    return locator.evaluate(
        "element => { const box = element.getBoundingClientRect();"
        " return box.top >= 0 && box.bottom <= window.innerHeight"
        " && document.activeElement === element; }"
    )


def test_a_refused_reply_far_down_a_long_page_is_brought_into_view(journey, vendor_admin):
    """The 25th review of a page: its refused reply comes back as the whole page, and the
    refusal is scrolled into view and focused rather than left thousands of pixels below."""
    page = journey.page
    tenant = vendor_admin.memberships.get().tenant
    version = AgentVersionFactory(agent__tenant=tenant, agent__name="pump-anomaly", public=True)
    reviews = [
        ReviewFactory(agent=version.agent, tenant=TenantFactory(name=f"Plant {n}"), stars=4)
        for n in range(25)
    ]
    oldest = min(reviews, key=lambda review: (review.updated_at, review.pk))
    reviews_path = f"/portal/agents/{version.agent_id}/reviews/"

    portal_sign_in(journey, vendor_admin)
    page.goto(f"{journey.base_url}{reviews_path}")
    journey.check()
    button = page.get_by_role("button", name=f"Reply to {oldest.tenant.name}", exact=True)
    assert page.evaluate("document.body.scrollHeight") > 3 * page.viewport_size["height"]

    journey.expect_status(400, f"{reviews_path}{oldest.pk}/reply/")
    journey.click(button)

    refusal = page.locator(f"#review-{oldest.pk} .refusal")
    assert "reply_required" in refusal.inner_text()
    assert page.evaluate("window.scrollY") > 0
    assert in_view_and_focused(page, refusal)


def test_a_reply_to_a_review_rewritten_meanwhile_is_held_back_with_its_text(journey, vendor_admin):
    """The vendor opens the reviews; the customer rewrites theirs before the vendor's reply
    goes: the reply is refused (review_changed) rather than set under words it never
    answered, the page shows the new words and the reply as typed, and sent again it is
    published."""
    page = journey.page
    version, review = reviewed_agent(vendor_admin)
    portal_sign_in(journey, vendor_admin)
    journey.goto(f"/portal/agents/{version.agent_id}/reviews/")
    page.get_by_label("Your reply to Factory One").fill(REPLY)

    Review.objects.filter(pk=review.pk).update(stars=1, title="Useless", text="Missed a leak.")
    journey.expect_status(412, f"/portal/agents/{version.agent_id}/reviews/{review.pk}/reply/")
    journey.click(page.get_by_role("button", name="Reply to Factory One"))

    shown = page.locator(f"#review-{review.pk}")
    assert "Factory One rewrote this review since you read it" in shown.inner_text()
    assert "Missed a leak." in shown.inner_text()
    assert page.get_by_label("Your reply to Factory One").input_value() == REPLY
    assert not Review.objects.filter(vendor_reply_at__isnull=False).exists()

    journey.click(page.get_by_role("button", name="Reply to Factory One"))
    assert "Your reply to Factory One is published." in page.locator(".messages").inner_text()
    review.refresh_from_db()
    assert (review.title, review.vendor_reply) == ("Useless", REPLY)
